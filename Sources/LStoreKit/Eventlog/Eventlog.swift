import LStoreSQLite

/// A LiveStore eventlog (storage format 4 or 6) reached through a connection,
/// under the schema name `schemaName` (`main` when opened alone, `log` when attached beside
/// a state DB).
///
/// Reads stream rows in sequence order; nothing here holds more than one row at a time.
/// lstore's own records (commits, metadata) are kept in `lstore_*` tables of the same file,
/// beside LiveStore's tables and never inside them.
public final class Eventlog {
  public let connection: Connection
  public let schemaName: String
  private let table: String
  private let syncTable: String
  /// The storage format of the file, found once by `validate()`: reads and writes ask it,
  /// so nothing decides the format per event.
  public private(set) var format: StorageFormat = .v4

  public init(connection: Connection, schemaName: String = "main") {
    self.connection = connection
    self.schemaName = schemaName
    self.table = "\(schemaName.quotedIdentifier).eventlog"
    self.syncTable = "\(schemaName.quotedIdentifier).__livestore_sync_status"
  }

  public typealias StorageFormat = LStoreKit.StorageFormat

  /// Creates an eventlog file exactly as LiveStore does, plus lstore's own tables.
  public static func create(path: String, format: StorageFormat) throws {
    let connection = try Connection(path: path, mode: .create)
    try connection.execute("PRAGMA page_size=8192")
    try connection.transaction {
      for statement in LiveStoreTables.eventlogDDL(format) { try connection.execute(statement) }
      for statement in LStoreRecords.ddl { try connection.execute(statement) }
    }
  }

  /// Checks that the attached file really is a LiveStore eventlog we can read, and finds
  /// its storage format from its columns (LiveStore names files by format, but a file may
  /// have been renamed).
  public func validate() throws {
    guard try connection.tableExists("eventlog", schema: schemaName) else {
      throw EventlogError.notAnEventlog(path: path)
    }
    var columns: [String] = []
    try connection.prepare("PRAGMA \(schemaName.quotedIdentifier).table_info(eventlog)").forEachRow { columns.append($0.string(1)) }
    let format4 = ["seqNumGlobal", "seqNumClient", "parentSeqNumGlobal", "parentSeqNumClient", "name", "argsJson",
                   "clientId", "sessionId", "schemaHash", "syncMetadataJson"]
    let format6 = format4 + ["seqNumRebaseGeneration", "parentSeqNumRebaseGeneration"]
    let found = Set(columns)
    if found == Set(format6) {
      format = .v6
    } else if found == Set(format4) {
      format = .v4
    } else {
      let missing = format4.filter { !found.contains($0) }
      let unknown = columns.filter { !format6.contains($0) }
      var detail: [String] = []
      if !missing.isEmpty { detail.append("missing column\(missing.count == 1 ? "" : "s") \(missing.map { "'\($0)'" }.joined(separator: ", "))") }
      if !unknown.isEmpty { detail.append("unknown column\(unknown.count == 1 ? "" : "s") \(unknown.map { "'\($0)'" }.joined(separator: ", "))") }
      if detail.isEmpty { detail.append("only one of the two rebase-generation columns of format 6") }
      throw EventlogError.unsupportedFormat(path: path, detail: "its eventlog table has columns \(columns.joined(separator: ", ")): \(detail.joined(separator: "; "))")
    }
  }

  public var path: String {
    (try? connection.scalar("SELECT file FROM pragma_database_list WHERE name = ?", [.text(schemaName)]))??.description ?? schemaName
  }

  public var hasLStoreRecords: Bool { (try? connection.tableExists("lstore_commit", schema: schemaName)) ?? false }

  // MARK: - Heads

  /// The newest event's sequence number, or root for an empty eventlog.
  public func head() throws -> SeqNum {
    let generation = format == .v6 ? "seqNumRebaseGeneration" : "0"
    return try connection.cached("SELECT seqNumGlobal, seqNumClient, \(generation) FROM \(table) ORDER BY seqNumGlobal DESC, seqNumClient DESC LIMIT 1")
      .first { SeqNum(global: $0.int64(0), client: $0.int64(1), rebaseGeneration: $0.int64(2)) } ?? .root
  }

  /// The global sequence number of the last event the backend confirmed.
  public func backendHead() throws -> Int64 {
    guard try connection.tableExists("__livestore_sync_status", schema: schemaName) else { return 0 }
    return try connection.cached("SELECT head FROM \(syncTable)").first { $0.int64(0) } ?? 0
  }

  public func setBackendHead(_ head: Int64) throws {
    try connection.cached("UPDATE \(syncTable) SET head = ?").execute([.integer(head)])
  }

