import Foundation
import LStoreSQLite

/// The state database: LiveStore's system tables, the schema's tables, and one row of
/// lstore bookkeeping saying which event the state was built through.
public enum StateDatabase {
  /// LiveStore's node adapter name: `state<hash>@<format>.db`. The hash covers the tables
  /// only, so a table change selects a new, empty file, which is then rebuilt from the
  /// eventlog.
  public static func fileName(for schema: Schema, format: StorageFormat) -> String {
    format.stateFileName(hash: schema.stateHash(format))
  }

  /// Creates the tables in the connection's `main` database, which must be empty, as
  /// LiveStore creates them for `format` (the format of the eventlog the state follows).
  static func createTables(on connection: Connection, schema: Schema, updatedAt: String, format: StorageFormat) throws {
    for statement in LiveStoreTables.stateSystemDDL(format) { try connection.execute(statement) }
    for table in schema.tables {
      try connection.execute(LiveStoreTables.createTableSQL(table, format: format))
      for index in table.indexes { try connection.execute(LiveStoreTables.createIndexSQL(index, on: table.name, format: format)) }
    }
    let tableRow = try connection.prepare("INSERT OR REPLACE INTO main.__livestore_schema (tableName, schemaHash, updatedAt) VALUES (?, ?, ?)")
    for table in schema.tables + LiveStoreTables.stateSystemTables(format) {
      try tableRow.execute([.text(table.name), .integer(LiveStoreHash.tableHash(table, format: format)), .text(updatedAt)])
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

  /// Records a pending event's changeset; `format` is the eventlog's (found once when it
  /// was opened), and format 6 rows carry the event's rebase generation.
  static func insertChangeset(_ connection: Connection, seqNum: SeqNum, changeset: [UInt8]?, format: StorageFormat) throws {
    let statement = try connection.cached(format.hasRebaseGenerations ? oneChangesetRow.generations : oneChangesetRow.plain)
    defer { statement.reset() }
    bindChangesetRow(statement, row: 0, seqNum: seqNum, changeset: changeset, format: format)
    try statement.step()
  }

  /// The one-row INSERTs, built once: a pull or rebase inserts one per replayed event.
  private static let oneChangesetRow = (plain: changesetInsertSQL(format: .v4, rows: 1),
                                        generations: changesetInsertSQL(format: .v6, rows: 1))

  /// Changeset rows written many to a statement, for a bulk run of pending events.
  static func batchedChangesets(_ connection: Connection, format: StorageFormat) -> BatchedInsert<(SeqNum, [UInt8]?)> {
    BatchedInsert(
      connection: connection, sql: { changesetInsertSQL(format: format, rows: $0) },
      bind: { bindChangesetRow($0, row: $1, seqNum: $2.0, changeset: $2.1, format: format) },
      insertOne: { try insertChangeset(connection, seqNum: $0.0, changeset: $0.1, format: format) },
      bytes: { $0.1?.count ?? 0 })
  }

  /// The INSERT of `rows` changeset rows, each bound by `bindChangesetRow`.
  static func changesetInsertSQL(format: StorageFormat, rows: Int) -> String {
    let columns = format.hasRebaseGenerations
      ? "(seqNumGlobal, seqNumClient, changeset, debug, seqNumRebaseGeneration)" : "(seqNumGlobal, seqNumClient, changeset, debug)"
    let row = format.hasRebaseGenerations ? "(?, ?, ?, NULL, ?)" : "(?, ?, ?, NULL)"
    // OR FAIL for many rows: no statement journal (see BatchedInsert).
    return "INSERT \(rows > 1 ? "OR FAIL " : "")INTO main.__livestore_session_changeset \(columns) VALUES "
      + repeatElement(row, count: rows).joined(separator: ", ")
  }

  static func bindChangesetRow(_ statement: Statement, row: Int, seqNum: SeqNum, changeset: [UInt8]?, format: StorageFormat) {
    let width: Int32 = format.hasRebaseGenerations ? 4 : 3
    let first = Int32(row) * width + 1
    statement.bind(seqNum.global, at: first)
    statement.bind(seqNum.client, at: first + 1)
    if let changeset { statement.bind(blob: changeset, at: first + 2) } else { statement.bindNull(at: first + 2) }
    if format.hasRebaseGenerations { statement.bind(seqNum.rebaseGeneration, at: first + 3) }
  }

  /// The schema's tables that the state file at `statePath` does not have as the schema
  /// defines them: missing, or recorded in `__livestore_schema` with another table hash
  /// (LiveStore's own test of a table change).
  public static func tablesNotMatching(statePath: String, schema: Schema) throws -> [String] {
    let connection = try Connection(path: statePath, mode: .readOnly)
    guard try connection.tableExists("__livestore_schema") else { return schema.tables.map(\.name) }
    let format = try Self.format(of: connection)
    var changed: [String] = []
    for table in schema.tables {
      let recorded = try connection.cached("SELECT schemaHash FROM main.__livestore_schema WHERE tableName = ?")
        .first([.text(table.name)]) { $0.int64(0) }
      if try recorded != LiveStoreHash.tableHash(table, format: format) || !connection.tableExists(table.name) { changed.append(table.name) }
    }
    return changed
  }

  /// A state file's storage format, from its session-changeset columns (format 6 added the
  /// rebase generation).
  static func format(of connection: Connection) throws -> StorageFormat {
    var found = false
    try connection.prepare("SELECT name FROM pragma_table_info('__livestore_session_changeset', 'main')").forEachRow {
      if $0.string(0) == "seqNumRebaseGeneration" { found = true }
    }
    return found ? .v6 : .v4
  }

  /// The stored changeset of an event, if the state kept one.
  public static func changeset(_ connection: Connection, seqNum: SeqNum) throws -> (found: Bool, changeset: [UInt8]?) {
    guard let row = try connection.cached("SELECT changeset FROM main.__livestore_session_changeset WHERE seqNumGlobal = ? AND seqNumClient = ? LIMIT 1")
      .first([.integer(seqNum.global), .integer(seqNum.client)], { $0.blob(0) }) else { return (false, nil) }
    return (true, row)
  }
}
