import LStoreSQLite

extension Replica {
  /// Synced events after the backend head, in order, in batches: what a push sends.
  /// Client-only events are never pushed.
  public func forEachPushBatch(after backendHead: Int64, batchSize: Int, _ body: ([EventRecord]) throws -> Bool) throws {
    var batch: [EventRecord] = []
    batch.reserveCapacity(batchSize)
    var stopped = false
    try eventlog.forEach(after: SeqNum(global: backendHead, client: .max)) { row in
      guard !row.seqNum.isClientOnly else { return true }
      batch.append(row.record)
      if batch.count == batchSize {
        let proceed = try body(batch)
        batch.removeAll(keepingCapacity: true)
        if !proceed { stopped = true }
        return proceed
      }
      return true
    }
    if !stopped && !batch.isEmpty { _ = try body(batch) }
  }

  /// Records that the backend accepted events up to `through` (a synced event): their
  /// sync metadata and the backend head, as LiveStore records a confirmation, and drops
  /// changesets that can no longer be rolled back.
  public func confirmPushed(from first: Int64, through last: Int64, metadata: JSONValue?) throws {
    try connection.transaction(.immediate) {
      let text = RemoteEvent(seqNum: 0, parentSeqNum: 0, name: "", args: nil, clientId: "", sessionId: "",
                             metadata: metadata).syncMetadataJSON
      try connection.cached("UPDATE log.eventlog SET syncMetadataJson = ? WHERE seqNumGlobal BETWEEN ? AND ? AND seqNumClient = 0")
        .execute([.text(text), .integer(first), .integer(last)])
      if last > (try eventlog.backendHead()) { try eventlog.setBackendHead(last) }
      try trimChangesets(below: last)
    }
  }

  /// LiveStore keeps changesets only for events that can still be rolled back: those at or
  /// after the backend head.
  func trimChangesets(below backendHead: Int64) throws {
    try connection.cached("DELETE FROM main.__livestore_session_changeset WHERE seqNumGlobal < ?").execute([.integer(backendHead)])
  }

}

/// Sync failures a user can act on.
public enum SyncError: Error, Sendable, CustomStringConvertible {
  case pushRejected(reason: String, backendHead: Int64?)
  case cannotRollBack(SeqNum, String)
  case unknownRemoteEvent(seqNum: Int64, name: String)
  case clientOnlyRemoteEvent(seqNum: Int64, name: String)
  case invalidRemoteEvent(seqNum: Int64, name: String, reason: String)
  /// The pending events do not chain as LiveStore numbers them (a damaged eventlog).
  case brokenPendingChain(String)
  case outOfOrder(expected: Int64, got: Int64)
  case remoteBehind(local: Int64, remote: Int64)
  case branchDiverged(seqNum: Int64)
  /// The backend's id is not the one this store synced with (LiveStore 0.4's
  /// `BackendIdMismatchError`): it was reset or replaced. Nothing was changed.
  case backendIdMismatch(stored: String, backend: String)
  /// A pulled event's materializer fails here (the remote's clients applied it). Nothing
  /// changed.
  case remoteEventFails(MaterializeError)
  /// The remote holds another event where this store has the one it confirmed from it: a
  /// store used as a remote rebased what it took (see `RewritableBackend`). Nothing changed.
  /// `synced`: this store has synced with that remote before (else its confirmed events
  /// may come from another backend).
  case remoteRewritten(seqNum: Int64, missing: Bool, synced: Bool, remote: String?)
  /// A network backend no longer holds (`missing`) or holds another event at the one this
  /// store last had confirmed by it: it was reset or replaced (LiveStore 0.3 backends have
  /// no id that would tell). Nothing changed.
  case backendLost(seqNum: Int64, missing: Bool)

  /// How to go on with a backend that was reset or replaced.
  static let adoptAdvice = "'lstore pull --adopt-backend' takes it as the new backend (on main every local event becomes pending again, those it holds are confirmed by that pull, the rest rebased onto it; on another branch the branch is sent to it whole again); then 'lstore push'"

