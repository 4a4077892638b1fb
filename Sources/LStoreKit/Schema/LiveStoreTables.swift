/// LiveStore's system tables and the DDL LiveStore generates, byte for byte, per storage
/// format (0.3 format spec §1.2, §2.1 and §5.2; 0.4 document A2). An eventlog or state file that lstore creates must
/// look exactly like one LiveStore created.
public enum LiveStoreTables {
  /// The eventlog DB's DDL as LiveStore runs it for `format`. Format 4 is 0.3.1's
  /// (format spec §1.2); format 6 is 0.4.0's `initEventlogDb` (0.4 document A2), whose last
  /// statement keeps its template newlines and indentation.
  public static func eventlogDDL(_ format: StorageFormat) -> [String] {
    switch format {
    case .v4: return eventlogDDL4
    case .v6: return eventlogDDL6
    }
  }

  static let eventlogDDL4: [String] = [
    "create table if not exists 'eventlog' ('seqNumGlobal' integer not null , 'seqNumClient' integer not null , 'parentSeqNumGlobal' integer not null , 'parentSeqNumClient' integer not null , 'name' text not null , 'argsJson' text not null , 'clientId' text not null , 'sessionId' text not null , 'schemaHash' integer not null , 'syncMetadataJson' text not null , PRIMARY KEY ('seqNumGlobal', 'seqNumClient')) strict",
    "create  index if not exists 'idx_eventlog_seqNumGlobal' on 'eventlog' (seqNumGlobal)",
    "create  index if not exists 'idx_eventlog_seqNum' on 'eventlog' (seqNumGlobal, seqNumClient)",
    "create table if not exists '__livestore_sync_status' ('head' integer not null , PRIMARY KEY ('head')) strict",
    "INSERT INTO __livestore_sync_status (head) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM __livestore_sync_status)",
  ]

  /// Generated from `eventlogTables6` by 0.4's `makeColumnSpec`, as LiveStore generates it
  /// (a test checks the text against the document's strings).
  static let eventlogDDL6: [String] =
    eventlogTables6.flatMap { table in
      [createTableSQL(table, format: .v6)] + table.indexes.map { createIndexSQL($0, on: table.name, format: .v6) }
    } + [
      """
      INSERT INTO __livestore_sync_status (head)
                SELECT 0
                WHERE NOT EXISTS (SELECT 1 FROM __livestore_sync_status)
      """,
    ]

  /// LiveStore 0.4.0's eventlog tables (`eventlog-tables.ts`).
  static let eventlogTables6: [TableDefinition] = [
    TableDefinition(name: "eventlog", columns: [
      column("seqNumGlobal", .integer, primaryKey: true),
      column("seqNumClient", .integer, primaryKey: true),
      column("seqNumRebaseGeneration", .integer, primaryKey: true),
      column("parentSeqNumGlobal", .integer),
      column("parentSeqNumClient", .integer),
      column("parentSeqNumRebaseGeneration", .integer),
      column("name", .text),
      column("argsJson", .text),
      column("clientId", .text),
      column("sessionId", .text),
      column("schemaHash", .integer),
      column("syncMetadataJson", .text),
    ], indexes: [
      IndexDefinition(name: "idx_eventlog_seqNumGlobal", columns: ["seqNumGlobal"]),
      IndexDefinition(name: "idx_eventlog_seqNum", columns: ["seqNumGlobal", "seqNumClient", "seqNumRebaseGeneration"]),
    ]),
    TableDefinition(name: "__livestore_sync_status", columns: [
      column("head", .integer, primaryKey: true),
      column("backendId", .text, nullable: true),
    ]),
  ]

  static func column(_ name: String, _ type: ColumnType, primaryKey: Bool = false, nullable: Bool = false) -> ColumnDefinition {
    ColumnDefinition(name: name, type: type, primaryKey: primaryKey, nullable: nullable)
  }

  /// The state database's system tables for `format`, in the order LiveStore creates and
  /// hashes them: four in 0.3.1, three in 0.4.0 (`__livestore_leader_merge_counter` is
  /// gone, the session changesets gained a rebase generation; `state-tables.ts`).
  public static func stateSystemTables(_ format: StorageFormat) -> [TableDefinition] {
    switch format {
    case .v4: return stateSystemTables4
    case .v6: return stateSystemTables6
    }
  }