  /// The id of the sync backend the eventlog last synced with (format 6 keeps it in
  /// `__livestore_sync_status.backendId`, NULL until a backend tells it; format 4 has no
  /// such column, so nil).
  public func backendId() throws -> String? {
    guard format.hasBackendId, try connection.tableExists("__livestore_sync_status", schema: schemaName) else { return nil }
    return try connection.cached("SELECT backendId FROM \(syncTable)").first { $0.isNull(0) ? nil : $0.string(0) } ?? nil
  }

  /// Records the backend's id, as LiveStore 0.4 does: written only when it changed, never
  /// compared here. A no-op on format 4, which has nowhere to keep it.
  public func setBackendId(_ id: String?) throws {
    guard format.hasBackendId, try backendId() != id else { return }
    try connection.cached("UPDATE \(syncTable) SET backendId = ?").execute([id.map { .text($0) } ?? .null])
  }

  /// The number of events with `after < seqNum <= through` (from the index alone).
  public func count(after: SeqNum, through: SeqNum? = nil) throws -> Int {
    let through = through ?? SeqNum(global: .max, client: .max)
    return Int(try connection.cached("SELECT count(*) FROM \(table) WHERE (seqNumGlobal, seqNumClient) > (?, ?) AND (seqNumGlobal, seqNumClient) <= (?, ?)")
      .first([.integer(after.global), .integer(after.client), .integer(through.global), .integer(through.client)]) { $0.int64(0) } ?? 0)
  }

  public func count() throws -> Int {
    Int(try connection.cached("SELECT count(*) FROM \(table)").first { $0.int64(0) } ?? 0)
  }

  /// Events after the backend head that are not client-only: what a push would send.
  public func pendingCount() throws -> (synced: Int, clientOnly: Int) {
    let head = try backendHead()
    let synced = try connection.cached("SELECT count(*) FROM \(table) WHERE seqNumGlobal > ? AND seqNumClient = 0")
      .first([.integer(head)]) { Int($0.int64(0)) } ?? 0
    let client = try connection.cached("SELECT count(*) FROM \(table) WHERE seqNumGlobal >= ? AND seqNumClient > 0")
      .first([.integer(head)]) { Int($0.int64(0)) } ?? 0
    return (synced, client)
  }

  // MARK: - Reading

  static let columns = "seqNumGlobal, seqNumClient, parentSeqNumGlobal, parentSeqNumClient, name, argsJson, clientId, sessionId, schemaHash, syncMetadataJson"

  /// What reads select: format 6's generations come after the ten columns of format 4, so
  /// an `EventRow` reads both alike.
  private var readColumns: String {
    format == .v6 ? Self.columns + ", seqNumRebaseGeneration, parentSeqNumRebaseGeneration" : Self.columns
  }

  public func event(at seqNum: SeqNum) throws -> EventRecord? {
    try connection.cached("SELECT \(readColumns) FROM \(table) WHERE seqNumGlobal = ? AND seqNumClient = ?")
      .first([.integer(seqNum.global), .integer(seqNum.client)]) { EventRow(statement: $0, generations: format == .v6).record }
  }

  /// The first and last synced events (client part 0) from `first` through `last`, or nil
  /// when there are none: what another store holds of those events.
  public func syncedBounds(from first: SeqNum, through last: SeqNum) throws -> (first: SeqNum, last: SeqNum)? {
    try connection.cached("SELECT min(seqNumGlobal), max(seqNumGlobal) FROM \(table) WHERE seqNumClient = 0 AND (seqNumGlobal, seqNumClient) BETWEEN (?, ?) AND (?, ?)")
      .first([.integer(first.global), .integer(first.client), .integer(last.global), .integer(last.client)]) {
        $0.isNull(0) ? nil : (SeqNum(global: $0.int64(0)), SeqNum(global: $0.int64(1)))
      } ?? nil
  }

  /// The first event after `seqNum`, or nil.
  public func event(after seqNum: SeqNum) throws -> EventRecord? {
    try connection.cached("SELECT \(readColumns) FROM \(table) WHERE (seqNumGlobal, seqNumClient) > (?, ?) ORDER BY seqNumGlobal, seqNumClient LIMIT 1")
      .first([.integer(seqNum.global), .integer(seqNum.client)]) { EventRow(statement: $0, generations: format == .v6).record }
  }

  public enum Order: Sendable { case ascending, descending }

