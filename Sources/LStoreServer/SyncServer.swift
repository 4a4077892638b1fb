import Foundation
import Hummingbird
import HummingbirdWebSocket
import LStoreKit
import LStoreSync
import Logging
import ServiceLifecycle

/// Runs the sync backend until SIGINT or SIGTERM (or until the calling task is
/// cancelled), then shuts down gracefully: no new connections, pushes in progress finish
/// (an acknowledged push is already durable), sockets are closed.
///
/// Prints nothing itself; everything goes through the logger (stderr by default).
public func runSyncServer(_ configuration: ServerConfiguration) async throws {
  let logger = {
    var logger = Logger(label: "lstore.serve", factory: configuration.logHandlerFactory)
    logger.logLevel = configuration.logLevel
    return logger
  }()

  if let secret = configuration.jwtSecret, secret.utf8.count < 32 {
    throw ServerConfigurationError("--jwt-secret must be at least 32 bytes (HS256 keys shorter than the hash are weak)")
  }
  let node = Identifiers.nanoid(length: 12)
  let opened = try await openStorage(configuration, logger: logger)
  defer { opened.close() }
  let storage = opened.storage
  let backend = SyncBackend(storage: storage)
  let authenticator = await PayloadAuthenticator.make(authToken: configuration.authToken, jwtSecret: configuration.jwtSecret)
  let endpoint = WebSocketEndpoint(backend: backend, authenticator: authenticator,
                                   adminSecret: configuration.adminSecret, limits: configuration.connectionLimits,
                                   logger: logger)

  let router = Router(context: BasicRequestContext.self)
  router.add(middleware: RequestLogMiddleware(logger: logger))
  router.get("/") { _, _ in
    textResponse(.ok, "Info: WebSocket sync backend endpoint for @livestore/sync-cf (lstore serve).")
  }
  HTTPAPI(backend: backend, authenticator: authenticator, logger: logger).register(on: router)
  let started = Date()
  router.get("/health") { _, _ in
    let database = await opened.health()
    let report: JSONValue = [
      "status": .string(database.up ? "ok" : "unavailable"),
      "node": ["id": .string(node), "pid": .integer(Int64(getpid())),
               "uptimeSeconds": .integer(Int64(Date().timeIntervalSince(started)))],
      "database": database.json,
    ]
    return jsonResponse(database.up ? .ok : .serviceUnavailable, report)
  }
  // `/websocket` requests that were not upgraded land here and get LiveStore's error codes.
  router.get("**") { request, _ in
    guard request.uri.path.hasSuffix("/websocket") else { return textResponse(.badRequest, "Invalid path") }
    return await endpoint.refusal(for: request.uri.query ?? "", hasUpgrade: false)
  }

  let mode = authenticator.isOpen ? "open (no auth)" : (configuration.jwtSecret != nil ? "jwt" : "token")
  let onListening = configuration.onListening
  let cap = ConnectionCap(limit: configuration.maxConnections ?? ConnectionCap.defaultLimit(), logger: logger)
  let app = Application(
    responder: LiveStore04Responder(inner: InvalidPathResponder(inner: router.buildResponder()), endpoint: endpoint,
                                    http: LiveStore04HTTP(backend: backend, authenticator: authenticator, logger: logger)),
    server: .guardedHTTP1WebSocketUpgrade(
      configuration: .init(
        http1: .init(idleTimeout: idleConnectionTimeout, httpDecoderConfiguration: .init(maxHeaderFieldSize: maxRequestHeadBytes, maxHeaderListSize: maxRequestHeadBytes)),
        // RFC 6455: a text frame that is not UTF-8 fails the connection (close 1007).
        ws: .init(maxFrameSize: WebSocketEndpoint.maxMessageSize, autoPing: .enabled(timePeriod: .seconds(30)),
                  validateUTF8: true)),
      cap: cap,
      shouldUpgrade: { request, channel, _ in try await endpoint.shouldUpgrade(request, channel: channel) }),
    configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
    onServerRunning: { channel in
      let port = channel.localAddress?.port ?? configuration.port
      logger.info("listening on \(configuration.host):\(port)",
                  metadata: ["storage": "\(opened.name)", "node": "\(node)", "auth": "\(mode)",
                             "admin": "\(configuration.adminSecret == nil ? "disabled" : "enabled")",
                             "maxConnections": "\(cap.limit)"])
      onListening?(configuration.host, port)
    },
    logger: quietFrameworkLogger(logger))

  let serviceGroup = ServiceGroup(
    configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: quietFrameworkLogger(logger)))
  // A graceful shutdown waits for open connections to end, and a peer that keeps an idle
  // socket open (or a half-open one) would hold it forever (cancelling the connection
  // tasks does not close such a socket): after the limit the process exits. Every
  // acknowledged push is already durable, and one being stored is not acknowledged.
  let deadline = ShutdownDeadline(limit: gracefulShutdownLimit, logger: logger)
  defer { deadline.cancel() }
  try await serviceGroup.run()
  logger.info("stopped")
}

