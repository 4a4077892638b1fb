import Foundation
import LStoreSQLite

/// The state database: LiveStore's system tables, the schema's tables, and one row of
/// lstore bookkeeping saying which event the state was built through.
public enum StateDatabase {
  /// LiveStore's node adapter name: `state<hash>@4.db`. The hash covers the tables only,
  /// so a table change selects a new, empty file, which is then rebuilt from the eventlog.
  public static func fileName(for schema: Schema) -> String { "state\(schema.stateHash)@\(Eventlog.formatVersion).db" }

  /// Creates the tables in the connection's `main` database, which must be empty.
  static func createTables(on connection: Connection, schema: Schema, updatedAt: String) throws {
    for statement in LiveStoreTables.stateSystemDDL { try connection.execute(statement) }
    for table in schema.tables {
      try connection.execute(LiveStoreTables.createTableSQL(table))
      for index in table.indexes { try connection.execute(LiveStoreTables.createIndexSQL(index, on: table.name)) }
    }
    let tableRow = try connection.prepare("INSERT OR REPLACE INTO main.__livestore_schema (tableName, schemaHash, updatedAt) VALUES (?, ?, ?)")
    for table in schema.tables + LiveStoreTables.stateSystemTables {
      try tableRow.execute([.text(table.name), .integer(LiveStoreHash.tableHash(table)), .text(updatedAt)])
    }
    let eventRow = try connection.prepare("INSERT OR REPLACE INTO main.__livestore_schema_event_defs (eventName, schemaHash, updatedAt) VALUES (?, ?, ?)")
    for event in schema.events {
      try eventRow.execute([.text(event.name), .integer(event.schemaHash), .text(updatedAt)])
    }
    try connection.execute("CREATE TABLE IF NOT EXISTS main.lstore_state (id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1), headGlobal INTEGER NOT NULL, headClient INTEGER NOT NULL, materializationHash INTEGER NOT NULL) STRICT")
    try connection.execute("INSERT OR IGNORE INTO main.lstore_state (id, headGlobal, headClient, materializationHash) VALUES (1, 0, 0, ?)",
                           [.integer(schema.materializationHash)])
  }

  /// Which event the state was built through, and with which materializers; nil when the
  /// file was not built by lstore.
  static func readHead(_ connection: Connection) throws -> (head: SeqNum, materializationHash: Int64)? {
    guard try connection.tableExists("lstore_state") else { return nil }
    return try connection.cached("SELECT headGlobal, headClient, materializationHash FROM main.lstore_state WHERE id = 1")
      .first { (SeqNum(global: $0.int64(0), client: $0.int64(1)), $0.int64(2)) }
  }

  static func writeHead(_ connection: Connection, head: SeqNum) throws {
    try connection.cached("UPDATE main.lstore_state SET headGlobal = ?, headClient = ? WHERE id = 1")
      .execute([.integer(head.global), .integer(head.client)])
  }

  static func insertChangeset(_ connection: Connection, seqNum: SeqNum, changeset: [UInt8]?) throws {
    let statement = try connection.cached("INSERT INTO main.__livestore_session_changeset (seqNumGlobal, seqNumClient, changeset, debug) VALUES (?, ?, ?, NULL)")
    statement.bind(seqNum.global, at: 1)
    statement.bind(seqNum.client, at: 2)
    if let changeset { statement.bind(blob: changeset, at: 3) } else { statement.bindNull(at: 3) }
    defer { statement.reset() }
    try statement.step()
  }

  /// The schema's tables that the state file at `statePath` does not have as the schema
  /// defines them: missing, or recorded in `__livestore_schema` with another table hash
  /// (LiveStore's own test of a table change).
  public static func tablesNotMatching(statePath: String, schema: Schema) throws -> [String] {
    let connection = try Connection(path: statePath, mode: .readOnly)
    guard try connection.tableExists("__livestore_schema") else { return schema.tables.map(\.name) }
    var changed: [String] = []
    for table in schema.tables {
      let recorded = try connection.cached("SELECT schemaHash FROM main.__livestore_schema WHERE tableName = ?")
        .first([.text(table.name)]) { $0.int64(0) }
      if try recorded != LiveStoreHash.tableHash(table) || !connection.tableExists(table.name) { changed.append(table.name) }
    }
    return changed
  }

  /// The stored changeset of an event, if the state kept one.
  public static func changeset(_ connection: Connection, seqNum: SeqNum) throws -> (found: Bool, changeset: [UInt8]?) {
    guard let row = try connection.cached("SELECT changeset FROM main.__livestore_session_changeset WHERE seqNumGlobal = ? AND seqNumClient = ? LIMIT 1")
      .first([.integer(seqNum.global), .integer(seqNum.client)], { $0.blob(0) }) else { return (false, nil) }
    return (true, row)
  }
}
