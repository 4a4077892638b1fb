/// LiveStore's system tables and the DDL LiveStore generates, byte for byte
/// (format spec §1.2, §2.1 and §5.2). An eventlog or state file that lstore creates must
/// look exactly like one LiveStore created.
public enum LiveStoreTables {
  public static let eventlogDDL: [String] = [
    "create table if not exists 'eventlog' ('seqNumGlobal' integer not null , 'seqNumClient' integer not null , 'parentSeqNumGlobal' integer not null , 'parentSeqNumClient' integer not null , 'name' text not null , 'argsJson' text not null , 'clientId' text not null , 'sessionId' text not null , 'schemaHash' integer not null , 'syncMetadataJson' text not null , PRIMARY KEY ('seqNumGlobal', 'seqNumClient')) strict",
    "create  index if not exists 'idx_eventlog_seqNumGlobal' on 'eventlog' (seqNumGlobal)",
    "create  index if not exists 'idx_eventlog_seqNum' on 'eventlog' (seqNumGlobal, seqNumClient)",
    "create table if not exists '__livestore_sync_status' ('head' integer not null , PRIMARY KEY ('head')) strict",
    "INSERT INTO __livestore_sync_status (head) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM __livestore_sync_status)",
  ]

  static func column(_ name: String, _ type: ColumnType, primaryKey: Bool = false, nullable: Bool = false) -> ColumnDefinition {
    ColumnDefinition(name: name, type: type, primaryKey: primaryKey, nullable: nullable)
  }

  /// The four state-database system tables, in the order LiveStore hashes them.
  public static let stateSystemTables: [TableDefinition] = [
    TableDefinition(name: "__livestore_schema", columns: [
      column("tableName", .text, primaryKey: true),
      column("schemaHash", .integer),
      column("updatedAt", .text),
    ]),
    TableDefinition(name: "__livestore_schema_event_defs", columns: [
      column("eventName", .text, primaryKey: true),
      column("schemaHash", .integer),
      column("updatedAt", .text),
    ]),
    TableDefinition(name: "__livestore_session_changeset", columns: [
      column("seqNumGlobal", .integer),
      column("seqNumClient", .integer),
      column("changeset", .blob, nullable: true),
      column("debug", .text, nullable: true),
    ], indexes: [IndexDefinition(name: "idx_session_changeset_id", columns: ["seqNumGlobal", "seqNumClient"])]),
    TableDefinition(name: "__livestore_leader_merge_counter", columns: [
      column("id", .integer, primaryKey: true),
      column("mergeCounter", .integer, primaryKey: true),
    ]),
  ]

  /// `create table if not exists …` as LiveStore's `makeColumnSpec` writes it, including
  /// its double spaces and unescaped text defaults.
  public static func createTableSQL(_ table: TableDefinition) -> String {
    var specs = table.columns.map { column -> String in
      let nullablePart = column.nullable ? "" : "not null"
      var defaultPart = ""
      switch column.defaultValue {
      case nil: break
      case .sql(let sql): defaultPart = "default \(sql)"
      case .value(.null): defaultPart = "default null"
      case .value(let value):
        let encoded = encodeDefault(value, for: column.type)
        defaultPart = column.type.sqlType == "text" ? "default '\(encoded)'" : "default \(encoded)"
      }
      return "'\(column.name)' \(column.type.sqlType) \(nullablePart) \(defaultPart)"
    }
    let keys = table.columns.filter(\.primaryKey).map { "'\($0.name)'" }
    if !keys.isEmpty { specs.append("PRIMARY KEY (\(keys.joined(separator: ", ")))") }
    return "create table if not exists '\(table.name)' (\(specs.joined(separator: ", "))) strict"
  }

  public static func createIndexSQL(_ index: IndexDefinition, on table: String) -> String {
    "create \(index.unique ? "UNIQUE" : "") index if not exists '\(index.name)' on '\(table)' (\(index.columns.joined(separator: ", ")))"
  }

  /// A column default in its stored form (LiveStore runs it through the column schema's encoder).
  static func encodeDefault(_ value: JSONValue, for type: ColumnType) -> String {
    switch (type, value) {
    case (.boolean, .bool(let b)): return b ? "1" : "0"
    case (.json, _): return value.compactText
    case (.datetimeInteger, .string(let s)): return ISODate.parse(s).map { String($0) } ?? s
    case (_, .string(let s)): return s
    default: return value.compactText
    }
  }

  public static let stateSystemDDL: [String] =
    stateSystemTables.flatMap { table in
      [createTableSQL(table)] + table.indexes.map { createIndexSQL($0, on: table.name) }
    }
}
