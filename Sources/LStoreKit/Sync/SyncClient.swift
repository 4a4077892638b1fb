import Foundation

/// Push and pull for one replica over one transport: LiveStore's sync model, driven by hand.
/// Pull before you push; the backend keeps one total order; pending local events are
/// rebased on top of what was pulled.
public final class SyncClient {
  public let replica: Replica
  public let transport: SyncTransport

  /// Where commit records travel (a companion store of the same remote), when set.
  public var records: (transport: SyncTransport, storeId: String, identity: Replica.Identity)?

  /// Set when the replica is a branch other than main syncing with its own remote store
  /// (see `BranchUpstream`): that store may not have all of the branch's confirmed history
  /// yet, so push starts from what it has, and pull checks what it sends against it.
  public let upstream: BranchUpstream?

  public init(replica: Replica, transport: SyncTransport, upstream: BranchUpstream? = nil) {
    self.replica = replica
    self.transport = transport
    self.upstream = upstream
  }

  /// Exchanges commit records with the companion store: receives other clones' records
  /// for events this store has, and publishes this store's confirmed commits.
  /// Another store used as a remote exchanges commits with this one directly instead, in
  /// their commit tables (see `LocalStoreTransport.exchangeCommits`), for the events this
  /// client's syncs moved; records an older lstore published beside it are still received.
  public func exchangeRecords() async throws -> CommitRecordSync.Result? {
    guard let records else { return nil }
    guard upstream == nil, let store = transport as? LocalStoreTransport else {
      return try await CommitRecordSync.exchange(replica, storeId: records.storeId, transport: records.transport,
                                                 identity: records.identity)
    }
    let legacy = try await CommitRecordSync.receive(replica, storeId: records.storeId, transport: records.transport)
    var result = try store.exchangeCommits(with: replica, after: syncedFrom ?? (try replica.eventlog.backendHead()))
    result.received += legacy
    return result
  }

  /// The backend head before this client's first pull or push: the events after it are
  /// the ones its syncs moved.
  private var syncedFrom: Int64?

  private func noteSyncStart() throws {
    if syncedFrom == nil { syncedFrom = try replica.eventlog.backendHead() }
  }

  /// Pages until caught up, then integrates: confirms, applies, and rebases pending events
  /// (see `PullIntegration`). All in one transaction: a failure leaves the store unchanged,
  /// and a pending event that fails on replay leaves a stopped rebase (`Result.stopped`).
  public func pull(progress: ProgressHandler? = nil) async throws -> PullIntegration.Result {
    try useStoredBackendId()
    try noteSyncStart()
    let integration = try PullIntegration(replica: replica)
    do {
      var received = 0
      let start = try upstream.map { min(try $0.publishedHead(replica.eventlog), integration.cursor) } ?? integration.cursor
      try checkRemoteKeptHistory(at: start)
      // A network backend is asked from one event earlier, and must send back the event this
      // store last had confirmed, unchanged: a LiveStore 0.3 backend that was reset or
      // replaced has no id to tell it apart, and would otherwise look up to date (or hand
      // over the rest of another history). Stores used as remotes are checked above.
      var overlap: SeqNum? = checksOverlap(at: start) ? SeqNum(global: start) : nil
      var remoteHead = start
      try await transport.pull(after: overlap == nil ? start : start - 1) { page in
        let events = try takeOverlap(&overlap, from: page.events)
        // Events the branch has as confirmed history must be the same on its remote store.
        let shared = upstream == nil ? [] : events.prefix { $0.seqNum <= integration.cursor }
        for event in shared { try BranchUpstream.checkShared(event, in: replica.eventlog) }
        try integration.apply(Array(events.dropFirst(shared.count)))
        remoteHead = events.last?.seqNum ?? remoteHead
        received += events.count
        progress?(Progress(done: received, total: received + page.remaining, label: "pulling"))
      }
      if let expected = overlap { throw SyncError.backendLost(seqNum: expected.global, missing: true) }
      if let upstream { try upstream.setPublishedHead(max(remoteHead, start), replica.eventlog) }
      let result = try integration.finish()
      try keepBackendId()
      try markRemoteHistory()
      return result
    } catch {
      integration.abort()
      throw error
    }
  }

