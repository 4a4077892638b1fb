import Foundation
import LStoreSQLite

/// How a branch other than main syncs: with a remote store of its own, at
/// `CompanionStores.branch(of:named:)`, which holds the branch's whole history (LiveStore's
/// protocol has one total order per store, starting at e1), so that main's store on the
/// backend never receives a branch's events.
///
/// A branch created locally starts with main's confirmed history: confirmed (the backend
/// head copied from main), but not yet in the branch's own store. Its eventlog keeps how far
/// that store is known to hold the branch (`upstream.head`, ≤ the backend head) and the
/// branch's name there (`upstream.branch`, kept across a local rename). The first push sends
/// the shared history too; a pull checks that what the store sends for confirmed events is
/// what the branch has.
public struct BranchUpstream: Sendable {
  static let nameKey = "upstream.branch"
  static let headKey = "upstream.head"

  /// The branch's name on the remote.
  public let name: String

  /// The upstream of `branch` (nil for main, which syncs with the app's own store id).
  public static func of(_ eventlog: Eventlog, branch: String) throws -> BranchUpstream? {
    guard branch != Store.syncedBranch else { return nil }
    return BranchUpstream(name: try eventlog.meta(nameKey) ?? branch)
  }

  /// Before a branch's first sync: a branch made by an lstore without branch stores copied
  /// main's commit-record cursors, which describe main's records store, not this branch's.
  public func prepareFirstSync(_ eventlog: Eventlog) throws {
    guard try eventlog.meta(Self.headKey) == nil, eventlog.hasLStoreRecords else { return }
    try eventlog.connection.cached("DELETE FROM \(eventlog.schemaName.quotedIdentifier).lstore_meta WHERE key IN (?, ?)")
      .execute([.text(CommitRecordSync.headKey), .text(CommitRecordSync.publishedKey)])
  }

  /// The remote store this branch syncs with, for the app's store id `storeId`.
  public func storeId(for storeId: String) -> String { CompanionStores.branch(of: storeId, named: name) }

  /// How many events the remote store is known to hold: 0 until the first push or pull.
  public func publishedHead(_ eventlog: Eventlog) throws -> Int64 {
    Int64(try eventlog.meta(Self.headKey) ?? "") ?? 0
  }

  func setPublishedHead(_ head: Int64, _ eventlog: Eventlog) throws {
    try eventlog.setMeta(Self.nameKey, name)
    try eventlog.setMeta(Self.headKey, String(head))
  }

  /// Records that `eventlog`'s branch tracks the remote branch `name`, whose store holds
  /// its first `head` events.
  public static func track(_ eventlog: Eventlog, name: String, head: Int64) throws {
    try BranchUpstream(name: name).setPublishedHead(head, eventlog)
  }

  /// A pulled event at a position the branch has confirmed must be the same event.
  static func checkShared(_ event: RemoteEvent, in eventlog: Eventlog) throws {
    let local = try eventlog.event(at: SeqNum(global: event.seqNum, client: 0))
    guard let local, event.isEncoded(like: local) else { throw SyncError.branchDiverged(seqNum: event.seqNum) }
  }
}

/// The remote's list of branches: `lstore.Branch` events on a companion store of the app's
/// store id (`CompanionStores.branches(of:)`), one per published branch, so that another
/// clone's `branch -r` and `switch` find them.
public enum RemoteBranchIndex {
  public static let eventName = "lstore.Branch"

  /// The branch names published for `storeId` and not deleted since, in the order they
  /// were published.
  public static func names(storeId: String, transport: SyncTransport) async throws -> (names: [String], head: Int64) {
    var names: [String] = []
    var head: Int64 = 0
    try await transport.pull(after: 0) { page in
      for event in page.events where event.name == eventName && event.args?["store"]?.stringValue == storeId {
        guard let name = event.args?["name"]?.stringValue else { continue }
        if event.args?["deleted"] == .bool(true) {
          names.removeAll { $0 == name }
        } else if !names.contains(name) {
          names.append(name)
        }
      }
      head = page.events.last?.seqNum ?? head
    }
    return (names, head)
  }

  /// Takes `name` off the list (`push --delete`): the list is a store of events, so a
  /// deletion is one more record. The branch's own store keeps its events; pushing the
  /// branch again lists it again.
  public static func unpublish(_ name: String, storeId: String, transport: SyncTransport,
                               identity: Replica.Identity) async throws -> [String] {
    for _ in 0..<2 {
      let (names, head) = try await Self.names(storeId: storeId, transport: transport)
      guard names.contains(name) else { throw StoreError.notFound("no branch '\(name)' on the remote (see 'lstore branch -r')") }
      let event = RemoteEvent(seqNum: head + 1, parentSeqNum: head, name: eventName,
                              args: ["store": .string(storeId), "name": .string(name), "deleted": .bool(true)],
                              clientId: identity.clientId, sessionId: identity.sessionId)
      if case .accepted = try await transport.push([event]) { return names.filter { $0 != name } }
    }
    throw StoreError.busy("the remote's branch list changed while deleting '\(name)'; try again")
  }

