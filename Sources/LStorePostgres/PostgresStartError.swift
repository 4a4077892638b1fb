import Foundation
import PostgresNIO

/// Why a node could not start on its PostgreSQL database, said in terms of the URL and with
/// what to do. postgres-nio's own descriptions are deliberately generic (they may hold
/// secrets), so the server's message and SQLSTATE are read out here.
public struct PostgresStartError: Error, CustomStringConvertible, Sendable {
  public enum Kind: Sendable {
    /// Nothing answers at host:port, or the connection broke.
    case unreachable
    /// The server answered and refused the login (password, pg_hba.conf, no such role).
    case loginRefused
    /// The server has no such database.
    case noDatabase
    /// Anything else (a newer schema, no permission to create tables).
    case failed
  }
  public let kind: Kind
  public let message: String
  public var description: String { message }

  static func classify(_ error: Error, url: PostgresURL) -> PostgresStartError {
    if let error = error as? PostgresStartError { return error }
    guard let psql = error as? PSQLError else {
      return PostgresStartError(kind: .failed, message: "cannot use the database \(url): \(text(of: error))")
    }
    let sqlState = psql.serverInfo?[.sqlState]
    switch (psql.code, sqlState) {
    case (.server, "28P01"), (.server, "28000"), (.authMechanismRequiresPassword, _), (.saslError, _):
      let reason = psql.code == .authMechanismRequiresPassword
        ? "it wants a password and none was given" : (psql.serverInfo?[.message] ?? "login refused")
      return PostgresStartError(kind: .loginRefused, message:
        "PostgreSQL at \(url.host):\(url.port) refused user \"\(url.username)\": \(reason). Check the user and password (postgres://USER:PASSWORD@… or PGPASSWORD)")
    case (.server, "3D000"):
      return PostgresStartError(kind: .noDatabase, message:
        "PostgreSQL at \(url.host):\(url.port) has no database \"\(url.database)\"; create it (createdb -h \(url.host) -p \(url.port) -U \(url.username) \(url.database)) or name another")
    case (.server, _):
      return PostgresStartError(kind: .failed, message: "PostgreSQL at \(url.host):\(url.port) refused: \(text(of: error))")
    case (.sslUnsupported, _):
      return PostgresStartError(kind: .unreachable, message:
        "PostgreSQL at \(url.host):\(url.port) does not offer TLS, and the URL says sslmode=\(url.sslMode)")
    default:
      return PostgresStartError(kind: .unreachable, message:
        "cannot reach PostgreSQL at \(url.host):\(url.port): \(text(of: error)). Is it running, and is the host and port right?")
    }
  }

  /// A one-line, secret-free account of a postgres-nio (or other) error.
  static func text(of error: Error) -> String {
    guard let psql = error as? PSQLError else {
      if let error = error as? PostgresTransactionError {
        return [error.closureError, error.commitError, error.beginError].compactMap { $0 }.first.map(text(of:)) ?? "transaction failed"
      }
      return String(describing: error)
    }
    if let message = psql.serverInfo?[.message] {
      return "\(message)" + (psql.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
    }
    if let underlying = psql.underlying {
      let text = String(describing: underlying)
      if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
      if text.contains("connectTimeout") || text.contains("timeout") { return "the connection timed out" }
      return text
    }
    switch psql.code {
    case .serverClosedConnection: return "the server closed the connection"
    case .clientClosedConnection: return "the connection was closed"
    case .connectionError: return "the connection failed"
    case .poolClosed: return "the connection pool is closed"
    case .queryCancelled: return "the query was cancelled"
    default: return "\(psql.code)"
    }
  }
}
