import ArgumentParser
import Foundation
import LStoreServer

struct ServeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve",
    abstract: "Run a sync backend (LiveStore 0.3 and 0.4 sync protocols plus lstore's HTTP API).",
    discussion: """
      Speaks LiveStore's sync-cf 0.3 protocol at ws://<host>:<port>/websocket, so a LiveStore \
      0.3 app's makeCfSync can point at it, and on the same port LiveStore 0.4's (Effect RPC, \
      routed by the query ?storeId=…&transport=ws or transport=http on any path), so a 0.4 \
      app's makeWsSync or makeHttpSync can point at ws://<host>:<port> or http://<host>:<port>; \
      each store has a backend id, kept with its data. Also lstore's plain HTTP API at /api/v1 \
      (see docs/sync-http-api.md) and GET /health (the node and its database, 503 when the \
      database is unreachable). Every store lives in one SQLite file, <data>/backend.db, which \
      one server at a time may use (a second is refused); a push is acknowledged only once it \
      is on disk.

      With --database postgres://user@host:port/db the stores live in PostgreSQL instead, and \
      several servers (nodes, e.g. behind a load balancer) may share it: one total order per \
      store across all of them, a push acknowledged once committed, live updates from pushes \
      made on any node (LISTEN/NOTIFY). The tables are created on first start. The password \
      can come from PGPASSWORD. A database that is down or refuses the login exits 69, a \
      database that does not exist 66, a malformed URL 64 (docs/sync-server.md, "PostgreSQL").

      Secrets can come from the environment instead of the command line: LSTORE_AUTH_TOKEN, \
      LSTORE_JWT_SECRET, LSTORE_ADMIN_SECRET. They never appear in the log. Stop with Ctrl-C \
      or SIGTERM: pushes in progress finish first.

      Limits: an event is at most 800,000 bytes and its args nest at most 256 levels; pull \
      pages hold at most 100 events and 900,000 bytes; a message is at most 16 MiB; each \
      0.3 connection has at most 256 pushes and 4 pulls in flight (0.4: 256 pushes, 16 open \
      pulls, one unacknowledged page each) and stops being read while 8 MiB \
      wait to be sent to it (closed at 64 MiB). docs/sync-server.md lists every limit and its error.

      Args are stored and returned exactly as received, a lone surrogate such as "\\ud800" \
      included; a name or id holding one is refused.
      """)

  @ParentCommand var root: LStoreCommand

  @Option(name: .long, help: "The address to listen on.")
  var host = "127.0.0.1"

  @Option(name: .long, help: "The port to listen on (0 picks a free one; the log says which).")
  var port = 8787

  @Option(name: .customLong("data"), help: ArgumentHelp("The backend's directory; the database is <dir>/backend.db.", valueName: "dir"),
          completion: .directory)
  var data = "./lstore-backend"

  @Option(name: .customLong("database"), help: ArgumentHelp(
    "Keep the stores in this PostgreSQL database instead of <dir>/backend.db, so several servers can share them (postgres://user[:password]@host[:port]/db[?sslmode=…]; env LSTORE_DATABASE_URL).",
    valueName: "url"))
  var database: String?

  @Option(name: .customLong("auth-token"), help: ArgumentHelp(
    "Require this token as the connect payload's authToken (env LSTORE_AUTH_TOKEN).", valueName: "token"))
  var authToken: String?

  @Option(name: .customLong("jwt-secret"), help: ArgumentHelp(
    "Require an HS256 JWT with an exp claim signed with this secret, at least 32 bytes (env LSTORE_JWT_SECRET).",
    valueName: "secret"))
  var jwtSecret: String?

  @Option(name: .customLong("admin-secret"), help: ArgumentHelp(
    "Allow the admin reset/info messages with this secret (env LSTORE_ADMIN_SECRET); without it they are refused.",
    valueName: "secret"))
  var adminSecret: String?

  @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
  var logLevel = "info"

  @Option(name: .customLong("max-connections"), help: ArgumentHelp(
    "Hold at most this many connections open; more are closed as they are accepted (default: the open-file limit less 64).",
    valueName: "n"))
  var maxConnections: Int?

  private func secret(_ flag: String?, _ variable: String) -> String? {
    if let flag, !flag.isEmpty { return flag }
    if let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty { return value }
    return nil
  }

  func validate() throws {
    guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
    guard ServerLogLevel(rawValue: logLevel) != nil else {
      throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
    }
    if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
    if let jwt = secret(jwtSecret, "LSTORE_JWT_SECRET"), jwt.utf8.count < 32 {
      throw ValidationError("the JWT secret must be at least 32 bytes")
    }
  }

  func run() async throws {
    let global = root.global
    let directory = global.resolve(data)
    let directoryExisted = database == nil && FileManager.default.fileExists(atPath: directory)
    var configuration = ServerConfiguration(
      host: host, port: port, dataPath: (directory as NSString).appendingPathComponent("backend.db"),
      databaseURL: secret(database, "LSTORE_DATABASE_URL"),
      authToken: secret(authToken, "LSTORE_AUTH_TOKEN"), jwtSecret: secret(jwtSecret, "LSTORE_JWT_SECRET"),
      adminSecret: secret(adminSecret, "LSTORE_ADMIN_SECRET"),
      logLevel: ServerLogLevel(rawValue: logLevel) ?? .info)
    configuration.maxConnections = maxConnections
    do {
      try await runSyncServer(configuration)
    } catch let error as ServerStartError {
      switch error.kind {
      case .usage: throw InputError.usage(error.message)
      case .refused: throw InputError(status: .refused, message: error.message)
      case .unavailable: throw InputError(status: .unavailable, message: error.message)
      case .notFound: throw InputError.notFound(error.message)
      case .failed: throw InputError(status: .failure, message: error.message)
      }
    } catch {
      // The socket library's errors name its functions (`bind(descriptor:ptr:bytes:)`): say
      // what failed in the user's terms.
      let text = String(describing: error)
      let cannotListen = text.contains("Address already in use") || text.contains("UnknownHost")
        || text.contains("Cannot assign requested address")
      // A server that never listened served nothing: the data directory this run made
      // (an empty database) goes, so a mistyped port leaves nothing behind.
      if cannotListen, database == nil, !directoryExisted { try? FileManager.default.removeItem(atPath: directory) }
      if text.contains("Address already in use") {
        throw InputError(status: .failure, message: "cannot listen on \(host):\(port): the port is in use (another lstore serve?); pick another with --port, or --port 0 for a free one")
      }
      if text.contains("UnknownHost") || text.contains("Cannot assign requested address") {
        throw InputError.usage("cannot listen on \(host):\(port): '\(host)' is not an address of this machine")
      }
      throw error
    }
  }
}
