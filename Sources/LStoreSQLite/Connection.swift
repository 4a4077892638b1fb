import Foundation
import CSQLite

/// One SQLite connection. Not thread-safe: each thread or task opens its own.
public final class Connection {
  public enum Mode: Sendable {
    case readOnly
    case readWrite
    /// Read-write, creating the file when it does not exist.
    case create
  }

  public let handle: OpaquePointer
  public let path: String
  private var statementCache: [String: Statement] = [:]

  /// Process-wide SQLite settings, applied once before the first connection opens.
  private static let libraryConfigured: Bool = {
    _ = lstore_sqlite_disable_memory_statistics()
    return true
  }()

  public init(path: String, mode: Mode = .create) throws {
    _ = Self.libraryConfigured
    var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI
    switch mode {
    case .readOnly: flags |= SQLITE_OPEN_READONLY
    case .readWrite: flags |= SQLITE_OPEN_READWRITE
    case .create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
    }
    var db: OpaquePointer?
    let code = sqlite3_open_v2(path, &db, flags, nil)
    guard code == SQLITE_OK, let db else {
      let error = SQLiteError(connection: db, code: code)
      sqlite3_close_v2(db)
      throw error
    }
    self.handle = db
    self.path = path
    sqlite3_extended_result_codes(db, 1)
    // Another lstore process holding the write lock (a long import, say) makes us wait
    // rather than fail at once.
    sqlite3_busy_timeout(db, 5_000)
  }

  /// An in-memory database.
  public static func inMemory() throws -> Connection { try Connection(path: ":memory:") }

  deinit {
    statementCache.removeAll()
    sqlite3_close_v2(handle)
  }

  // MARK: - Statements

  /// Prepares one statement. Throws for blank SQL or SQL with a second statement after it.
  public func prepare(_ sql: String) throws -> Statement {
    var stmt: OpaquePointer?
    var tail: UnsafePointer<CChar>?
    let code = sql.withCString { sqlite3_prepare_v3(handle, $0, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, &tail) }
    guard code == SQLITE_OK else { throw SQLiteError(connection: handle, code: code, sql: sql) }
    guard let stmt else { throw SQLiteError(code: SQLITE_MISUSE, message: "empty SQL statement", sql: sql) }
    return Statement(connection: self, handle: stmt, sql: sql)
  }

  /// Prepares every statement in `sql` (separated by semicolons), skipping blank ones.
  public func prepareAll(_ sql: String) throws -> [Statement] {
    var result: [Statement] = []
    let utf8 = Array(sql.utf8CString)
    try utf8.withUnsafeBufferPointer { buffer in
      var cursor = buffer.baseAddress!
      let end = buffer.baseAddress! + buffer.count - 1
      while cursor < end {
        var stmt: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let remaining = Int32(end - cursor)
        let code = sqlite3_prepare_v3(handle, cursor, remaining, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, &tail)
        let text = String(cString: cursor)
        guard code == SQLITE_OK else { throw SQLiteError(connection: handle, code: code, sql: text) }
        guard let next = tail, next > cursor else { break }
        if let stmt {
          let statementText = String(decoding: UnsafeRawBufferPointer(start: cursor, count: next - cursor),
                                     as: UTF8.self).trimmingSQLWhitespace()
          result.append(Statement(connection: self, handle: stmt, sql: statementText))
        }
        cursor = next
      }
    }
    return result
  }

  /// A statement kept for the life of the connection, reset before it is handed out.
  public func cached(_ sql: String) throws -> Statement {
    if let statement = statementCache[sql] {
      statement.reset()
      return statement
    }
    let statement = try prepare(sql)
    statementCache[sql] = statement
    return statement
  }

  /// Runs SQL that may hold several statements and returns no rows.
  public func execute(_ sql: String) throws {
    var message: UnsafeMutablePointer<CChar>?
    let code = sqlite3_exec(handle, sql, nil, nil, &message)
    if code != SQLITE_OK {
      let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
      sqlite3_free(message)
      throw SQLiteError(code: code, extendedCode: sqlite3_extended_errcode(handle), message: text, sql: sql)
    }
  }

  /// Runs one statement with positional arguments.
  public func execute(_ sql: String, _ arguments: [SQLiteValue]) throws {
    try cached(sql).execute(arguments)
  }

