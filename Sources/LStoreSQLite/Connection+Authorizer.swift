import CSQLite

/// What a statement being prepared wants to do, as SQLite's authorizer reports it.
public struct AuthorizerRequest: Sendable {
  public enum Action: Sendable, Equatable {
    case read, insert, update, delete
    case transaction, savepoint, attach, detach, pragma
    case createTable, dropTable, alterTable, createIndex, dropIndex, other
  }
  public var action: Action
  /// The table (for read/insert/update/delete and DDL), when SQLite names one.
  public var table: String?
  /// The database schema name (`main`, `temp`, an attached name).
  public var database: String?
}

private final class AuthorizerBox {
  let decide: (AuthorizerRequest) -> Bool
  var denied: AuthorizerRequest?
  init(_ decide: @escaping (AuthorizerRequest) -> Bool) { self.decide = decide }
}

extension Connection {
  /// Prepares statements under an authorizer: SQL whose effect `decide` refuses fails to
  /// prepare (SQLITE_AUTH) with a message naming what was refused.
  public func withAuthorizer<T>(_ decide: @escaping (AuthorizerRequest) -> Bool, _ body: () throws -> T) throws -> T {
    let box = AuthorizerBox(decide)
    let pointer = Unmanaged.passRetained(box).toOpaque()
    sqlite3_set_authorizer(handle, { context, code, first, second, database, _ in
      let box = Unmanaged<AuthorizerBox>.fromOpaque(context!).takeUnretainedValue()
      let action: AuthorizerRequest.Action
      var table: String? = nil
      switch code {
      case SQLITE_READ: action = .read; table = first.map { String(cString: $0) }
      case SQLITE_INSERT: action = .insert; table = first.map { String(cString: $0) }
      case SQLITE_UPDATE: action = .update; table = first.map { String(cString: $0) }
      case SQLITE_DELETE: action = .delete; table = first.map { String(cString: $0) }
      case SQLITE_TRANSACTION: action = .transaction
      case SQLITE_SAVEPOINT: action = .savepoint
      case SQLITE_ATTACH: action = .attach
      case SQLITE_DETACH: action = .detach
      case SQLITE_PRAGMA: action = .pragma
      case SQLITE_CREATE_TABLE, SQLITE_CREATE_TEMP_TABLE: action = .createTable; table = first.map { String(cString: $0) }
      case SQLITE_DROP_TABLE, SQLITE_DROP_TEMP_TABLE: action = .dropTable; table = first.map { String(cString: $0) }
      case SQLITE_ALTER_TABLE: action = .alterTable; table = second.map { String(cString: $0) }
      case SQLITE_CREATE_INDEX, SQLITE_CREATE_TEMP_INDEX: action = .createIndex; table = second.map { String(cString: $0) }
      case SQLITE_DROP_INDEX, SQLITE_DROP_TEMP_INDEX: action = .dropIndex; table = second.map { String(cString: $0) }
      default: action = .other
      }
      let request = AuthorizerRequest(action: action, table: table, database: database.map { String(cString: $0) })
      if box.decide(request) { return SQLITE_OK }
      if box.denied == nil { box.denied = request }
      return SQLITE_DENY
    }, pointer)
    defer {
      sqlite3_set_authorizer(handle, nil, nil)
      Unmanaged<AuthorizerBox>.fromOpaque(pointer).release()
    }
    do {
      return try body()
    } catch var error as SQLiteError where error.code == SQLITE_AUTH {
      if let denied = box.denied {
        let what = [denied.database, denied.table].compactMap { $0 }.joined(separator: ".")
        error = SQLiteError(code: error.code, extendedCode: error.extendedCode,
                            message: "not allowed here: \(denied.action)\(what.isEmpty ? "" : " on \(what)")", sql: error.sql)
      }
      throw error
    }
  }
}
