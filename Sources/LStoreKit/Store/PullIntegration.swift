import LStoreSQLite

/// Integrates pulled events into a replica, in one transaction, by LiveStore's merge rules
/// (format spec §6.4, `upstream-advance` with client events ignored):
///
/// - pulled events that equal the pending events at the same position confirm them (their
///   sync metadata is recorded);
/// - at the first pulled event that differs, the pending events from there on are rolled
///   back with their changesets (newest first), the pulled events are applied, and the
///   rolled-back events are replayed after the new head by the rebase engine (renumbered:
///   synced `head+1…`, client-only `(g, c+1)`), keeping their commits and messages.
///
/// The pending events are saved in a reflog entry first, so the pull is one head move that
/// `reset` and `rebase --abort` understand. Nothing is visible until `finish()`; a pulled
/// event that cannot be applied rolls everything back. A pending event that fails on top of
/// the pulled events does not: the pull is kept and the replay stops as a rebase (kind
/// `pull`) that `status` shows and `rebase --continue`, `--skip` or `--abort` resolves.
public final class PullIntegration {
  public struct Result: Sendable {
    public var pulled = 0
    public var confirmed = 0
    public var rebased = 0
    /// Pending events left out of the replay because the pulled events hold them already
    /// (a store used as a remote that renumbered them).
    public var alreadyOnRemote = 0
    public var head = SeqNum.root
    public var backendHead: Int64 = 0
    /// Old → new sequence numbers of rebased events.
    public var renumbered = Renumbering()
    /// Set when replaying the pending events stopped: the pull is kept, a rebase is in
    /// progress.
    public var stopped: RebaseState.Stop?
  }

  private let replica: Replica
  /// How many events were pending when the pull began (all saved in its reflog entry, where
  /// the replay reads them back: none is held in memory).
  private var pendingCount = 0
  private var diverged = false
  private var backendHead: Int64
  private var result = Result()
  private var open = true
  private let time: () -> String
  private var originalHead = SeqNum.root
  private var originalBackendHead: Int64 = 0
  /// The sync cursors before the pull, which `rebase --abort` of a stopped pull restores.
  private var syncCursorsBefore: [String: String] = [:]
  /// The reflog entry of this pull, which saved the pending events.
  private var entryId: Int64 = 0
  /// Where the pending events were cut at the divergence.
  private var divergenceBase = SeqNum.root

  public init(replica: Replica, time: @escaping () -> String = ISODate.now) throws {
    self.replica = replica
    self.time = time
    try replica.connection.execute("BEGIN IMMEDIATE")
    do {
      backendHead = try replica.eventlog.backendHead()
      originalBackendHead = backendHead
      pendingCount = try replica.eventlog.count(after: SeqNum.confirmedBoundary(backendHead: backendHead))
      let stateHead = try replica.stateHead()
      let head = try replica.eventlog.head()
      guard stateHead == head else { throw StoreError.stateBehind(state: stateHead, eventlog: head) }
      try Rebase.refuseIfInProgress(replica.eventlog, branch: "this")
      originalHead = head
      syncCursorsBefore = try RebaseState.syncCursors(of: replica.eventlog)
      // Saved before anything changes: undoing the pull truncates to the confirmed boundary
      // and puts these back, exactly as they were.
      let boundary = SeqNum.confirmedBoundary(backendHead: backendHead)
      entryId = try replica.openReflogEntry(note: HeadMoveNote(action: "pull", message: "pull", time: time()),
                                            base: pendingCount == 0 ? head : boundary, oldHead: head,
                                            oldBackendHead: backendHead)
      if pendingCount > 0 { try replica.saveEvents(after: boundary, entry: entryId) }
    } catch {
      try? replica.connection.execute("ROLLBACK")
      open = false
      throw error
    }
  }

  deinit { if open { try? replica.connection.execute("ROLLBACK") } }

  /// The cursor to pull after: the backend head as this store knows it.
  public var cursor: Int64 { backendHead }

