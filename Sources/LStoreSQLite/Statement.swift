import CSQLite

/// A prepared statement. It owns its `sqlite3_stmt` and finalizes it on deinit.
///
/// Binding and reading go straight to the C API: this is the hot path of materialize,
/// import and export, so nothing here allocates per row unless a value is read as a String.
public final class Statement {
  public let handle: OpaquePointer
  public unowned let connection: Connection
  public let sql: String

  init(connection: Connection, handle: OpaquePointer, sql: String) {
    self.connection = connection
    self.handle = handle
    self.sql = sql
  }

  deinit { sqlite3_finalize(handle) }

  public var parameterCount: Int32 { sqlite3_bind_parameter_count(handle) }

  /// The name of the 1-based parameter `index`, including its prefix (`$id`, `:id`), or nil for `?`.
  public func parameterName(_ index: Int32) -> String? {
    sqlite3_bind_parameter_name(handle, index).map { String(cString: $0) }
  }

  public var isReadOnly: Bool { sqlite3_stmt_readonly(handle) != 0 }

  // MARK: - Binding

  public func bind(_ value: SQLiteValue, at index: Int32) {
    switch value {
    case .null: sqlite3_bind_null(handle, index)
    case .integer(let v): sqlite3_bind_int64(handle, index, v)
    case .real(let v): sqlite3_bind_double(handle, index, v)
    case .text(let v): bind(v, at: index)
    case .blob(let v): bind(blob: v, at: index)
    }
  }

  @inline(__always) public func bind(_ value: Int64, at index: Int32) {
    sqlite3_bind_int64(handle, index, value)
  }

  @inline(__always) public func bind(_ value: Double, at index: Int32) {
    sqlite3_bind_double(handle, index, value)
  }

  @inline(__always) public func bindNull(at index: Int32) {
    sqlite3_bind_null(handle, index)
  }

  public func bind(_ value: String, at index: Int32) {
    var value = value
    value.withUTF8 { bind(utf8: $0, at: index) }
  }

  /// Binds UTF-8 bytes as TEXT without building a String.
  public func bind(utf8 buffer: UnsafeBufferPointer<UInt8>, at index: Int32) {
    guard let base = buffer.baseAddress, buffer.count > 0 else {
      sqlite3_bind_text(handle, index, "", 0, nil)  // a literal lives forever: no copy needed
      return
    }
    UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: buffer.count) {
      _ = sqlite3_bind_text(handle, index, $0, Int32(buffer.count), lstore_sqlite_transient())
    }
  }

  public func bind(blob: [UInt8], at index: Int32) {
    blob.withUnsafeBytes { raw in
      _ = sqlite3_bind_blob(handle, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!,
                            Int32(raw.count), lstore_sqlite_transient())
    }
  }

  public func bind(_ values: [SQLiteValue]) {
    for (offset, value) in values.enumerated() { bind(value, at: Int32(offset + 1)) }
  }

  public func clearBindings() { sqlite3_clear_bindings(handle) }

  // MARK: - Stepping

  /// Advances the statement. Returns true while a row is available.
  @discardableResult
  public func step() throws -> Bool {
    switch sqlite3_step(handle) {
    case SQLITE_ROW: return true
    case SQLITE_DONE: return false
    case let code: throw SQLiteError(connection: connection.handle, code: code, sql: sql)
    }
  }

  public func reset() { sqlite3_reset(handle) }

  /// Runs the statement to completion with the given arguments and resets it.
  public func execute(_ arguments: [SQLiteValue] = []) throws {
    defer { sqlite3_reset(handle) }
    if !arguments.isEmpty { bind(arguments) }
    while try step() {}
  }

  /// Calls `body` for each row, then resets the statement.
  public func forEachRow(_ arguments: [SQLiteValue] = [], _ body: (Statement) throws -> Void) throws {
    defer { sqlite3_reset(handle) }
    if !arguments.isEmpty { bind(arguments) }
    while try step() { try body(self) }
  }

  /// The first row mapped by `body`, or nil.
  public func first<T>(_ arguments: [SQLiteValue] = [], _ body: (Statement) throws -> T) throws -> T? {
    defer { sqlite3_reset(handle) }
    if !arguments.isEmpty { bind(arguments) }
    return try step() ? try body(self) : nil
  }

  // MARK: - Columns

  public var columnCount: Int32 { sqlite3_column_count(handle) }

  public func columnName(_ index: Int32) -> String { String(cString: sqlite3_column_name(handle, index)) }

  public func isNull(_ index: Int32) -> Bool { sqlite3_column_type(handle, index) == SQLITE_NULL }

  @inline(__always) public func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(handle, index) }

  @inline(__always) public func double(_ index: Int32) -> Double { sqlite3_column_double(handle, index) }

  public func string(_ index: Int32) -> String {
    guard let p = sqlite3_column_text(handle, index) else { return "" }
    let count = Int(sqlite3_column_bytes(handle, index))
    return String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self)
  }

  /// The column's UTF-8 bytes, valid until the next step or reset. Avoids building a String.
  @inline(__always) public func utf8(_ index: Int32) -> UnsafeBufferPointer<UInt8> {
    guard let p = sqlite3_column_text(handle, index) else { return UnsafeBufferPointer(start: nil, count: 0) }
    return UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, index)))
  }

  public func blob(_ index: Int32) -> [UInt8]? {
    guard sqlite3_column_type(handle, index) != SQLITE_NULL else { return nil }
    let count = Int(sqlite3_column_bytes(handle, index))
    guard count > 0, let p = sqlite3_column_blob(handle, index) else { return [] }
    return Array(UnsafeRawBufferPointer(start: p, count: count))
  }

  public func value(_ index: Int32) -> SQLiteValue {
    switch sqlite3_column_type(handle, index) {
    case SQLITE_INTEGER: return .integer(int64(index))
    case SQLITE_FLOAT: return .real(double(index))
    case SQLITE_TEXT: return .text(string(index))
    case SQLITE_BLOB: return .blob(blob(index) ?? [])
    default: return .null
    }
  }
}

@available(*, unavailable)
extension Statement: Sendable {}
