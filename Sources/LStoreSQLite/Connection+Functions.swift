import CSQLite

/// Boxes a Swift closure so it can travel through SQLite's `void *` user data.
private final class ScalarFunctionBox {
  let body: ([SQLiteValue]) throws -> SQLiteValue
  init(_ body: @escaping ([SQLiteValue]) throws -> SQLiteValue) { self.body = body }
}

extension Connection {
  /// Registers a scalar SQL function implemented in Swift. Deterministic functions may be
  /// used in indexes and are what materializers are allowed to call.
  public func createFunction(
    _ name: String, argumentCount: Int32, deterministic: Bool = true,
    _ body: @escaping ([SQLiteValue]) throws -> SQLiteValue
  ) throws {
    let box = Unmanaged.passRetained(ScalarFunctionBox(body)).toOpaque()
    var flags = SQLITE_UTF8
    if deterministic { flags |= SQLITE_DETERMINISTIC }
    let code = sqlite3_create_function_v2(
      handle, name, argumentCount, flags, box,
      { context, argc, argv in
        let box = Unmanaged<ScalarFunctionBox>.fromOpaque(sqlite3_user_data(context)).takeUnretainedValue()
        var arguments: [SQLiteValue] = []
        arguments.reserveCapacity(Int(argc))
        for i in 0..<Int(argc) { arguments.append(SQLiteValue(raw: argv?[i])) }
        do {
          switch try box.body(arguments) {
          case .null: sqlite3_result_null(context)
          case .integer(let v): sqlite3_result_int64(context, v)
          case .real(let v): sqlite3_result_double(context, v)
          case .text(let v): sqlite3_result_text(context, v, -1, lstore_sqlite_transient())
          case .blob(let v):
            v.withUnsafeBytes { sqlite3_result_blob(context, $0.baseAddress, Int32($0.count), lstore_sqlite_transient()) }
          }
        } catch {
          sqlite3_result_error(context, "\(error)", -1)
        }
      }, nil, nil,
      { pointer in
        if let pointer { Unmanaged<ScalarFunctionBox>.fromOpaque(pointer).release() }
      })
    guard code == SQLITE_OK else { throw SQLiteError(connection: handle, code: code) }
  }
}