  /// Calls `body` for each event with `after < seqNum <= through`, in order. The row is a
  /// view valid only during the call: copy what you keep. Return false to stop early.
  public func forEach(after: SeqNum = .root, through: SeqNum? = nil, order: Order = .ascending,
                      _ body: (EventRow) throws -> Bool) throws {
    let through = through ?? SeqNum(global: .max, client: .max)
    let direction = order == .ascending ? "ASC" : "DESC"
    let sql = "SELECT \(readColumns) FROM \(table) WHERE (seqNumGlobal, seqNumClient) > (?, ?) AND (seqNumGlobal, seqNumClient) <= (?, ?) ORDER BY seqNumGlobal \(direction), seqNumClient \(direction)"
    let statement = try connection.prepare(sql)
    statement.bind([.integer(after.global), .integer(after.client), .integer(through.global), .integer(through.client)])
    defer { statement.reset() }
    let row = EventRow(statement: statement, generations: format == .v6)
    while try statement.step() {
      if try !body(row) { break }
    }
  }

  // MARK: - Writing

  /// Prepared once per Eventlog: building the SQL and looking it up in the connection's
  /// cache for every event cost more than the insert's own bookkeeping.
  private var appendStatement: Statement?
  fileprivate var commitStatement: Statement?

  /// Appends one row. Format 6 rows carry the event's and its parent's rebase generations
  /// (the statement is chosen once, with the format found when the file was opened).
  public func append(_ record: EventRecord) throws {
    let statement: Statement
    if let cached = appendStatement {
      statement = cached
    } else {
      statement = try connection.prepare(appendSQL(rows: 1))
      appendStatement = statement
    }
    bindAppend(statement, row: 0, record)
    do {
      defer { statement.reset() }
      try statement.step()
    } catch let error as SQLiteError where error.isConstraintViolation {
      throw EventlogError.duplicateSeqNum(record.seqNum)
    }
  }

  /// Rows appended many to a statement, for a bulk run of appends that reads no event back
  /// until it flushes (a failed batch is appended row by row, so a duplicate is still named).
  func batchedAppends() -> BatchedInsert<EventRecord> {
    BatchedInsert(connection: connection, sql: { [unowned self] in appendSQL(rows: $0) },
                  bind: { [unowned self] in bindAppend($0, row: $1, $2) },
                  insertOne: { [unowned self] in try append($0) },
                  bytes: { $0.argsJSON.utf8.count })
  }

  /// OR FAIL for many rows: no statement journal (see BatchedInsert).
  private func appendSQL(rows: Int) -> String {
    let insert = rows > 1 ? "INSERT OR FAIL" : "INSERT"
    return format.hasRebaseGenerations
      ? "\(insert) INTO \(table) (\(Self.columns), seqNumRebaseGeneration, parentSeqNumRebaseGeneration) VALUES "
        + repeatElement("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", count: rows).joined(separator: ", ")
      : "\(insert) INTO \(table) (\(Self.columns)) VALUES " + repeatElement("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", count: rows).joined(separator: ", ")
  }

  private func bindAppend(_ statement: Statement, row: Int, _ record: EventRecord) {
    let first = Int32(row) * (format.hasRebaseGenerations ? 12 : 10)
    statement.bind(record.seqNum.global, at: first + 1)
    statement.bind(record.seqNum.client, at: first + 2)
    statement.bind(record.parentSeqNum.global, at: first + 3)
    statement.bind(record.parentSeqNum.client, at: first + 4)
    statement.bind(record.name, at: first + 5)
    statement.bind(record.argsJSON, at: first + 6)
    statement.bind(record.clientId, at: first + 7)
    statement.bind(record.sessionId, at: first + 8)
    statement.bind(record.schemaHash, at: first + 9)
    statement.bind(record.syncMetadataJSON, at: first + 10)
    if format.hasRebaseGenerations {
      statement.bind(record.seqNum.rebaseGeneration, at: first + 11)
      statement.bind(record.parentSeqNum.rebaseGeneration, at: first + 12)
    }
  }
}

extension Eventlog {
  /// Records a commit, as `insert(_:)` does, through a statement prepared once.
  public func appendCommit(_ commit: Commit) throws {
    let statement: Statement
    if let cached = commitStatement {
      statement = cached
    } else {
      statement = try connection.prepare(commitSQL(rows: 1))
      commitStatement = statement
    }
    bindCommit(statement, row: 0, commit)
    do {
      defer { statement.reset() }
      try statement.step()
    } catch let error as SQLiteError where error.isConstraintViolation && error.message.contains("lstore_commit.id") {
      throw EventlogError.duplicateCommit(id: commit.id)
    }
  }

