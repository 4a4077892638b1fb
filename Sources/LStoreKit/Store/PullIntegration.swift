import LStoreSQLite

/// Integrates pulled events into a replica, in one transaction, by LiveStore's merge rules
/// (format spec §6.4, `upstream-advance` with client events ignored):
///
/// - pulled events that equal the pending events at the same position confirm them (their
///   sync metadata is recorded);
/// - at the first pulled event that differs, the pending events from there on are rolled
///   back with their changesets (newest first), the pulled events are applied, and the
///   rolled-back events are renumbered after the new head (synced `head+1…`, client-only
///   `(g, c+1)`) and applied again, keeping their commits and messages.
///
/// Nothing is visible until `finish()`; any failure (an unknown pulled event, a pending event
/// whose materializer now fails) rolls everything back.
public final class PullIntegration {
  public struct Result: Sendable {
    public var pulled = 0
    public var confirmed = 0
    public var rebased = 0
    public var head = SeqNum.root
    public var backendHead: Int64 = 0
    /// Old → new sequence numbers of rebased events.
    public var renumbered: [(SeqNum, SeqNum)] = []
  }

  private let replica: Replica
  private var pending: [EventRecord]
  /// Index into `pending` of the next synced pending event a pulled event is compared with.
  private var compareIndex = 0
  private var rolledBack: [EventRecord] = []
  private var diverged = false
  private var backendHead: Int64
  private var result = Result()
  private var open = true

  public init(replica: Replica) throws {
    self.replica = replica
    try replica.connection.execute("BEGIN IMMEDIATE")
    do {
      backendHead = try replica.eventlog.backendHead()
      var records: [EventRecord] = []
      try replica.eventlog.forEach(after: SeqNum(global: backendHead, client: 0)) { row in
        records.append(row.record)
        return true
      }
      pending = records
      let stateHead = try replica.stateHead()
      let head = try replica.eventlog.head()
      guard stateHead == head else { throw StoreError.stateBehind(state: stateHead, eventlog: head) }
    } catch {
      try? replica.connection.execute("ROLLBACK")
      open = false
      throw error
    }
  }

  deinit { if open { try? replica.connection.execute("ROLLBACK") } }

  /// The cursor to pull after: the backend head as this store knows it.
  public var cursor: Int64 { backendHead }

  /// Applies one page of pulled events, in order.
  public func apply(_ events: [RemoteEvent]) throws {
    for event in events {
      guard event.seqNum == backendHead + 1, event.parentSeqNum == backendHead else {
        throw SyncError.outOfOrder(expected: backendHead + 1, got: event.seqNum)
      }
      if !diverged, let index = nextSyncedPendingIndex() {
        let local = pending[index]
        if local.seqNum.global == event.seqNum, local.name == event.name, local.clientId == event.clientId,
           local.sessionId == event.sessionId, local.argsJSON == event.argsJSON {
          try replica.connection.cached("UPDATE log.eventlog SET syncMetadataJson = ? WHERE seqNumGlobal = ? AND seqNumClient = 0")
            .execute([.text(event.syncMetadataJSON), .integer(event.seqNum)])
          compareIndex = index + 1
          backendHead = event.seqNum
          result.confirmed += 1
          result.pulled += 1
          continue
        }
        // Divergence: roll back the pending events from here on (client-only events before
        // this point stay where they are).
        diverged = true
        rolledBack = Array(pending[index...])
        let base = index > 0 ? pending[index - 1].seqNum : SeqNum.confirmedBoundary(backendHead: backendHead)
        try replica.replayer.rollBack(after: base)
      }
      try applyRemote(event)
      backendHead = event.seqNum
      result.pulled += 1
    }
  }

  private func nextSyncedPendingIndex() -> Int? {
    var index = compareIndex
    while index < pending.count {
      if !pending[index].seqNum.isClientOnly { return index }
      index += 1
    }
    return nil
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
    try replica.replayer.apply(record, definition: definition, args: args, pending: false)
  }

