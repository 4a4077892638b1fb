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

  @Option(name: .customLong("protocol"), help: ArgumentHelp(
    "The sync protocol: livestore-0.3 or livestore-0.4 (default: the remote's, else detected).", valueName: "protocol"))
  var syncProtocol: SyncProtocolVersion?

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

  /// The sync protocol for a network remote: `--protocol`, else the remote's config, else
  /// probed (`ProtocolProbe`) and, for a named remote, kept in its config so the probe runs
  /// once. When the probe cannot tell (nothing answers, or the auth payload is refused),
  /// 0.3, as before lstore spoke 0.4; nothing is kept. Nil for a path remote.
  func syncProtocol(store: Store, remoteName: String?, location: String, storeId: String, payload: JSONValue?) async throws
    -> SyncProtocolVersion?
  {
    if let syncProtocol { return syncProtocol }
    if let remoteName, let configured = store.config.remotes?[remoteName]?.protocol { return configured }
    guard let finding = await ProtocolProbe.probe(location: location, storeId: storeId, payload: payload,
                                                  preferred: .preferred(for: store.format)) else { return nil }
    guard case .found(let version) = finding else { return .liveStore03 }
    if let remoteName, store.config.remotes?[remoteName] != nil {
      try store.updateConfig { $0.remotes?[remoteName]?.protocol = version }
    }
    return version
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
  /// Opens the replica of the current branch (or of `branch`) and a transport to the remote
  /// store it syncs with, runs `body` with a sync client over them, and closes the
  /// transports whatever happens. main syncs with the app's store id; any other branch with
  /// a store of its own (`BranchUpstream`), so main's store never receives a branch's events.
  /// Afterwards the remote's branch list is read (and, with `publishBranch`, this branch
  /// added to it) for `branch -r` and `switch`.
  /// With `adoptBackend` (`pull --adopt-backend`), the store forgets the backend it synced
  /// with first (`Store.adoptNewBackend`), once the command line is known to be good.
  func withSyncClient<T>(_ global: GlobalOptions, live: Bool = false, branch: String? = nil, publishBranch: Bool = false,
                         adoptBackend: Bool = false, _ body: (SyncClient) async throws -> T) async throws -> T {
    var store = try global.openStore()
    if let branch, branch != store.branch { store = try store.onBranch(branch) }
    // The command line first (a usage error whatever the store's state), then the state.
    let (remoteName, location, storeId) = try resolve(in: store)
    guard Identifiers.isValidStoreID(storeId) else { throw StoreError.invalidStoreId(storeId) }
    let schema = try store.loadSchema()
    guard adoptBackend else {
      return try await withSyncClient(global, store: store, schema: schema, remoteName: remoteName, location: location,
                                      storeId: storeId, live: live, publishBranch: publishBranch, body)
    }
    try store.adoptNewBackend(schema: schema, now: Clock.now())
    let onMain = store.branch == Store.syncedBranch
    global.note(onMain ? "Forgot the previous backend: every synced event is pending until this backend confirms it"
                       : "Forgot what branch '\(store.branch)' had on the previous backend: the next push sends the branch whole")
    do {
      return try await withSyncClient(global, store: store, schema: schema, remoteName: remoteName, location: location,
                                      storeId: storeId, live: live, publishBranch: publishBranch, body)
    } catch {
      // What the error says was left as it was is, but the store forgot its backend first.
      guard let (status, message) = ExitStatus.classify(error) else { throw error }
      let again = "lstore pull" + (remote.map { " " + ShellQuoting.quoted($0) } ?? "")
      let forgotten = onMain ? "every synced event is pending" : "the next push sends the branch whole"
      throw InputError(status: status, message: message + " (the previous backend stays forgotten: \(forgotten); once this is fixed, '\(again)' goes on from there)")
    }
  }

  private func withSyncClient<T>(_ global: GlobalOptions, store: Store, schema: Schema, remoteName: String?, location: String,
                                 storeId: String, live: Bool, publishBranch: Bool,
                                 _ body: (SyncClient) async throws -> T) async throws -> T {
    let replica = try store.openReplica(schema: schema, now: Clock.now())
    try Rebase.refuseIfInProgress(replica.eventlog, branch: store.branch)
    let upstream = try BranchUpstream.of(replica.eventlog, branch: store.branch)
    try upstream?.prepareFirstSync(replica.eventlog)
    let targetId = upstream?.storeId(for: storeId) ?? storeId
    let payload = try payload()
    let version = try await syncProtocol(store: store, remoteName: remoteName, location: location, storeId: storeId,
                                         payload: payload)
    // A following pull reconnects by itself; the user is told, or a dropped connection
    // would look like a quiet backend. Written with one write(2) each: this runs on the
    // client's connection task, not the main one.
    let quiet = global.quiet
    let onConnectionChange: @Sendable (ConnectionChange) -> Void = { change in
      guard !quiet else { return }
      let line = change == .lost ? "Connection to \(location) lost; reconnecting…\n" : "Reconnected to \(location); catching up\n"
      FileHandle.standardError.write(Data(line.utf8))
    }
    let transport = upstream == nil
      ? try await Transports.open(location: location, storeId: storeId, payload: payload, now: Clock.now(),
                                  version: version, localEventlog: store.eventlogPath, live: live,
                                  onConnectionChange: live ? onConnectionChange : nil)
      : try await Transports.openCompanion(location: location, storeId: targetId, payload: payload, now: Clock.now(),
                                           version: version, live: live, onConnectionChange: live ? onConnectionChange : nil)
    var companions: [SyncTransport] = []
    func closeAll() async {
      await transport.close()
      for companion in companions { await companion.close() }
    }
    do {
      let identity = Replica.Identity(clientId: store.config.clientId, sessionId: store.config.sessionId)
      let client = SyncClient(replica: replica, transport: transport, upstream: upstream)
      client.remoteArgument = remote
      // Commit records travel on a companion store id, never on the app's own.
      let records = try await Transports.openCompanion(location: location, storeId: CompanionStores.records(of: targetId),
                                                       payload: payload, now: Clock.now(), version: version)
      companions.append(records)
      client.records = (records, targetId, identity)
      let result = try await body(client)
      let index = try await Transports.openCompanion(location: location, storeId: CompanionStores.branches(of: storeId),
                                                     payload: payload, now: Clock.now(), version: version)
      companions.append(index)
      let names = if let upstream, publishBranch {
        try await RemoteBranchIndex.publish(upstream.name, storeId: storeId, transport: index, identity: identity)
      } else {
        try await RemoteBranchIndex.names(storeId: storeId, transport: index).names
      }
      let head = try upstream?.publishedHead(replica.eventlog) ?? replica.eventlog.backendHead()
      // A branch taken off the remote's list (`push --delete`) stays off it when pulled.
      let name = upstream?.name ?? Store.syncedBranch
      let listed = upstream == nil || names.contains(name)
      try store.recordRemoteBranches(remote: remoteName ?? location, names: names, heads: listed ? [name: head] : [:])
      await closeAll()
      return result
    } catch {
      await closeAll()
      throw error
    }
  }
}