  public struct PushResult: Sendable {
    public var pushed = 0
    public var batches = 0
    public var backendHead: Int64 = 0
  }

  /// Sends the pending synced events in order, in batches. Client-only events are never
  /// pushed. When the backend is ahead, nothing changes locally and `SyncError.pushRejected`
  /// is thrown: pull first.
  public func push(progress: ProgressHandler? = nil) async throws -> PushResult {
    let stateHead = try replica.stateHead()
    let head = try replica.eventlog.head()
    guard stateHead == head else { throw StoreError.stateBehind(state: stateHead, eventlog: head) }
    try useStoredBackendId()
    try noteSyncStart()
    try await learnBackendIdBeforePush()
    var result = PushResult()
    let startHead = try replica.eventlog.backendHead()
    result.backendHead = startHead
    // A branch's remote store may lag its confirmed history (created from main's): that
    // part is sent first, and stays as it is locally (it is confirmed already).
    var cursor = try upstream.map { min(try $0.publishedHead(replica.eventlog), startHead) } ?? startHead
    try await checkBackendKeptBeforePush(cursor)
    try checkRemoteKeptHistory(at: cursor)
    let total = try replica.eventlog.pendingCount().synced + Int(startHead - cursor)
    // Each accepted push call is confirmed with the metadata the backend gave it. A crash
    // between the backend's ack and this confirmation only means the next push is refused
    // for events the backend already has; the next pull recognizes them as ours.
    while true {
      let batch = try replica.pushBatch(after: cursor, limit: transport.maxBatchSize)
      if batch.isEmpty { break }
      let remote = try batch.map(Self.remoteEvent)
      switch try await transport.push(remote) {
      case .accepted(let metadata):
        let last = remote.last!.seqNum
        if last > startHead {
          try replica.confirmPushed(from: max(cursor, startHead) + 1, through: last, metadata: metadata)
        }
        try upstream?.setPublishedHead(last, replica.eventlog)
        cursor = last
        result.pushed += remote.count
        result.batches += 1
        progress?(Progress(done: result.pushed, total: total, label: "pushing"))
      case .rejected(let reason, let backendHead):
        if let backendHead, backendHead < cursor {
          throw SyncError.remoteBehind(local: cursor, remote: backendHead)
        }
        // A branch's remote store ahead of it may hold another branch of the same name (a
        // pull would refuse it): say so now, not "pull first".
        if upstream != nil, cursor < startHead { try await checkSharedHistory(after: cursor, through: startHead) }
        throw SyncError.pushRejected(reason: reason, backendHead: backendHead)
      }
    }
    result.backendHead = cursor
    try markRemoteHistory()
    return result
  }

  /// Compares the remote's events after `cursor` through `through` with this branch's
  /// confirmed ones (`BranchUpstream.checkShared`): `SyncError.branchDiverged` at the first
  /// that differs.
  private func checkSharedHistory(after cursor: Int64, through: Int64) async throws {
    struct Done: Error {}
    do {
      try await transport.pull(after: cursor) { page in
        for event in page.events {
          if event.seqNum > through { throw Done() }
          try BranchUpstream.checkShared(event, in: replica.eventlog)
        }
      }
    } catch is Done {}
  }

  /// How the user named the remote (`../hub`, `origin`), for advice in errors; nil for the
  /// default remote.
  public var remoteArgument: String?

