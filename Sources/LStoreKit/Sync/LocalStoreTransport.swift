import Foundation

/// Another store on disk used as a backend, for offline transfer (`lstore pull ../other`).
/// Its synced events (client part 0) are the backend's total order; a push appends to it
/// and materializes there, as if that store had committed the events.
public final class LocalStoreTransport: RewritableBackend {
  private let store: Store
  private let replica: Replica
  public let description: String
  public let maxBatchSize = 10_000

  /// Opens the store at exactly `path` (its `.lstore`, or that directory itself), never one
  /// found by searching upward: a remote must not silently become some other store.
  /// `localEventlog` is the pulling or pushing store's own eventlog, refused as a remote.
  public init(path: String, now: String, localEventlog: String? = nil) throws {
    let directory = path.hasSuffix(StoreLocator.directoryName) ? path : (path as NSString).appendingPathComponent(StoreLocator.directoryName)
    guard FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("config.json")) else {
      throw TransportError(.notFound, "no store at \(path) (expected \(directory))")
    }
    // Its main branch, which syncs (whichever branch it has checked out).
    store = try Store(directory: directory, branch: Store.syncedBranch)
    if let localEventlog, FileIdentity.same(store.eventlogPath, localEventlog) {
      throw TransportError(.unavailable, "\(path) is this store itself; a remote must be another store")
    }
    replica = try store.openReplica(schema: try store.loadSchema(), now: now)
    description = "store '\(store.config.storeId)' at \(store.workDirectory)"
  }

  /// The newest synced event of the other store.
  private func syncedHead() throws -> Int64 {
    try replica.connection.cached("SELECT max(seqNumGlobal) FROM log.eventlog WHERE seqNumClient = 0").first { $0.int64(0) } ?? 0
  }

  public func backendHead() async throws -> Int64? { try syncedHead() }

  public func pull(after cursor: Int64, onPage: (PullPage) throws -> Void) async throws {
    let head = try syncedHead()
    guard head >= cursor else { throw SyncError.remoteBehind(local: cursor, remote: head) }
    var after = cursor
    let pageSize = 1000
    repeat {
      var events: [RemoteEvent] = []
      try replica.eventlog.forEach(after: SeqNum(global: after, client: .max)) { row in
        if row.seqNum.isClientOnly { return true }
        events.append(try Self.remoteEvent(row.record))
        return events.count < pageSize
      }
      after = events.last?.seqNum ?? head
      try onPage(PullPage(events: events, remaining: Int(max(0, head - after))))
    } while after < head
  }

  public var historyKey: String { "pathRemote.\(store.config.clientId).\(store.directory)" }

  public func historyMark() throws -> HistoryMark {
    HistoryMark(settledHead: try replica.eventlog.backendHead(), reflogId: try reflogHead() ?? 0)
  }

  public func unchangedThrough(since mark: HistoryMark) throws -> Int64 {
    if let reflogHead = try reflogHead(), reflogHead >= mark.reflogId {
      // No head move since (a store that only takes pushes has no reflog table yet).
      guard reflogHead > mark.reflogId else { return .max }
      // Every rewrite lstore makes is a head move that removed events, journaled with the
      // position it kept events through (a pull's rebase, reset, rebase, amend, repair).
      // Its backend head is no guarantee: `pull --adopt-backend` there makes confirmed
      // events pending again, and a rewrite of them is journaled like any other.
      let lowest = try replica.connection.cached("SELECT min(baseGlobal) FROM log.lstore_reflog WHERE id > ? AND removed > 0")
        .first([.integer(mark.reflogId)]) { row -> Int64? in row.isNull(0) ? nil : row.int64(0) } ?? nil
      return lowest ?? .max
    }
    // No reflog to go by (a LiveStore app's own store, or a reflog that restarted): only
    // the events its backend had confirmed then, and has now, are final.
    return min(mark.settledHead, try replica.eventlog.backendHead())
  }

  /// The newest reflog entry's id; 0 for an lstore store that never moved its head (its
  /// reflog table is made with the first move), nil for an eventlog lstore does not keep.
  private func reflogHead() throws -> Int64? {
    guard try replica.connection.tableExists("lstore_reflog", schema: "log") else {
      return replica.eventlog.hasLStoreRecords ? 0 : nil
    }
    return try replica.connection.cached("SELECT coalesce(max(id), 0) FROM log.lstore_reflog").first { $0.int64(0) }
  }

  public func event(at seqNum: Int64) throws -> RemoteEvent? {
    try replica.eventlog.event(at: SeqNum(global: seqNum)).map(Self.remoteEvent)
  }

  /// A synced event of the other store as a backend sends it.
  private static func remoteEvent(_ record: EventRecord) throws -> RemoteEvent {
    let metadata = try JSONParser.parse(record.syncMetadataJSON)
    return RemoteEvent(seqNum: record.seqNum.global, parentSeqNum: record.parentSeqNum.global, name: record.name,
                       args: try JSONParser.parse(record.argsJSON), clientId: record.clientId,
                       sessionId: record.sessionId, metadata: metadata["_tag"] == "Some" ? metadata["value"] : nil)
  }

  public func push(_ batch: [RemoteEvent]) async throws -> PushOutcome {
    guard let first = batch.first else { return .accepted(metadata: nil) }
    return try replica.connection.transaction(.immediate) {
      let head = try syncedHead()
      guard first.parentSeqNum == head else {
        return .rejected(reason: "its head is e\(head), the batch continues from e\(first.parentSeqNum)", backendHead: head)
      }
      var current = try replica.eventlog.head()
      let stateHead = try replica.stateHead()
      guard stateHead == current else { throw StoreError.stateBehind(state: stateHead, eventlog: current) }
      // The whole batch is checked before anything is applied, so a refusal changes nothing.
      for (offset, event) in batch.enumerated() {
        let expected = head + 1 + Int64(offset)
        guard event.seqNum == expected, event.parentSeqNum == expected - 1 else {
          return .rejected(reason: "the batch is not contiguous at e\(event.seqNum)", backendHead: head)
        }
        guard let definition = replica.schema.event(named: event.name), !definition.clientOnly else {
          throw TransportError(.protocolViolation, "\(description) cannot take e\(event.seqNum) '\(event.name)': its schema does not define it as a synced event")
        }
      }
      for event in batch {
        let definition = replica.schema.event(named: event.name)!
        let args = try definition.args.normalize(event.args.flatMap { $0.isNull ? nil : $0 } ?? .object(JSONObject()))
        let record = EventRecord(seqNum: SeqNum(global: event.seqNum), parentSeqNum: SeqNum(global: event.parentSeqNum),
                                 name: event.name, argsJSON: event.argsJSON, clientId: event.clientId,
                                 sessionId: event.sessionId, schemaHash: definition.schemaHash)
        try replica.apply(record, definition: definition, args: args, pending: true)
        current = record.seqNum
      }
      try StateDatabase.writeHead(replica.connection, head: current)
      return .accepted(metadata: nil)
    }
  }

  public func close() async {}

  /// Commit records between this store and the other one, directly in their commit tables
  /// (the companion stores of a network remote are for backends that hold no commits): the
  /// other store's commits over events `local` has from it come to `local`, and `local`'s
  /// commits over events it has pushed there go to the other store, where its own `log`
  /// shows them. Only commits over synced positions after `after`, whose first and last
  /// synced events both stores hold alike, and that no commit on the receiving side
  /// overlaps.
  public func exchangeCommits(with local: Replica, after: Int64) throws -> CommitRecordSync.Result {
    var result = CommitRecordSync.Result()
    let confirmed = try local.eventlog.backendHead()
    guard confirmed > after else { return result }
    let from = SeqNum(global: after, client: .max)
    // The other store's commits over the events this store has from it (its own pending
    // events included: they are this store's confirmed ones).
    let theirs = try replica.eventlog.commitsOverSyncedEvents(after: from, through: confirmed)
    result.received = try Self.copy(theirs, from: replica.eventlog, to: local.eventlog)
    let ours = try local.eventlog.commitsOverSyncedEvents(after: from)
    result.published = try Self.copy(ours, from: local.eventlog, to: replica.eventlog)
    return result
  }

  /// Records `commits` of `source` in `target`, each whose first and last events `target`
  /// holds alike and that no commit there overlaps.
  private static func copy(_ commits: [Commit], from source: Eventlog, to target: Eventlog) throws -> Int {
    guard target.hasLStoreRecords else { return 0 }
    var copied = 0
    try target.connection.transaction(.immediate) {
      for commit in commits {
        guard try sameEvent(at: commit.first, source, target), try sameEvent(at: commit.last, source, target),
              try !target.commitExists(id: commit.id),
              try !target.hasCommit(overlapping: commit.first, through: commit.last) else { continue }
        try target.insert(commit)
        copied += 1
      }
    }
    return copied
  }

  private static func sameEvent(at seqNum: SeqNum, _ one: Eventlog, _ other: Eventlog) throws -> Bool {
    guard let a = try one.event(at: seqNum), let b = try other.event(at: seqNum) else { return false }
    return a.isEncoded(like: b)
  }
}