extension RemoteOptions {
  /// `push --delete <branch>`: takes the branch off the remote's list, and off what this
  /// store knows of it.
  func deleteRemoteBranch(_ name: String, _ global: GlobalOptions) async throws {
    let store = try global.openStore()
    let (remoteName, location, storeId) = try resolve(in: store)
    let payload = try payload()
    let version = try await syncProtocol(store: store, remoteName: remoteName, location: location, storeId: storeId,
                                         payload: payload)
    let index = try await Transports.openCompanion(location: location, storeId: CompanionStores.branches(of: storeId),
                                                   payload: payload, now: Clock.now(), version: version)
    do {
      let identity = Replica.Identity(clientId: store.config.clientId, sessionId: store.config.sessionId)
      let names = try await RemoteBranchIndex.unpublish(name, storeId: storeId, transport: index, identity: identity)
      try store.recordRemoteBranches(remote: remoteName ?? location, names: names, heads: [:])
      await index.close()
    } catch {
      await index.close()
      throw error
    }
  }
}

extension SyncProtocolVersion: ExpressibleByArgument {
  /// The protocol of the LiveStore version whose storage format the store has, taken when
  /// a backend speaks both.
  static func preferred(for format: StorageFormat) -> SyncProtocolVersion { format == .v4 ? .liveStore03 : .liveStore04 }
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
    try Transports.refuseQuery(in: text)
  }

  static func isNetwork(_ location: String) -> Bool {
    let lower = location.lowercased()
    return ["ws://", "wss://", "http://", "https://"].contains { lower.hasPrefix($0) }
  }

  /// A remote's protocol as `remote -v` and `status` show it.
  static func protocolLabel(_ remote: StoreConfig.RemoteConfig) -> String {
    guard isNetwork(remote.url) else { return "store on disk" }
    return remote.protocol?.rawValue ?? "not detected yet (asked on first use)"
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
