import Foundation
import LStoreSQLite

/// Why a query given to `lstore sql` was not run, or stopped.
public enum SQLQueryError: Error, Equatable, Sendable, CustomStringConvertible {
  /// SQLite could not compile or run it (syntax, an unknown table or column).
  case invalid(String)
  /// It would change a database: the command only reads.
  case writeRefused(String)
  /// Not exactly one statement.
  case statementCount(Int)

  public var description: String {
    switch self {
    case .invalid(let message): return "SQL: \(message)"
    case .writeRefused(let sql): return "refused: '\(sql)' would write; lstore sql only reads (use lstore commit to change state)"
    case .statementCount(let count):
      return count == 0 ? "no SQL statement given" : "give one SQL statement, not \(count)"
    }
  }
}

/// Runs one read-only query over a branch's state, with its eventlog attached.
///
/// The state is `main` and the eventlog is attached as `eventlog`, so the eventlog's own table
/// reads as `eventlog` unqualified (SQLite looks names up in main, then the attached
/// databases) or `eventlog.eventlog`. Without a state (a bare eventlog file), `main` is an
/// empty in-memory database and only the eventlog is there.
public enum SQLQuery {
  /// The name the eventlog database is attached under.
  public static let eventlogSchema = "eventlog"

  /// Calls `columns` once with the result's column names, then `row` for each row, one at a
  /// time (a query over a million events does not fill memory).
  public static func run(sql: String, statePath: String?, eventlogPath: String,
                         columns: ([String]) throws -> Void, row: ([SQLiteValue]) throws -> Void) throws {
    let connection: Connection
    if let statePath {
      guard FileManager.default.fileExists(atPath: statePath) else {
        throw StoreError.notFound("no state for this schema yet (lstore materialize builds it)")
      }
      connection = try Connection(path: "file:\(statePath.addingPercentEncodingForURI)?mode=ro", mode: .readOnly)
      // An empty file (or one lstore did not build) is no state either; a damaged one says so.
      guard try StateDatabase.readHead(connection) != nil else {
        throw StoreError.notFound("no state for this schema yet (lstore materialize builds it)")
      }
    } else {
      connection = try Connection.inMemory()
    }
    try connection.attach(path: "file:\(eventlogPath.addingPercentEncodingForURI)?mode=ro", as: eventlogSchema)
    // Read-only files already refuse writes; query_only also refuses them on the in-memory
    // main database and in temp, so no statement changes anything anywhere.
    try connection.execute("PRAGMA query_only = ON")
    let statements: [Statement]
    do {
      statements = try connection.prepareAll(sql)
    } catch let error as SQLiteError {
      throw SQLQueryError.invalid(error.message)
    }
    guard statements.count == 1, let statement = statements.first else { throw SQLQueryError.statementCount(statements.count) }
    // ATTACH, DETACH, transaction control and setting a pragma count as read-only to SQLite,
    // but they change what the connection sees or does; refused too, so the query sees
    // exactly the two databases, read-only.
    let leading = statement.sql.prefix { !$0.isWhitespace && $0 != "(" }.uppercased()
    let changesConnection = ["ATTACH", "DETACH", "BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM"].contains(leading)
      || (leading == "PRAGMA" && statement.sql.contains("="))
    if !statement.isReadOnly || changesConnection {
      throw SQLQueryError.writeRefused(statement.sql)
    }
    let count = statement.columnCount
    try columns((0..<count).map { statement.columnName($0) })
    do {
      while try statement.step() {
        try row((0..<count).map { statement.value($0) })
      }
    } catch let error as SQLiteError {
      // 8 is SQLITE_READONLY: a write that slipped past the checks above, stopped by the open flags.
      if error.code == 8 { throw SQLQueryError.writeRefused(statement.sql) }
      throw SQLQueryError.invalid(error.message)
    }
  }
}
