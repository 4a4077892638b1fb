import Foundation
import PostgresNIO

/// A `postgres://user[:password]@host[:port]/database[?sslmode=…]` URL, as libpq writes it.
///
/// The password may also come from `PGPASSWORD` (so it stays off the command line and out of
/// `ps`). `sslmode` is libpq's: `disable`, `prefer` (the default: TLS when the server offers
/// it), `require` (TLS or fail; like libpq, the certificate is not checked), `verify-full`
/// (TLS with the certificate checked against the system's roots and the host name).
public struct PostgresURL: Sendable, CustomStringConvertible {
  public let host: String
  public let port: Int
  public let username: String
  public let password: String?
  public let database: String
  public let sslMode: String

  public static let sslModes = ["disable", "prefer", "require", "verify-full"]

  public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
    guard let components = URLComponents(string: text),
          let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme.lowercased()) else {
      throw PostgresURLError("--database must be a URL like postgres://user@127.0.0.1:5432/lstore, not \"\(Self.redacted(text))\"")
    }
    guard let host = components.host, !host.isEmpty else {
      throw PostgresURLError("the --database URL names no host: write postgres://user@HOST:5432/database")
    }
    guard let user = components.user, !user.isEmpty else {
      throw PostgresURLError("the --database URL names no user: write postgres://USER@\(host):\(components.port ?? 5432)/database")
    }
    let database = String(components.path.drop(while: { $0 == "/" }))
    guard !database.isEmpty, !database.contains("/") else {
      throw PostgresURLError("the --database URL names no database: write postgres://\(user)@\(host):\(components.port ?? 5432)/DATABASE")
    }
    var sslMode = "prefer"
    for item in components.queryItems ?? [] {
      switch item.name {
      case "sslmode":
        guard let value = item.value, Self.sslModes.contains(value) else {
          throw PostgresURLError("sslmode must be one of \(Self.sslModes.joined(separator: ", ")), not \"\(item.value ?? "")\"")
        }
        sslMode = value
      default:
        throw PostgresURLError("the --database URL has an unknown parameter \"\(item.name)\" (only sslmode is understood)")
      }
    }
    self.host = host
    self.port = components.port ?? 5432
    self.username = user.removingPercentEncoding ?? user
    self.password = components.password.map { $0.removingPercentEncoding ?? $0 } ?? environment["PGPASSWORD"]
    self.database = database.removingPercentEncoding ?? database
    self.sslMode = sslMode
  }

  /// The URL without its password, for logs and errors.
  public var description: String { "postgres://\(username)@\(host):\(port)/\(database)" }

  /// `text` with any password replaced by `***`, read from the text itself: a URL too
  /// malformed to parse (a port that is not a number) still has its password where a
  /// person put it, between the user's `:` and the last `@` before the host.
  static func redacted(_ text: String) -> String {
    guard let scheme = text.range(of: "://") else { return text }
    let rest = text[scheme.upperBound...]
    guard let at = rest.lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return text }
    return String(text[..<rest.index(after: colon)]) + "***" + String(rest[at...])
  }

  var clientTLS: PostgresClient.Configuration.TLS {
    switch sslMode {
    case "disable": return .disable
    case "verify-full": return .require(.makeClientConfiguration())
    default:
      var tls = TLSConfiguration.makeClientConfiguration()
      tls.certificateVerification = .none
      return sslMode == "require" ? .require(tls) : .prefer(tls)
    }
  }

  func connectionConfiguration() throws -> PostgresConnection.Configuration {
    let tls: PostgresConnection.Configuration.TLS
    switch sslMode {
    case "disable": tls = .disable
    case "verify-full": tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
    default:
      var configuration = TLSConfiguration.makeClientConfiguration()
      configuration.certificateVerification = .none
      let context = try NIOSSLContext(configuration: configuration)
      tls = sslMode == "require" ? .require(context) : .prefer(context)
    }
    return PostgresConnection.Configuration(host: host, port: port, username: username, password: password,
                                            database: database, tls: tls)
  }

  func clientConfiguration() -> PostgresClient.Configuration {
    PostgresClient.Configuration(host: host, port: port, username: username, password: password,
                                 database: database, tls: clientTLS)
  }
}

/// A `--database` URL lstore cannot use.
public struct PostgresURLError: Error, CustomStringConvertible, Sendable {
  public let description: String
  init(_ description: String) { self.description = description }
}
