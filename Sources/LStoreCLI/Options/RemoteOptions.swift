import ArgumentParser
import Foundation
import LStoreKit
import LStoreRemote

/// How push and pull find their backend and authenticate.
struct RemoteOptions: ParsableArguments {
  @Argument(help: ArgumentHelp(
    "A remote name, or a URL (ws://, http://) or store path (default: the default remote).", valueName: "remote"),
            completion: Completions.remotes)
  var remote: String?

  @Option(name: .customLong("store-id"), help: "The storeId on the backend (default: the remote's, else this store's).")
  var storeId: String?

  @Option(name: .customLong("auth-token"), help: ArgumentHelp(
    "Sent as the connect payload {\"authToken\": …}. Prefer LSTORE_AUTH_TOKEN or --auth-file: command lines are visible to other users.",
    valueName: "token"))
  var authToken: String?

  @Option(name: .customLong("auth-file"), help: ArgumentHelp(
    "A file holding the token, or a JSON object used as the whole connect payload.", valueName: "path"),
    completion: .file())
  var authFile: String?

  /// The connect payload: `--auth-file`, `--auth-token`, `LSTORE_SYNC_PAYLOAD` (JSON),
  /// `LSTORE_AUTH_TOKEN`, in that order; nil when none is given. Never printed.
  func payload(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> JSONValue? {
    if let authFile {
      guard let data = FileManager.default.contents(atPath: authFile),
            let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines) else {
        throw InputError.notFound("cannot read the auth file \(authFile)")
      }
      if text.hasPrefix("{") {
        do { return try JSONParser.parse(text) } catch { throw InputError.invalid("the auth file \(authFile) is not valid JSON") }
      }
      return ["authToken": .string(text)]
    }
    if let authToken { return ["authToken": .string(authToken)] }
    if let json = environment["LSTORE_SYNC_PAYLOAD"], !json.isEmpty {
      do { return try JSONParser.parse(json) } catch { throw InputError.invalid("LSTORE_SYNC_PAYLOAD is not valid JSON") }
    }
    if let token = environment["LSTORE_AUTH_TOKEN"], !token.isEmpty { return ["authToken": .string(token)] }
    return nil
  }

  /// The remote to use: a configured name, or a URL/path given directly.
  func resolve(in store: Store) throws -> (name: String?, location: String, storeId: String) {
    let chosen = remote ?? store.config.defaultRemote
    guard let chosen else {
      throw InputError.usage("no remote given and no default remote; add one with 'lstore remote add origin ws://127.0.0.1:8787'")
    }
    if let config = store.config.remotes?[chosen] {
      try RemoteLocation.checkScheme(config.url)
      return (chosen, config.url, storeId ?? config.storeId ?? store.config.storeId)
    }
    try RemoteLocation.checkScheme(chosen)
    guard RemoteLocation.looksLikeLocation(chosen) else {
      throw StoreError.notFound("no remote named '\(chosen)' (see 'lstore remote list')")
    }
    return (nil, RemoteLocation.normalize(chosen, relativeTo: FileManager.default.currentDirectoryPath), storeId ?? store.config.storeId)
  }
}

extension RemoteOptions {
  /// Opens the store's replica and a transport to the chosen remote, runs `body` with a sync
  /// client over them, and closes the transport whatever happens.
  func withSyncClient<T>(_ global: GlobalOptions, live: Bool = false, _ body: (SyncClient) async throws -> T) async throws -> T {
    let store = try global.openStore()
    // The command line first (a usage error whatever the store's state), then the state.
    let (_, location, storeId) = try resolve(in: store)
    guard Identifiers.isValidStoreID(storeId) else { throw StoreError.invalidStoreId(storeId) }
    // A branch has no remote store of its own yet: syncing it through the store's id would
    // send its events to main's backend store, where main would then rebase on them.
    try store.checkBranchSyncs()
    let replica = try store.openReplica(schema: try store.loadSchema(), now: Clock.now())
    try Rebase.refuseIfInProgress(replica.eventlog, branch: store.branch)
    // A following pull reconnects by itself; the user is told, or a dropped connection
    // would look like a quiet backend. Written with one write(2) each: this runs on the
    // client's connection task, not the main one.
    let quiet = global.quiet
    let onConnectionChange: @Sendable (ConnectionChange) -> Void = { change in
      guard !quiet else { return }
      let line = change == .lost ? "Connection to \(location) lost; reconnecting…\n" : "Reconnected to \(location); catching up\n"
      FileHandle.standardError.write(Data(line.utf8))
    }
    let transport = try await Transports.open(location: location, storeId: storeId, payload: try payload(), now: Clock.now(),
                                              localEventlog: store.eventlogPath, live: live,
                                              onConnectionChange: live ? onConnectionChange : nil)
    var companion: SyncTransport? = nil
    do {
      let client = SyncClient(replica: replica, transport: transport)
      // Commit records travel on a companion store id, never on the app's own.
      let recordsId = CompanionStores.records(of: storeId)
      let opened = try await Transports.openCompanion(location: location, storeId: recordsId, payload: try payload(),
                                                      now: Clock.now())
      companion = opened
      client.records = (opened, storeId, Replica.Identity(clientId: store.config.clientId, sessionId: store.config.sessionId))
      let result = try await body(client)
      await transport.close()
      await companion?.close()
      return result
    } catch {
      await transport.close()
      await companion?.close()
      throw error
    }
  }
}

enum RemoteLocation {
  static let schemes = ["ws", "wss", "http", "https", "file"]

  /// A URL whose scheme lstore does not speak, or with no host or an impossible port, is a
  /// usage error (64), not an unreachable remote: no retry will help, the command line has
  /// to change.
  static func checkScheme(_ text: String) throws {
    guard let range = text.range(of: "://") else { return }
    let scheme = text[..<range.lowerBound].lowercased()
    guard schemes.contains(scheme) else {
      throw InputError.usage("'\(text)' is not a remote lstore can use: give ws://host:port, http://host:port (or wss://, https://) or a path to another store")
    }
    guard scheme != "file" else { return }
    // A network URL needs a host, and a port a socket can have.
    let components = URLComponents(string: text)
    guard let host = components?.host, !host.isEmpty else {
      throw InputError.usage("'\(text)' has no host: give \(scheme)://host:port, e.g. \(scheme)://127.0.0.1:8787")
    }
    if let port = components?.port, !(1...65_535).contains(port) {
      throw InputError.usage("'\(text)': port \(port) is not between 1 and 65535")
    }
  }

  static func looksLikeLocation(_ text: String) -> Bool {
    text.contains("://") || text.hasPrefix("/") || text.hasPrefix(".") || FileManager.default.fileExists(atPath: text)
  }

  /// URLs stay as given; paths become absolute so the remote works from any directory.
  static func normalize(_ text: String, relativeTo base: String) -> String {
    if text.contains("://") && !text.hasPrefix("file://") { return text }
    let path = text.hasPrefix("file://") ? String(text.dropFirst("file://".count)) : text
    return StoreLocator.absolute(path, relativeTo: base)
  }
}