  static let schemaMetaTable = TableDefinition(name: "__livestore_schema", columns: [
    column("tableName", .text, primaryKey: true),
    column("schemaHash", .integer),
    column("updatedAt", .text),
  ])
  static let schemaEventDefsMetaTable = TableDefinition(name: "__livestore_schema_event_defs", columns: [
    column("eventName", .text, primaryKey: true),
    column("schemaHash", .integer),
    column("updatedAt", .text),
  ])

  static let stateSystemTables4: [TableDefinition] = [
    schemaMetaTable,
    schemaEventDefsMetaTable,
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

  static let stateSystemTables6: [TableDefinition] = [
    schemaMetaTable,
    schemaEventDefsMetaTable,
    TableDefinition(name: "__livestore_session_changeset", columns: [
      column("seqNumGlobal", .integer),
      column("seqNumClient", .integer),
      column("seqNumRebaseGeneration", .integer),
      column("changeset", .blob, nullable: true),
      // `SqliteDsl.json`, a text column: its JSON schema takes no part in the hash (see
      // `LiveStoreHash.tableJSON`).
      column("debug", .json, nullable: true),
    ], indexes: [IndexDefinition(name: "idx_session_changeset_id", columns: ["seqNumGlobal", "seqNumClient"])]),
  ]

  /// `create table if not exists …` as LiveStore's `makeColumnSpec` writes it for
  /// `format`, including its runs of spaces and unescaped text defaults. Format 4 (0.3.1)
  /// single-quotes names and puts every primary key in a table-level clause; format 6
  /// (0.4.0) double-quotes them and inlines a single primary key (`primary key`, no
  /// `not null`), keeping the table-level clause for a composite one.
  public static func createTableSQL(_ table: TableDefinition, format: StorageFormat) -> String {
    let keys = table.columns.filter(\.primaryKey)
    let inlineKey = format == .v6 && keys.count == 1
    let quote = format == .v6 ? "\"" : "'"
    var specs = table.columns.map { column -> String in
      let inline = inlineKey && column.primaryKey
      let nullablePart = inline || column.nullable ? "" : "not null"
      var defaultPart = ""
      switch column.defaultValue {
      case nil: break
      case .sql(let sql): defaultPart = "default \(sql)"
      case .value(.null): defaultPart = "default null"
      case .value(let value):
        let encoded = encodeDefault(value, for: column.type)
        defaultPart = column.type.sqlType == "text" ? "default '\(encoded)'" : "default \(encoded)"
      }
      let name = "\(quote)\(column.name)\(quote)"
      switch format {
      case .v4: return "\(name) \(column.type.sqlType) \(nullablePart) \(defaultPart)"
      // `"name" type pk autoincrement nullable default`; lstore never writes autoincrement.
      case .v6: return "\(name) \(column.type.sqlType) \(inline ? "primary key" : "") \("") \(nullablePart) \(defaultPart)"
      }
    }
    if !keys.isEmpty && !inlineKey {
      specs.append("PRIMARY KEY (\(keys.map { "\(quote)\($0.name)\(quote)" }.joined(separator: ", ")))")
    }
    return "create table if not exists \(quote)\(table.name)\(quote) (\(specs.joined(separator: ", "))) strict"
  }

  /// `create [UNIQUE] index …`: format 6 double-quotes the index, table and column names.
  public static func createIndexSQL(_ index: IndexDefinition, on table: String, format: StorageFormat) -> String {
    switch format {
    case .v4:
      return "create \(index.unique ? "UNIQUE" : "") index if not exists '\(index.name)' on '\(table)' (\(index.columns.joined(separator: ", ")))"
    case .v6:
      return "create \(index.unique ? "UNIQUE" : "") index if not exists \"\(index.name)\" on \"\(table)\" (\(index.columns.map { "\"\($0)\"" }.joined(separator: ", ")))"
    }
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

  public static func stateSystemDDL(_ format: StorageFormat) -> [String] {
    stateSystemTables(format).flatMap { table in
      [createTableSQL(table, format: format)] + table.indexes.map { createIndexSQL($0, on: table.name, format: format) }
    }
  }
}