/// How long SIGTERM or SIGINT waits for connections to end before the process exits.
let gracefulShutdownLimit: Duration = .seconds(10)

/// Exits the process `limit` after the first SIGTERM or SIGINT, unless cancelled first
/// (the server stopped by itself). The service group handles the signals; these sources
/// only see them too.
final class ShutdownDeadline: @unchecked Sendable {
  private let queue = DispatchQueue(label: "lstore.serve.shutdown-deadline")
  private var sources: [DispatchSourceSignal] = []
  /// Owned by `queue`.
  private var exit: DispatchWorkItem?

  init(limit: Duration, logger: Logger) {
    sources = [SIGTERM, SIGINT].map { signal in
      let source = DispatchSource.makeSignalSource(signal: signal, queue: queue)
      source.setEventHandler { [unowned self] in
        guard exit == nil else { return }
        let item = DispatchWorkItem {
          logger.notice("stopped: connections still open \(limit) after the signal were dropped")
          Foundation.exit(0)
        }
        exit = item
        queue.asyncAfter(deadline: .now() + .seconds(Int(limit.components.seconds)), execute: item)
      }
      source.resume()
      return source
    }
  }

  /// The server stopped by itself: no exit.
  func cancel() {
    queue.sync {
      exit?.cancel()
      for source in sources { source.cancel() }
    }
  }
}

/// Hummingbird's own logger, one level quieter than ours so `--log-level info` shows
/// lstore's lines, not the framework's.
private func quietFrameworkLogger(_ logger: Logger) -> Logger {
  var framework = logger
  framework.logLevel = max(logger.logLevel, .notice)
  return framework
}

func textResponse(_ status: HTTPResponse.Status, _ text: String) -> Response {
  Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
           body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
}

func jsonResponse(_ status: HTTPResponse.Status, _ json: JSONValue) -> Response {
  Response(status: status, headers: [.contentType: "application/json"],
           body: ResponseBody(byteBuffer: ByteBuffer(string: json.compactText)))
}

/// LiveStore's worker answers any unknown path with 400 `Invalid path`; Hummingbird's router
/// says 404. This keeps LiveStore's answer.
struct InvalidPathResponder<Inner: HTTPResponder>: HTTPResponder {
  let inner: Inner

  func respond(to request: Request, context: Inner.Context) async throws -> Response {
    let response = try await inner.respond(to: request, context: context)
    if response.status == .notFound { return textResponse(.badRequest, "Invalid path") }
    return response
  }
}

/// One log line per HTTP request: method, path (never the query, which carries the
/// payload and its token), status.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
  let logger: Logger

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    let response = try await next(request, context)
    logger.info("http", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)",
                                           "status": "\(response.status.code)"])
    return response
  }
}

/// A configuration `runSyncServer` refuses before starting.
public struct ServerConfigurationError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Why `runSyncServer` could not start, in terms the CLI maps to its exit codes.
public struct ServerStartError: Error, CustomStringConvertible, Sendable {
  public enum Kind: Sendable {
    /// A bad option value (a malformed --database URL).
    case usage
    /// Something else holds what this server needs (another server on the same --data).
    case refused
    /// The database cannot be reached or refuses the login.
    case unavailable
    /// The named database does not exist.
    case notFound
    /// Anything else.
    case failed
  }
  public let kind: Kind
  public let message: String
  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }
  public var description: String { message }
}