  /// Re-applies the rolled-back events after the new head, records the backend head,
  /// trims changesets and commits the transaction.
  @discardableResult
  public func finish() throws -> Result {
    do {
      var head = try replica.eventlog.head()
      if !rolledBack.isEmpty {
        let commits = try CommitRenumbering(eventlog: replica.eventlog, firstMoved: rolledBack[0].seqNum)
        for original in rolledBack {
          let moved = original.renumbered(after: head)
          do {
            try replica.replayer.apply(moved, pending: true)
          } catch let error as MaterializeError {
            throw SyncError.rebaseFailed(original: original.seqNum, rebased: moved.seqNum, name: original.name, reason: error.reason)
          } catch let error as ReplayError {
            switch error {
            case .unknownEvent: throw SyncError.unknownPendingEvent(original.seqNum, name: original.name)
            case .invalidArgs(_, _, _, let reason):
              throw SyncError.rebaseFailed(original: original.seqNum, rebased: moved.seqNum, name: original.name,
                                           reason: "its args no longer match the schema: \(reason)")
            }
          }
          commits.moved(original.seqNum, to: moved.seqNum)
          result.renumbered.append((original.seqNum, moved.seqNum))
          head = moved.seqNum
        }
        try commits.write()
        result.rebased = rolledBack.count
      }
      if backendHead > (try replica.eventlog.backendHead()) { try replica.eventlog.setBackendHead(backendHead) }
      try replica.trimChangesets(below: backendHead)
      try StateDatabase.writeHead(replica.connection, head: head)
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

/// Keeps commit records right when a rebase renumbers their events. A commit wholly inside
/// the moved events is renumbered; one that straddles the divergence point (its first part
/// was confirmed by the backend) is split, the moved part becoming a new commit with the
/// same message and author.
final class CommitRenumbering {
  private let eventlog: Eventlog
  private var affected: [Commit] = []
  private var mapping: [SeqNum: SeqNum] = [:]
  private let firstMoved: SeqNum

  init(eventlog: Eventlog, firstMoved: SeqNum) throws {
    self.eventlog = eventlog
    self.firstMoved = firstMoved
    try eventlog.forEachCommit(after: SeqNum(global: firstMoved.global, client: firstMoved.client).previousOrRoot) { commit in
      affected.append(commit)
      return true
    }
    for commit in affected { try eventlog.deleteCommit(id: commit.id) }
  }

  func moved(_ old: SeqNum, to new: SeqNum) { mapping[old] = new }

  func write() throws {
    for commit in affected {
      if commit.first >= firstMoved {
        guard let first = mapping[commit.first], let last = mapping[commit.last] else { continue }
        var renumbered = commit
        renumbered.first = first
        renumbered.last = last
        try eventlog.insert(renumbered)
      } else {
        // The part before the divergence keeps the id; its last event is the newest one
        // left in place.
        var kept = commit
        if let lastKept = try eventlog.lastEvent(before: firstMoved), lastKept >= commit.first {
          kept.last = lastKept
          try eventlog.insert(kept)
        }
        if let first = mapping[firstMoved], let last = mapping[commit.last] {
          var continued = commit
          continued.id = Identifiers.commitID()
          continued.first = first
          continued.last = last
          try eventlog.insert(continued)
        }
      }
    }
  }
}

extension SeqNum {
  /// The position just before this one in eventlog order, for exclusive range bounds.
  var previousOrRoot: SeqNum {
    if client > 0 { return SeqNum(global: global, client: client - 1) }
    if global > 0 { return SeqNum(global: global - 1, client: .max) }
    return .root
  }
}

extension Eventlog {
  func deleteCommit(id: String) throws {
    try connection.cached("DELETE FROM \(schemaName.quotedIdentifier).lstore_commit WHERE id = ?").execute([.text(id)])
  }

  /// The newest event strictly before `seqNum` that is still in the eventlog.
  func lastEvent(before seqNum: SeqNum) throws -> SeqNum? {
    try connection.cached("SELECT seqNumGlobal, seqNumClient FROM \(schemaName.quotedIdentifier).eventlog WHERE (seqNumGlobal, seqNumClient) < (?, ?) ORDER BY seqNumGlobal DESC, seqNumClient DESC LIMIT 1")
      .first([.integer(seqNum.global), .integer(seqNum.client)]) { SeqNum(global: $0.int64(0), client: $0.int64(1)) }
  }
}
