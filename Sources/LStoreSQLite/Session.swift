import CSQLite

/// Records the changes made to a database through a connection, as a changeset
/// (the SQLite session extension). LiveStore stores one such changeset per event so the
/// event's effect on state can be rolled back during a rebase.
public final class Session {
  private let handle: OpaquePointer

  /// Starts recording changes to every table of `schema` that has a primary key.
  public init(connection: Connection, schema: String = "main") throws {
    var session: OpaquePointer?
    let code = sqlite3session_create(connection.handle, schema, &session)
    guard code == SQLITE_OK, let session else { throw SQLiteError(connection: connection.handle, code: code) }
    handle = session
    let attached = sqlite3session_attach(session, nil)
    guard attached == SQLITE_OK else {
      sqlite3session_delete(session)
      throw SQLiteError(connection: connection.handle, code: attached)
    }
  }

  deinit { sqlite3session_delete(handle) }

  /// The changeset recorded so far, or nil when nothing changed.
  public func changeset() throws -> [UInt8]? {
    var size: Int32 = 0
    var buffer: UnsafeMutableRawPointer?
    let code = sqlite3session_changeset(handle, &size, &buffer)
    defer { sqlite3_free(buffer) }
    guard code == SQLITE_OK else { throw SQLiteError(code: code, message: "could not build the changeset") }
    guard size > 0, let buffer else { return nil }
    return Array(UnsafeRawBufferPointer(start: buffer, count: Int(size)))
  }
}

@available(*, unavailable)
extension Session: Sendable {}

/// Operations on changeset blobs.
public enum Changeset {
  /// The changeset that undoes `changeset`.
  public static func invert(_ changeset: [UInt8]) throws -> [UInt8] {
    var size: Int32 = 0
    var output: UnsafeMutableRawPointer?
    let code = changeset.withUnsafeBytes { raw in
      sqlite3changeset_invert(Int32(raw.count), UnsafeMutableRawPointer(mutating: raw.baseAddress), &size, &output)
    }
    defer { sqlite3_free(output) }
    guard code == SQLITE_OK else { throw SQLiteError(code: code, message: "could not invert a changeset") }
    guard size > 0, let output else { return [] }
    return Array(UnsafeRawBufferPointer(start: output, count: Int(size)))
  }

  /// Applies `changeset` to the main database of `connection`. Any conflict aborts the
  /// apply, because a rollback that does not match the recorded rows means state and
  /// eventlog disagree, and silently skipping a row would hide that.
  public static func apply(_ changeset: [UInt8], to connection: Connection) throws {
    guard !changeset.isEmpty else { return }
    let code = changeset.withUnsafeBytes { raw in
      sqlite3changeset_apply(
        connection.handle, Int32(raw.count), UnsafeMutableRawPointer(mutating: raw.baseAddress),
        nil, { _, _, _ in SQLITE_CHANGESET_ABORT }, nil)
    }
    guard code == SQLITE_OK else {
      throw SQLiteError(code: code, message: "the changeset no longer matches the state rows (\(String(cString: sqlite3_errstr(code))))")
    }
  }

  /// One row change inside a changeset.
  public struct Change: Equatable, Sendable {
    public enum Operation: String, Sendable { case insert = "INSERT", update = "UPDATE", delete = "DELETE" }
    public var table: String
    public var operation: Operation
    /// Old column values (nil entries: not part of the change). Empty for inserts.
    public var old: [SQLiteValue?]
    /// New column values (nil entries: unchanged). Empty for deletes.
    public var new: [SQLiteValue?]
    /// Which columns form the primary key.
    public var primaryKey: [Bool]
  }

  /// Decodes the row changes of `changeset`, in order.
  public static func changes(in changeset: [UInt8]) throws -> [Change] {
    var result: [Change] = []
    try changeset.withUnsafeBytes { raw in
      var iterator: OpaquePointer?
      var code = sqlite3changeset_start(&iterator, Int32(raw.count), UnsafeMutableRawPointer(mutating: raw.baseAddress))
      guard code == SQLITE_OK, let iterator else { throw SQLiteError(code: code, message: "not a changeset") }
      defer { sqlite3changeset_finalize(iterator) }
      while true {
        code = sqlite3changeset_next(iterator)
        if code == SQLITE_DONE { break }
        guard code == SQLITE_ROW else { throw SQLiteError(code: code, message: "corrupt changeset") }
        var tableName: UnsafePointer<CChar>?
        var columnCount: Int32 = 0
        var op: Int32 = 0
        var indirect: Int32 = 0
        sqlite3changeset_op(iterator, &tableName, &columnCount, &op, &indirect)
        var pkFlags: UnsafeMutablePointer<UInt8>?
        var pkCount: Int32 = 0
        sqlite3changeset_pk(iterator, &pkFlags, &pkCount)
        let operation: Change.Operation = op == SQLITE_INSERT ? .insert : op == SQLITE_DELETE ? .delete : .update
        var old: [SQLiteValue?] = []
        var new: [SQLiteValue?] = []
        for column in 0..<columnCount {
          if operation != .insert {
            var value: OpaquePointer?
            sqlite3changeset_old(iterator, column, &value)
            old.append(value.map { SQLiteValue(raw: $0) })
          }
          if operation != .delete {
            var value: OpaquePointer?
            sqlite3changeset_new(iterator, column, &value)
            new.append(value.map { SQLiteValue(raw: $0) })
          }
        }
        let pk = (0..<Int(pkCount)).map { column in pkFlags.map { $0[column] != 0 } ?? false }
        result.append(Change(table: tableName.map { String(cString: $0) } ?? "", operation: operation,
                             old: old, new: new, primaryKey: pk))
      }
    }
    return result
  }
}
