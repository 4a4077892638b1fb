import CSQLite

/// An error reported by SQLite, with the statement that caused it when there was one.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
  /// The primary result code (`SQLITE_CONSTRAINT`, `SQLITE_BUSY`, …).
  public let code: Int32
  /// The extended result code, when SQLite gave one.
  public let extendedCode: Int32
  public let message: String
  public let sql: String?

  public init(code: Int32, extendedCode: Int32? = nil, message: String, sql: String? = nil) {
    self.code = code & 0xff
    self.extendedCode = extendedCode ?? code
    self.message = message
    self.sql = sql
  }

  init(connection: OpaquePointer?, code: Int32, sql: String? = nil) {
    let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
      ?? String(cString: sqlite3_errstr(code))
    let extended = connection.map { sqlite3_extended_errcode($0) } ?? code
    self.init(code: code, extendedCode: extended, message: message, sql: sql)
  }

  public var isConstraintViolation: Bool { code == SQLITE_CONSTRAINT }
  public var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }
  /// The file is not an SQLite database, or its pages are damaged.
  public var isDamagedFile: Bool { code == SQLITE_CORRUPT || code == SQLITE_NOTADB }

  public var description: String { message }
}