  /// Applies one page of pulled events, in order. Until the pull diverges, `SyncState.merge`
  /// decides what the page does (the pending events it meets are read for it, one page's
  /// worth); this executes it: confirmations, the undoing of pending events from the first
  /// difference on, and the new events.
  public func apply(_ events: [RemoteEvent]) throws {
    // Stricter than LiveStore's merge, which lets equal or skipped numbers through: a page
    // continues the backend head exactly.
    var head = backendHead
    for event in events {
      guard event.seqNum == head + 1, event.parentSeqNum == head else {
        throw SyncError.outOfOrder(expected: head + 1, got: event.seqNum)
      }
      head = event.seqNum
    }
    guard let last = events.last else { return }
    var firstNew = 0
    if !diverged, pendingCount > 0 {
      let boundary = SeqNum.confirmedBoundary(backendHead: backendHead)
      var pending: [SyncEvent] = []
      try replica.eventlog.forEach(after: boundary, through: SeqNum(global: last.seqNum)) { row in
        pending.append(SyncEvent(row.record))
        return true
      }
      let state = SyncState(pending: pending, upstreamHead: boundary, localHead: pending.last?.seqNum ?? boundary)
      let plan: SyncState.MergeResult
      do {
        plan = try state.merge(.upstreamAdvance(newEvents: events.map(SyncEvent.init)), ignoreClientEvents: true,
                               divergence: .firstDifference)
      } catch {
        throw SyncError.brokenPendingChain(error.message)
      }
      switch plan {
      case .advance(_, let newEvents, _):
        firstNew = events.count - newEvents.count
        try confirm(events[..<firstNew])
      case .rebase(_, let newEvents, let rollbackEvents):
        firstNew = events.count - (newEvents.count - rollbackEvents.count)
        try confirm(events[..<firstNew])
        // Undo the pending events from the first difference on (client-only events before
        // it stay where they are).
        diverged = true
        let base = max(SeqNum.confirmedBoundary(backendHead: backendHead),
                       try replica.eventlog.lastEvent(before: rollbackEvents[0].seqNum) ?? .root)
        divergenceBase = base
        try replica.cutCommits(after: base)
        try replica.replayer.rollBack(after: base)
      case .reject, .unexpectedError:
        // The page was checked above to continue the head, which is all these stand for.
        throw SyncError.outOfOrder(expected: backendHead + 1, got: events[0].seqNum)
      }
    }
    for event in events[firstNew...] {
      try applyRemote(event)
      backendHead = event.seqNum
      result.pulled += 1
    }
  }

  /// Records that the backend has these pending events: their sync metadata, and the head.
  private func confirm(_ events: ArraySlice<RemoteEvent>) throws {
    for event in events {
      try replica.connection.cached("UPDATE log.eventlog SET syncMetadataJson = ? WHERE seqNumGlobal = ? AND seqNumClient = 0")
        .execute([.text(event.syncMetadataJSON), .integer(event.seqNum)])
      backendHead = event.seqNum
      result.confirmed += 1
      result.pulled += 1
    }
  }

  private func applyRemote(_ event: RemoteEvent) throws {
    let definition: EventDefinition
    do {
      definition = try replica.replayer.definition(named: event.name, at: SeqNum(global: event.seqNum))
    } catch is ReplayError {
      throw SyncError.unknownRemoteEvent(seqNum: event.seqNum, name: event.name)
    }
    // A backend only holds synced events. A client-only one (livestore.RawSql, a document
    // set) arriving from it is refused rather than run.
    guard !definition.clientOnly else { throw SyncError.clientOnlyRemoteEvent(seqNum: event.seqNum, name: event.name) }
    let record = EventRecord(
      seqNum: SeqNum(global: event.seqNum), parentSeqNum: SeqNum(global: event.parentSeqNum), name: event.name,
      argsJSON: event.argsJSON, clientId: event.clientId, sessionId: event.sessionId,
      schemaHash: definition.schemaHash, syncMetadataJSON: event.syncMetadataJSON)
    let args: JSONValue
    do {
      args = try replica.replayer.normalizedArgs(of: record, definition: definition)
    } catch let error as ReplayError {
      guard case .invalidArgs(_, _, _, let reason) = error else { throw error }
      throw SyncError.invalidRemoteEvent(seqNum: event.seqNum, name: event.name, reason: reason)
    }
    // Pulled events above every pending one are applied after them: the eventlog order is
    // the sequence-number order, and a pending client-only event can sit below a pulled one.
    do {
      try replica.replayer.apply(record, definition: definition, args: args, pending: false)
    } catch let error as MaterializeError {
      throw SyncError.remoteEventFails(error)
    }
  }