  /// Adds `name` to the index unless it is there (a second clone publishing the same name
  /// at the same time is retried once after reading the index again).
  public static func publish(_ name: String, storeId: String, transport: SyncTransport,
                             identity: Replica.Identity) async throws -> [String] {
    for _ in 0..<2 {
      let (names, head) = try await Self.names(storeId: storeId, transport: transport)
      if names.contains(name) { return names }
      let event = RemoteEvent(seqNum: head + 1, parentSeqNum: head, name: eventName,
                              args: ["store": .string(storeId), "name": .string(name),
                                     "branchStore": .string(CompanionStores.branch(of: storeId, named: name))],
                              clientId: identity.clientId, sessionId: identity.sessionId)
      if case .accepted = try await transport.push([event]) { return names + [name] }
    }
    return try await Self.names(storeId: storeId, transport: transport).names
  }

  /// Where a remote branch and the local main branch part: the last position, up to main's
  /// confirmed head, at which the remote branch's store holds the same events as main.
  /// A branch fetched from the remote starts as a copy of main there.
  public static func forkPoint(ofRemoteBranch transport: SyncTransport, main: Eventlog) async throws -> Int64 {
    struct Parted: Error {}
    let confirmed = try main.backendHead()
    var fork: Int64 = 0
    do {
      try await transport.pull(after: 0) { page in
        for event in page.events {
          guard event.seqNum <= confirmed, (try? BranchUpstream.checkShared(event, in: main)) != nil else { throw Parted() }
          fork = event.seqNum
        }
      }
    } catch is Parted {}
    return fork
  }
}

/// What this clone knows of the remote's branches (`.lstore/remote-branches.json`): names
/// from the last push or pull, and the heads it saw. git's remote-tracking refs, without the
/// events: switching to one fetches them.
extension Store {
  public struct RemoteBranch: Sendable, Equatable {
    public var remote: String
    public var name: String
    /// The head of its remote store when this clone last pushed or pulled it.
    public var head: Int64?
  }

  var remoteBranchesPath: String { (directory as NSString).appendingPathComponent("remote-branches.json") }

  public func remoteBranches() throws -> [RemoteBranch] {
    guard let data = FileManager.default.contents(atPath: remoteBranchesPath), !data.isEmpty else { return [] }
    let value = try JSONParser.parse(String(decoding: data, as: UTF8.self))
    var result: [RemoteBranch] = []
    for (remote, branches) in value["remotes"]?.objectValue ?? JSONObject() {
      for (name, info) in branches.objectValue ?? JSONObject() {
        var head: Int64?
        if case .integer(let value)? = info["head"] { head = value }
        result.append(RemoteBranch(remote: remote, name: name, head: head))
      }
    }
    return result.sorted { ($0.remote, $0.name) < ($1.remote, $1.name) }
  }

  /// Records the remote's branch names (replacing the list for `remote`) and heads seen.
  public func recordRemoteBranches(remote: String, names: [String], heads: [String: Int64]) throws {
    var known = try remoteBranches()
    let previous = Dictionary(known.filter { $0.remote == remote }.map { ($0.name, $0.head) }, uniquingKeysWith: { a, _ in a })
    known.removeAll { $0.remote == remote }
    // main is not in the remote's branch list (it is the store id itself), but is kept.
    let keptMain = previous.keys.contains(Self.syncedBranch) ? [Self.syncedBranch] : []
    for name in Set(names).union(heads.keys).union(keptMain) {
      known.append(RemoteBranch(remote: remote, name: name, head: heads[name] ?? previous[name] ?? nil))
    }
    var remotes = JSONObject()
    for branch in known.sorted(by: { ($0.remote, $0.name) < ($1.remote, $1.name) }) {
      var branches = remotes[branch.remote]?.objectValue ?? JSONObject()
      branches[branch.name] = ["head": branch.head.map { .integer($0) } ?? .null]
      remotes[branch.remote] = .object(branches)
    }
    let value: JSONValue = ["remotes": .object(remotes)]
    try FileSync.write(Data((value.compactText + "\n").utf8), to: remoteBranchesPath)
  }

  /// Creates local branch `name` to track the remote branch of the same name: a copy of
  /// main at `fork` (where they part), whose remote store holds those events; the caller
  /// then pulls the rest into it.
  public func createTrackingBranch(_ name: String, fork: Int64, schema: Schema, now: String) throws {
    let main = branch == Self.syncedBranch ? self : try onBranch(Self.syncedBranch)
    try main.createBranch(name, at: SeqNum(global: fork, client: 0), schema: schema, now: now)
    let created = try onBranch(name)
    try BranchUpstream.track(try created.openEventlog(readOnly: false), name: name, head: fork)
  }
}