  /// The first column of the first row, or nil.
  public func scalar(_ sql: String, _ arguments: [SQLiteValue] = []) throws -> SQLiteValue? {
    try cached(sql).first(arguments) { $0.value(0) }
  }

  public var changes: Int { Int(sqlite3_changes64(handle)) }
  public var totalChanges: Int { Int(sqlite3_total_changes64(handle)) }
  public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
  public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

  // MARK: - Transactions

  public enum TransactionKind: String, Sendable {
    case deferred = "DEFERRED", immediate = "IMMEDIATE", exclusive = "EXCLUSIVE"
  }

  /// Runs `body` in a transaction: commits when it returns, rolls back when it throws
  /// and rethrows the first error.
  public func transaction<T>(_ kind: TransactionKind = .immediate, _ body: () throws -> T) throws -> T {
    try execute("BEGIN \(kind.rawValue)")
    let result: T
    do {
      result = try body()
    } catch {
      if isInTransaction { try? execute("ROLLBACK") }
      throw error
    }
    do {
      try execute("COMMIT")
    } catch {
      if isInTransaction { try? execute("ROLLBACK") }
      throw error
    }
    return result
  }

  /// Runs `body` inside a savepoint, so a failure undoes only its own changes.
  public func savepoint<T>(_ name: String = "lstore", _ body: () throws -> T) throws -> T {
    // Cached: a rebase opens a savepoint per step and per head move, and compiling these
    // each time showed in its profile.
    try cached("SAVEPOINT \(name)").execute()
    do {
      let result = try body()
      try cached("RELEASE \(name)").execute()
      return result
    } catch {
      try? cached("ROLLBACK TO \(name)").execute()
      try? cached("RELEASE \(name)").execute()
      throw error
    }
  }

  // MARK: - Schema helpers

  public func attach(path: String, as schema: String) throws {
    try execute("ATTACH DATABASE ? AS \(schema.quotedIdentifier)", [.text(path)])
  }

  public func detach(_ schema: String) throws {
    try execute("DETACH DATABASE \(schema.quotedIdentifier)")
  }

  public func tableExists(_ table: String, schema: String = "main") throws -> Bool {
    let sql = "SELECT 1 FROM \(schema.quotedIdentifier).sqlite_master WHERE type = 'table' AND name = ?"
    return try scalar(sql, [.text(table)]) != nil
  }

  /// Names of the user tables (not `sqlite_*`) in `schema`, in creation order.
  public func tableNames(schema: String = "main") throws -> [String] {
    var names: [String] = []
    let sql = "SELECT name FROM \(schema.quotedIdentifier).sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
    try prepare(sql).forEachRow { names.append($0.string(0)) }
    return names
  }
}

@available(*, unavailable)
extension Connection: Sendable {}

extension String {
  /// `"name"` with embedded quotes doubled: safe to splice into SQL as an identifier.
  public var quotedIdentifier: String { "\"" + replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

  /// `'text'` with embedded quotes doubled: safe to splice into SQL as a string literal.
  public var quotedLiteral: String { "'" + replacingOccurrences(of: "'", with: "''") + "'" }

  func trimmingSQLWhitespace() -> String {
    var scalars = Substring(self)
    while let first = scalars.first, first.isWhitespace || first == ";" { scalars.removeFirst() }
    while let last = scalars.last, last.isWhitespace || last == ";" { scalars.removeLast() }
    return String(scalars)
  }
}

extension Connection {
  /// Rolls back a transaction that a killed process left behind in the file at `path`.
  ///
  /// A "hot" rollback journal beside a database can only be rolled back by a read-write
  /// connection; until then every read-only connection fails with SQLITE_READONLY_ROLLBACK.
  /// Opening read-write and reading the schema makes SQLite restore the file. Does nothing
  /// when there is no journal.
  public static func recoverInterruptedTransaction(at path: String) throws {
    guard FileManager.default.fileExists(atPath: path + "-journal"), FileManager.default.fileExists(atPath: path) else {
      return
    }
    let connection = try Connection(path: path, mode: .readWrite)
    _ = try connection.scalar("SELECT count(*) FROM sqlite_master")
  }
}