  /// Refuses a remote that no longer holds, through `position`, the events this store
  /// synced with it: pulling after them would apply the rest of a rewritten history (this
  /// store's own events twice, others missing), and pushing would continue a history the
  /// remote no longer has. Compared as far back as the remote's history could have changed
  /// since the last sync (`HistoryMark`); at least the event at `position`.
  func checkRemoteKeptHistory(at position: Int64) throws {
    guard position > 0, let backend = transport as? RewritableBackend else { return }
    let mark = try replica.eventlog.meta(backend.historyKey).flatMap(HistoryMark.init)
    let unchanged = try mark.map { try backend.unchangedThrough(since: $0) } ?? 0
    var compared = max(0, min(unchanged, position - 1))
    while compared < position {
      compared += 1
      guard let local = try replica.eventlog.event(at: SeqNum(global: compared)) else { continue }
      guard let remote = try backend.event(at: compared) else {
        throw SyncError.remoteRewritten(seqNum: compared, missing: true, synced: mark != nil, remote: remoteArgument)
      }
      guard remote.isEncoded(like: local) else {
        throw SyncError.remoteRewritten(seqNum: compared, missing: false, synced: mark != nil, remote: remoteArgument)
      }
    }
  }

  /// Whether a network backend is checked for the event this store last had confirmed by
  /// it (see `pull`): stores used as remotes are checked by their history instead. For a
  /// branch, `head` is how far its remote store is known to hold it (`BranchUpstream`).
  private func checksOverlap(at head: Int64) -> Bool {
    head > 0 && !(transport is RewritableBackend)
  }

  /// Before a push: the backend must still hold, unchanged, the event it confirmed last, or
  /// the push would continue (or, with nothing to push, call up to date) a history it no
  /// longer has. One page of a pull, from one event before.
  private func checkBackendKeptBeforePush(_ head: Int64) async throws {
    guard checksOverlap(at: head) else { return }
    struct Checked: Error {}
    do {
      try await transport.pull(after: head - 1) { page in
        guard let first = page.events.first else { return }
        try checkBackendKept(SeqNum(global: head), first: first)
        throw Checked()
      }
    } catch is Checked {
      return
    }
    throw SyncError.backendLost(seqNum: head, missing: true)
  }

  /// A page of a pull asked from one event before `overlap`: until the first event has
  /// been checked (`checkBackendKept`) and left out, `overlap` stays set; the rest of the
  /// page is returned.
  private func takeOverlap(_ overlap: inout SeqNum?, from events: [RemoteEvent]) throws -> ArraySlice<RemoteEvent> {
    guard let expected = overlap, let first = events.first else { return events[...] }
    try checkBackendKept(expected, first: first)
    overlap = nil
    return events.dropFirst()
  }

  /// The first event a network backend sent from one before `expected`: it must be this
  /// store's confirmed `expected`, unchanged.
  private func checkBackendKept(_ expected: SeqNum, first: RemoteEvent) throws {
    guard first.seqNum == expected.global else { throw SyncError.backendLost(seqNum: expected.global, missing: true) }
    guard let local = try replica.eventlog.event(at: expected), first.isEncoded(like: local) else {
      throw SyncError.backendLost(seqNum: expected.global, missing: false)
    }
  }

  /// After a sync: how far the remote's history now stands, for the next check.
  func markRemoteHistory() throws {
    guard let backend = transport as? RewritableBackend else { return }
    try replica.eventlog.setMeta(backend.historyKey, try backend.historyMark().text)
  }

  /// Hands the transport the backend id the store holds (LiveStore 0.4 remotes), so pushes
  /// and pull cursors carry it and another backend is refused. A branch other than main
  /// syncs with a store id of its own, whose backend id the store does not keep: there the
  /// transport learns it.
  func useStoredBackendId() throws {
    guard let transport = identifiedTransport else { return }
    transport.setBackendId(try replica.eventlog.backendId())
  }

  /// The transport, when its backend has an id this store keeps.
  private var identifiedTransport: BackendIdentifiedTransport? {
    guard upstream == nil, let transport = transport as? BackendIdentifiedTransport, transport.hasBackendIds else { return nil }
    return transport
  }