  public var description: String {
    switch self {
    case .pushRejected(let reason, let head):
      return "push rejected: the remote is ahead\(head.map { " (at e\($0))" } ?? "") (\(reason)); run 'lstore pull' first, then push again"
    case .cannotRollBack(let seqNum, let reason):
      return "cannot roll back pending event \(seqNum) for the rebase: \(reason)"
    case .unknownRemoteEvent(let seqNum, let name):
      return "pulled event e\(seqNum) is '\(name)', which the schema does not define; update the schema file and pull again"
    case .clientOnlyRemoteEvent(let seqNum, let name):
      return "the remote sent e\(seqNum) '\(name)', which the schema defines as client-only: client-only events are never synced, so it is refused"
    case .invalidRemoteEvent(let seqNum, let name, let reason):
      return "pulled event e\(seqNum) \(name) does not match the schema: \(reason)"
    case .brokenPendingChain(let detail):
      return "the unpushed events do not form a chain (\(detail)), so the pull cannot tell which of them the remote has; the store is unchanged. 'lstore fsck' shows the damage and 'lstore repair' re-links them; then pull again"
    case .outOfOrder(let expected, let got):
      return "the remote sent e\(got) where e\(expected) was expected"
    case .branchDiverged(let seqNum):
      return "the remote branch's e\(seqNum) differs from this branch's e\(seqNum), which is confirmed: they are different branches with one name; rename this one ('lstore branch -m <new-name>'), then 'lstore switch <name>' fetches the remote one"
    case .remoteEventFails(let error):
      let event = "\(error.seqNum.map { "\($0) " } ?? "")\(error.eventName) \(error.argsJSON)"
      return "pulled event \(event) fails in this store's materializer: \(error.reason)\(error.statement.map { " (in: \($0))" } ?? ""); nothing was changed. The remote's clients applied this event, so this store's schema is likely not theirs: point the store at their schema file ('lstore config schema <file>'), then pull again"
    case .remoteRewritten(let seqNum, let missing, let synced, let remote):
      let what = switch (missing, synced) {
      case (true, true): "the remote no longer has e\(seqNum), which this store synced with it"
      case (false, true): "the remote's e\(seqNum) is not the e\(seqNum) this store synced with it"
      case (true, false): "the remote has no e\(seqNum), which this store has as confirmed"
      case (false, false): "the remote's e\(seqNum) is not this store's e\(seqNum), which is confirmed"
      }
      let why = synced
        ? "the remote's history was rewritten since (a store used as a remote renumbers the events it took from a push when it pulls from its own remote and rebases them, and a reset there drops them)"
        : "this store's events were confirmed by another backend, or the remote's history was rewritten"
      let named = remote.map { " " + ShellQuoting.quoted($0) } ?? ""
      return "\(what): \(why). Nothing was changed. 'lstore pull --adopt-backend\(named)' takes the remote's history: every local event becomes pending again, the pull confirms those the remote holds at the same place, leaves out those it holds elsewhere, and rebases the rest onto it; then 'lstore push\(named)'"
    case .backendIdMismatch(let stored, let backend):
      return "the backend's id is \(backend), but this store last synced with backend \(stored): the backend was reset or replaced, so what it confirmed before may be gone. Nothing was changed. To sync with the new backend, run 'lstore pull --adopt-backend' (it keeps every local event and makes the ones the old backend confirmed pending again), then 'lstore push'"
    case .remoteBehind(let local, let remote):
      return "the remote's head (e\(remote)) is behind this store's backend head (e\(local)), which it confirmed: it was reset or replaced, or it is another backend or store id ('lstore remote list' shows where it points). Nothing was changed. If it was reset or replaced, \(Self.adoptAdvice)"
    case .backendLost(let seqNum, let missing):
      let what = missing ? "the backend no longer has e\(seqNum), which it confirmed to this store"
        : "the backend's e\(seqNum) is not the e\(seqNum) it confirmed to this store"
      return "\(what): it was reset or replaced. Nothing was changed. \(Self.adoptAdvice)"
    }
  }
}