  /// Commit rows appended many to a statement, from an import's packed runs
  /// (`CommitRun`): an import appends a commit every few events.
  func batchedCommits() -> BatchedInsert<PackedCommit> {
    BatchedInsert(connection: connection, sql: { [unowned self] in commitSQL(rows: $0) },
                  bind: { statement, row, packed in
                    // Parameters in `commitColumns` order: id, the four numbers, then the other texts.
                    let first = Int32(row) * 9
                    packed.run.visit(at: packed.offset, number: { statement.bind($1, at: first + 2 + Int32($0)) },
                                     text: { statement.bind(utf8: $1, at: $0 == 0 ? first + 1 : first + 5 + Int32($0)) })
                  },
                  insertOne: { [unowned self] in try appendCommit($0.run.commit(at: $0.offset)) },
                  // The rows' bytes are already held by their run (at most 1 MiB, or one
                  // commit line): no size needs counting to bound the batch.
                  bytes: { _ in 0 })
  }

  /// OR FAIL for many rows: no statement journal (see BatchedInsert).
  private func commitSQL(rows: Int) -> String {
    "INSERT \(rows > 1 ? "OR FAIL " : "")INTO \(schemaName.quotedIdentifier).lstore_commit (\(Self.commitColumns)) VALUES "
      + repeatElement("(?, ?, ?, ?, ?, ?, ?, ?, ?)", count: rows).joined(separator: ", ")
  }

  private func bindCommit(_ statement: Statement, row: Int, _ commit: Commit) {
    let first = Int32(row) * 9
    statement.bind(commit.id, at: first + 1)
    statement.bind(commit.first.global, at: first + 2)
    statement.bind(commit.first.client, at: first + 3)
    statement.bind(commit.last.global, at: first + 4)
    statement.bind(commit.last.client, at: first + 5)
    statement.bind(commit.message, at: first + 6)
    statement.bind(commit.author.name, at: first + 7)
    statement.bind(commit.author.email, at: first + 8)
    statement.bind(commit.time, at: first + 9)
  }
}

/// A view of the current row of an eventlog query. Valid only until the next row.
public struct EventRow {
  let statement: Statement
  /// Whether the row's columns 10 and 11 are format 6's rebase generations.
  var generations = false

  init(statement: Statement, generations: Bool = false) {
    self.statement = statement
    self.generations = generations
  }

  public var seqNum: SeqNum {
    SeqNum(global: statement.int64(0), client: statement.int64(1), rebaseGeneration: generations ? statement.int64(10) : 0)
  }
  public var parentSeqNum: SeqNum {
    SeqNum(global: statement.int64(2), client: statement.int64(3), rebaseGeneration: generations ? statement.int64(11) : 0)
  }
  public var name: String { statement.string(4) }
  public var argsJSON: String { statement.string(5) }
  public var argsUTF8: UnsafeBufferPointer<UInt8> { statement.utf8(5) }
  public var nameUTF8: UnsafeBufferPointer<UInt8> { statement.utf8(4) }
  public var clientId: String { statement.string(6) }
  public var sessionId: String { statement.string(7) }
  public var clientIdUTF8: UnsafeBufferPointer<UInt8> { statement.utf8(6) }
  public var sessionIdUTF8: UnsafeBufferPointer<UInt8> { statement.utf8(7) }
  public var schemaHash: Int64 { statement.int64(8) }
  public var syncMetadataJSON: String { statement.string(9) }
  public var syncMetadataUTF8: UnsafeBufferPointer<UInt8> { statement.utf8(9) }

  public var record: EventRecord {
    EventRecord(seqNum: seqNum, parentSeqNum: parentSeqNum, name: name, argsJSON: argsJSON, clientId: clientId,
                sessionId: sessionId, schemaHash: schemaHash, syncMetadataJSON: syncMetadataJSON)
  }
}

public enum EventlogError: Error, Equatable, Sendable, CustomStringConvertible {
  case notAnEventlog(path: String)
  case unsupportedFormat(path: String, detail: String)
  case duplicateSeqNum(SeqNum)
  case duplicateCommit(id: String)
  case brokenChain(SeqNum, parent: SeqNum, expected: SeqNum)

  public var description: String {
    switch self {
    case .notAnEventlog(let path): return "\(path) is not a LiveStore eventlog (no 'eventlog' table)"
    case .unsupportedFormat(let path, let detail):
      return "\(path) is not an eventlog lstore can read (LiveStore storage format 4 or 6): \(detail)"
    case .duplicateSeqNum(let seqNum): return "the eventlog already has an event \(seqNum)"
    case .duplicateCommit(let id): return "the eventlog already has a commit \(id)"
    case .brokenChain(let seqNum, let parent, let expected):
      return "event \(seqNum) has parent \(parent), but \(expected) was expected"
    }
  }
}