  /// Keeps the id the transport knows after a pull (learned on the first one), as LiveStore
  /// 0.4 keeps it in `__livestore_sync_status.backendId` (format 4 has nowhere to keep it).
  func keepBackendId() throws {
    guard let transport = identifiedTransport, let id = transport.backendId else { return }
    try replica.eventlog.setBackendId(id)
  }

  /// Before a push to a backend whose id the store does not know yet (it never pulled from
  /// it): learns the id from the first page of a pull (nothing of it is applied; a backend
  /// that is ahead refuses the push anyway), so that a later pull from another backend is
  /// told apart instead of being taken for this one. A push's answer carries no id.
  func learnBackendIdBeforePush() async throws {
    guard let transport = identifiedTransport, transport.backendId == nil else { return }
    struct Learned: Error {}
    do {
      try await transport.pull(after: try replica.eventlog.backendHead()) { _ in throw Learned() }
    } catch is Learned {}
    try keepBackendId()
  }

  static func remoteEvent(_ record: EventRecord) throws -> RemoteEvent {
    RemoteEvent(seqNum: record.seqNum.global, parentSeqNum: record.parentSeqNum.global, name: record.name,
                args: try JSONParser.parse(record.argsJSON), clientId: record.clientId, sessionId: record.sessionId)
  }
}

extension Replica {
  /// Up to `limit` synced events after global `after`, in order.
  func pushBatch(after: Int64, limit: Int) throws -> [EventRecord] {
    var batch: [EventRecord] = []
    try eventlog.forEach(after: SeqNum(global: after, client: .max)) { row in
      if row.seqNum.isClientOnly { return true }
      batch.append(row.record)
      return batch.count < limit
    }
    return batch
  }
}

extension SyncClient {
  /// After a pull, keeps applying live updates (or polling, for transports without them)
  /// until the task is cancelled. Each update is integrated in its own transaction.
  public func follow(pollInterval: Duration = .seconds(2), onUpdate: (PullIntegration.Result) throws -> Void) async throws {
    if let live = transport as? LiveSyncTransport {
      try useStoredBackendId()
      let cursor = try replica.eventlog.backendHead()
      // As a pull does: from one event before, which must be the backend's last confirmed
      // one, unchanged. So again after the transport reconnected by itself: its first page
      // then begins with the last event it had delivered (`PullPage.resumedAt`).
      // (A branch's remote store may not hold its confirmed history yet: a pull checks it.)
      var overlap: SeqNum? = upstream == nil && checksOverlap(at: cursor) ? SeqNum(global: cursor) : nil
      try await live.follow(after: overlap == nil ? cursor : cursor - 1) { page in
        if let resumed = page.resumedAt, checksOverlap(at: resumed) { overlap = SeqNum(global: resumed) }
        let events = try takeOverlap(&overlap, from: page.events)
        // Caught up without the event to check: the backend no longer has it.
        if let expected = overlap, page.remaining == 0 { throw SyncError.backendLost(seqNum: expected.global, missing: true) }
        guard !events.isEmpty else { return }
        let integration = try PullIntegration(replica: replica)
        do {
          // Events the store already has (a page that overlaps a previous pull) are skipped.
          let fresh = events.filter { $0.seqNum > integration.cursor }
          try integration.apply(fresh)
          try onUpdate(try integration.finish())
        } catch {
          integration.abort()
          throw error
        }
      }
      return
    }
    while !Task.isCancelled {
      try await Task.sleep(for: pollInterval)
      let result = try await pull()
      if result.pulled > 0 { try onUpdate(result) }
    }
  }
}

/// A transport that can push live updates (the WebSocket protocol's broadcasts).
public protocol LiveSyncTransport: SyncTransport {
  func follow(after cursor: Int64, onPage: (PullPage) throws -> Void) async throws
}
