import ArgumentParser
import Foundation
import LStoreKit
import LStoreRemote

/// How push and pull find their backend and authenticate.
struct RemoteOptions: ParsableArguments {
  @Argument(help: ArgumentHelp(
    "A remote name, or a URL (ws://, http://) or store path (default: the default remote).", valueName: "remote"))
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
      return (chosen, config.url, storeId ?? config.storeId ?? store.config.storeId)
    }
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
  func withSyncClient<T>(_ global: GlobalOptions, live: Bool = false, branch: String? = nil, publishBranch: Bool = false,
                         _ body: (SyncClient) async throws -> T) async throws -> T {
    var store = try global.openStore()
    if let branch, branch != store.branch { store = try store.onBranch(branch) }
    let (remoteName, location, storeId) = try resolve(in: store)
    let replica = try store.openReplica(schema: try store.loadSchema(), now: Clock.now())
    try Rebase.refuseIfInProgress(replica.eventlog, branch: store.branch)
    let upstream = try BranchUpstream.of(replica.eventlog, branch: store.branch)
    try upstream?.prepareFirstSync(replica.eventlog)
    let targetId = upstream?.storeId(for: storeId) ?? storeId
    let payload = try payload()
    let transport = upstream == nil
      ? try await Transports.open(location: location, storeId: storeId, payload: payload, now: Clock.now(),
                                  localEventlog: store.eventlogPath, live: live)
      : try await Transports.openCompanion(location: location, storeId: targetId, payload: payload, now: Clock.now(), live: live)
    var companions: [SyncTransport] = []
    func closeAll() async {
      await transport.close()
      for companion in companions { await companion.close() }
    }
    do {
      let identity = Replica.Identity(clientId: store.config.clientId, sessionId: store.config.sessionId)
      let client = SyncClient(replica: replica, transport: transport, upstream: upstream)
      // Commit records travel on a companion store id, never on the app's own.
      let records = try await Transports.openCompanion(location: location, storeId: CompanionStores.records(of: targetId),
                                                       payload: payload, now: Clock.now())
      companions.append(records)
      client.records = (records, targetId, identity)
      let result = try await body(client)
      let index = try await Transports.openCompanion(location: location, storeId: CompanionStores.branches(of: storeId),
                                                     payload: payload, now: Clock.now())
      companions.append(index)
      let names = if let upstream, publishBranch {
        try await RemoteBranchIndex.publish(upstream.name, storeId: storeId, transport: index, identity: identity)
      } else {
        try await RemoteBranchIndex.names(storeId: storeId, transport: index).names
      }
      let head = try upstream?.publishedHead(replica.eventlog) ?? replica.eventlog.backendHead()
      try store.recordRemoteBranches(remote: remoteName ?? location, names: names,
                                     heads: [upstream?.name ?? Store.syncedBranch: head])
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
    let index = try await Transports.openCompanion(location: location, storeId: CompanionStores.branches(of: storeId),
                                                   payload: try payload(), now: Clock.now())
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

enum RemoteLocation {
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
