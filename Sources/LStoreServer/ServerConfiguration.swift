import LStoreSync
import Logging

/// Everything `lstore serve` needs to start a sync backend.
public struct ServerConfiguration: Sendable {
  /// Address to bind, `127.0.0.1` by default (loopback only).
  public var host: String
  /// Port to bind; 0 picks a free port, reported through `onListening` and the log.
  public var port: Int
  /// The SQLite file holding every store (created when missing); unused with `databaseURL`.
  public var dataPath: String
  /// A `postgres://` URL: keep the stores in that PostgreSQL database, which several
  /// servers (nodes) may share, instead of the SQLite file.
  public var databaseURL: String?
  /// Clients must send `{"authToken": <this>}` as the connect payload (or as a Bearer token
  /// on the HTTP API).
  public var authToken: String?
  /// Clients must send an HS256 JWT signed with this secret, with an `exp` claim, as
  /// `authToken`. Takes precedence over `authToken` when both are set.
  public var jwtSecret: String?
  /// The secret of `AdminResetRoomReq` / `AdminInfoReq`; without it admin messages are refused.
  public var adminSecret: String?
  public var logLevel: Logger.Level
  /// What one WebSocket connection may make the server hold (pushes and pulls in flight,
  /// bytes queued for the client); see docs/sync-server.md, "Limits".
  public var connectionLimits: ConnectionLimits = .standard
  /// The most connections held open at once; more are closed as they are accepted. nil:
  /// the open-file limit less 64 (`ConnectionCap.defaultLimit`).
  public var maxConnections: Int?
  /// Called once the server listens, with the bound host and port.
  public var onListening: (@Sendable (_ host: String, _ port: Int) -> Void)?
  /// Where log lines go; stderr by default.
  public var logHandlerFactory: @Sendable (String) -> any LogHandler

  public init(host: String = "127.0.0.1", port: Int = 8787, dataPath: String, databaseURL: String? = nil, authToken: String? = nil,
              jwtSecret: String? = nil, adminSecret: String? = nil, logLevel: Logger.Level = .info,
              onListening: (@Sendable (String, Int) -> Void)? = nil,
              logHandlerFactory: @escaping @Sendable (String) -> any LogHandler = { StreamLogHandler.standardError(label: $0) }) {
    self.host = host
    self.port = port
    self.dataPath = dataPath
    self.databaseURL = databaseURL
    self.authToken = authToken
    self.jwtSecret = jwtSecret
    self.adminSecret = adminSecret
    self.logLevel = logLevel
    self.onListening = onListening
    self.logHandlerFactory = logHandlerFactory
  }
}

/// swift-log's level, named here so callers need not import Logging.
public typealias ServerLogLevel = Logger.Level