  /// Records the backend head, replays the rolled-back events after the new head (through
  /// the rebase engine, as a rebase of kind `pull` with LiveStore's replay rule), completes
  /// the reflog entry and commits the transaction.
  @discardableResult
  public func finish() throws -> Result {
    do {
      if backendHead > (try replica.eventlog.backendHead()) { try replica.eventlog.setBackendHead(backendHead) }
      try replica.trimChangesets(below: backendHead)
      try StateDatabase.writeHead(replica.connection, head: try replica.eventlog.head())
      if diverged {
        let rebase = try Rebase.startPull(replica, entry: entryId, base: divergenceBase, originalHead: originalHead,
                                          syncCursorsBefore: syncCursorsBefore, time: time)
        if case .stopped(let stop) = try rebase.run() { result.stopped = stop }
        result.renumbered = rebase.moved
        result.rebased = rebase.movedCount
        result.alreadyOnRemote = rebase.state.skippedEquivalent
      }
      let head = try replica.eventlog.head()
      if result.pulled == 0 && !diverged {
        // Nothing moved: a pull that found nothing leaves no reflog entry.
        try replica.connection.cached("DELETE FROM log.lstore_reflog_event WHERE entry = ?").execute([.integer(entryId)])
        try replica.connection.cached("DELETE FROM log.lstore_reflog_commit WHERE entry = ?").execute([.integer(entryId)])
        try replica.connection.cached("DELETE FROM log.lstore_reflog WHERE id = ?").execute([.integer(entryId)])
      }
      // Every pending event was saved (an abort puts them back); those still in place are
      // not counted as removed.
      let removed = pendingCount == 0 ? 0 : pendingCount - (try replica.eventlog.savedEventsKeptInPlace(entry: entryId))
      try replica.connection.cached("""
        UPDATE log.lstore_reflog SET newHeadGlobal = ?, newHeadClient = ?, newBackendHead = ?, removed = ? WHERE id = ?
        """).execute([.integer(head.global), .integer(head.client), .integer(backendHead), .integer(Int64(removed)),
                      .integer(entryId)])
      try replica.connection.execute("COMMIT")
      open = false
      result.head = head
      result.backendHead = backendHead
      return result
    } catch {
      try? replica.connection.execute("ROLLBACK")
      open = false
      throw error
    }
  }

  /// Abandons the pull: the store stays as it was.
  public func abort() {
    if open {
      try? replica.connection.execute("ROLLBACK")
      open = false
    }
  }
}

extension Eventlog {
  func commitExists(id: String) throws -> Bool {
    guard hasLStoreRecords else { return false }
    return try connection.cached("SELECT 1 FROM \(schemaName.quotedIdentifier).lstore_commit WHERE id = ?").first([.text(id)]) { _ in true } ?? false
  }

  func deleteCommit(id: String) throws {
    try connection.cached("DELETE FROM \(schemaName.quotedIdentifier).lstore_commit WHERE id = ?").execute([.text(id)])
  }

  /// The newest event strictly before `seqNum` that is still in the eventlog.
  func lastEvent(before seqNum: SeqNum) throws -> SeqNum? {
    try connection.cached("SELECT seqNumGlobal, seqNumClient FROM \(schemaName.quotedIdentifier).eventlog WHERE (seqNumGlobal, seqNumClient) < (?, ?) ORDER BY seqNumGlobal DESC, seqNumClient DESC LIMIT 1")
      .first([.integer(seqNum.global), .integer(seqNum.client)]) { SeqNum(global: $0.int64(0), client: $0.int64(1)) }
  }
}
