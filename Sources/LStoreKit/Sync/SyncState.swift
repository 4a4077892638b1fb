/// LiveStore 0.3.1's sync state and its `merge` (format spec §6.3–6.4), pure and value-typed:
/// the rules, checked case by case against LiveStore's own suite without a store, and the plan
/// `PullIntegration` executes on a real eventlog, one pulled page at a time (which pulled
/// events confirm pending ones, where pending events are undone, which pulled events are new).
///
/// By default it follows LiveStore's code, not its intent, where the two differ
/// (`DivergenceRule.liveStore`), to predict what a LiveStore client does with the same
/// inputs; a pull asks for `.firstDifference`, the spec's prose.
public struct SyncState: Equatable, Sendable {
  /// Events this node has but its upstream has not acknowledged, oldest first. Client-only
  /// events stay here until a synced event after them is confirmed, since they never go
  /// upstream themselves.
  public var pending: [SyncEvent]
  /// The head this node believes the upstream has; pulled events must come after it.
  public var upstreamHead: SeqNum
  /// Normally the last pending event, or the upstream head when nothing is pending. LiveStore
  /// does not check this on input, so a state may carry a stale value and merge still works.
  public var localHead: SeqNum

  public init(pending: [SyncEvent] = [], upstreamHead: SeqNum = .root, localHead: SeqNum = .root) {
    self.pending = pending
    self.upstreamHead = upstreamHead
    self.localHead = localHead
  }

  public enum Payload: Equatable, Sendable {
    /// The upstream node rebased: everything it lists, and everything pending here, must be
    /// undone before its (already renumbered) events are applied. Only a leader sends this to
    /// its sessions; sync backends never do.
    case upstreamRebase(rollbackEvents: [SyncEvent], newEvents: [SyncEvent])
    /// Events the upstream accepted after `upstreamHead`: what a pull delivers.
    case upstreamAdvance(newEvents: [SyncEvent])
    /// Events committed on this node, numbered by the committer from its own local head.
    case localPush(newEvents: [SyncEvent])
  }

  public enum MergeResult: Equatable, Sendable {
    /// Nothing local has to be undone: apply `newEvents` on top of what is there.
    /// `confirmedEvents` left `pending` because the upstream now has them.
    case advance(newState: SyncState, newEvents: [SyncEvent], confirmedEvents: [SyncEvent])
    /// Undo `rollbackEvents` (newest first), then apply `newEvents`, which end with the undone
    /// pending events renumbered after the new upstream head.
    case rebase(newState: SyncState, newEvents: [SyncEvent], rollbackEvents: [SyncEvent])
    /// A local push that does not come after the local head; the committer must renumber
    /// from at least `expectedMinimum` (LiveStore's `LeaderAheadError`).
    case reject(expectedMinimum: SeqNum)
    /// The upstream sent something no well-behaved upstream sends. LiveStore returns this
    /// rather than throwing, so callers decide whether to stop syncing.
    case unexpectedError(String)
  }

  /// Where an upstream advance that meets a different event starts undoing pending events,
  /// when client-only pending events come before that difference (format spec §6.4).
  public enum DivergenceRule: Sendable {
    /// LiveStore's code (0.3.1, and still 0.4): the index found among the synced events is
    /// read in the list with the client-only events, so it lands that many events too early,
    /// and those events are undone and renumbered too; with client-only events between
    /// confirmed ones it can even land on a confirmed event. What `SyncState` predicts by
    /// default, to match a LiveStore client case by case.
    case liveStore
    /// The spec's prose, and what `lstore pull` executes (`PullIntegration`): undoing starts at
    /// the first synced event that differs; client-only events before it stay where they are.
    case firstDifference
  }

  /// Raised when a state breaks the chain rules LiveStore treats as "should never happen"
  /// (it throws there too): a bug in whoever built the state, not a condition to handle.
  public struct InvariantViolation: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
  }

  /// Combines this state with one payload. Throws only when the input state, or the state
  /// merge would produce, breaks the invariants (§6.4 post-conditions); payload problems
  /// come back as `.unexpectedError`.
  ///
  /// `ignoreClientEvents` is what a leader sets when the payload comes from a sync backend:
  /// backends never see client-only events, so pending client-only events must not count as
  /// a mismatch.
  public func merge(_ payload: Payload, ignoreClientEvents: Bool = false,
                    divergence rule: DivergenceRule = .liveStore) throws(InvariantViolation) -> MergeResult {
    try Self.checkChain(self)
    // LiveStore also checks strict ordering of every payload here but discards the outcome,
    // so an unordered local push or rebase payload is merged anyway.
    let result = mergeUnchecked(payload, ignoreClientEvents: ignoreClientEvents, rule: rule)
    switch result {
    case .advance(let newState, _, _), .rebase(let newState, _, _):
      try checkTransition(to: newState)
    case .reject, .unexpectedError:
      break
    }
    return result
  }

  private func mergeUnchecked(_ payload: Payload, ignoreClientEvents: Bool, rule: DivergenceRule) -> MergeResult {
    switch payload {
    case .upstreamRebase(let rollbackEvents, let newEvents):
      // Every pending event sits on top of what the upstream undid, so all of them go.
      let newUpstreamHead = newEvents.last?.seqNum ?? upstreamHead
      let rebased = Self.renumber(pending, after: newUpstreamHead)
      return .rebase(
        newState: SyncState(pending: rebased, upstreamHead: newUpstreamHead,
                            localHead: rebased.last?.seqNum ?? newUpstreamHead),
        newEvents: newEvents + rebased,
        rollbackEvents: rollbackEvents + pending)

    case .upstreamAdvance(let incoming):
      guard let first = incoming.first, let last = incoming.last else {
        return .advance(newState: self, newEvents: [], confirmedEvents: [])
      }
      // Equal neighbours pass this check in LiveStore (only a decrease is refused).
      for (earlier, later) in zip(incoming, incoming.dropFirst()) where earlier.seqNum > later.seqNum {
        return .unexpectedError("events must be ascending by sequence number, got \(Self.numbers(incoming))")
      }
      guard first.seqNum > upstreamHead else {
        return .unexpectedError("events must come after the upstream head \(upstreamHead), got \(Self.numbers(incoming))")
      }
      let newUpstreamHead = last.seqNum

      let compared = ignoreClientEvents ? pending.filter { !$0.clientOnly } : pending
      guard let difference = Self.divergenceIndex(existing: compared, incoming: incoming, ignoreClientEvents: false) else {
        return advance(with: incoming, newUpstreamHead: newUpstreamHead, ignoreClientEvents: ignoreClientEvents)
      }
      switch rule {
      case .liveStore:
        // The index among the synced events, read in the list with the client-only ones.
        let rolledBack = Array(pending[difference...])
        let rebased = Self.renumber(rolledBack, after: newUpstreamHead)
        // Which incoming events are new is asked the other way round; with client events
        // ignored only the incoming side is filtered, which is what LiveStore does. An
        // incoming list that agrees with all of pending cannot reach here, but should it,
        // LiveStore's `slice(-1)` would keep only the last incoming event.
        let firstNew = Self.divergenceIndex(existing: incoming, incoming: pending,
                                            ignoreClientEvents: ignoreClientEvents) ?? (incoming.count - 1)
        return .rebase(
          newState: SyncState(pending: rebased, upstreamHead: newUpstreamHead, localHead: rebased.last!.seqNum),
          newEvents: Array(incoming[firstNew...]) + rebased,
          rollbackEvents: rolledBack)
      case .firstDifference:
        let divergence = pending.firstIndex { $0.seqNum == compared[difference].seqNum }!
        let rolledBack = Array(pending[divergence...])
        let rebased = Self.renumber(rolledBack, after: newUpstreamHead)
        // Client-only events after the last confirmed event stay pending, where they are.
        let kept = Array(pending[..<divergence].reversed().prefix { $0.clientOnly }.reversed())
        return .rebase(
          newState: SyncState(pending: kept + rebased, upstreamHead: newUpstreamHead, localHead: rebased.last!.seqNum),
          newEvents: Array(incoming[difference...]) + rebased,
          rollbackEvents: rolledBack)
      }

    case .localPush(let newEvents):
      guard let first = newEvents.first, let last = newEvents.last else {
        return .advance(newState: self, newEvents: [], confirmedEvents: [])
      }
      guard first.seqNum > localHead else {
        // The smallest number any event could take after the local head is its client-only
        // successor, whatever kind of event the committer meant to add.
        return .reject(expectedMinimum: localHead.next(clientOnly: true))
      }
      return .advance(
        newState: SyncState(pending: pending + newEvents, upstreamHead: upstreamHead, localHead: last.seqNum),
        newEvents: newEvents,
        confirmedEvents: [])
    }
  }

  /// The no-divergence branch of upstream-advance: pending events the upstream now has are
  /// confirmed, incoming events not already held locally are new.
  private func advance(with incoming: [SyncEvent], newUpstreamHead: SeqNum, ignoreClientEvents: Bool) -> MergeResult {
    // New means "a number pending does not use": the events at shared numbers were just
    // found equal, so they are confirmations, not additions.
    let pendingNumbers = Set(pending.map(\.seqNum))
    let newEvents = incoming.filter { !pendingNumbers.contains($0.seqNum) }

    // The confirmed prefix ends at the first pending event with no equal incoming event at
    // its position; skipped client events shift the positions and are confirmed along
    // with the synced events around them.
    var skipped = 0
    var split = pending.count
    for (index, event) in pending.enumerated() {
      if ignoreClientEvents && event.clientOnly {
        skipped += 1
        continue
      }
      let position = index - skipped
      if position >= incoming.count || !event.isEqualEncoded(incoming[position]) {
        split = index
        break
      }
    }
    let remaining = Array(pending[split...])
    return .advance(
      newState: SyncState(pending: remaining, upstreamHead: newUpstreamHead,
                          localHead: remaining.last?.seqNum ?? max(localHead, newUpstreamHead)),
      newEvents: newEvents,
      confirmedEvents: Array(pending[..<split]))
  }

  /// The first index into `existing` whose event differs from the `incoming` event at the
  /// same position, or nil when every position both lists have agrees.
  ///
  /// With `ignoreClientEvents`, client-only events are dropped from `existing` before the
  /// comparison. LiveStore (0.3.1, and still 0.4) then maps the position back by reading the
  /// *unfiltered* array at the *filtered* index, so when client-only events precede the
  /// mismatch the result points that many events too early and those client-only events are
  /// rolled back and renumbered too (`DivergenceRule.liveStore`, and how the new incoming
  /// events are found under it).
  static func divergenceIndex(existing: [SyncEvent], incoming: [SyncEvent], ignoreClientEvents: Bool) -> Int? {
    if ignoreClientEvents {
      let synced = existing.filter { !$0.clientOnly }
      guard let filteredIndex = divergenceIndex(existing: synced, incoming: incoming, ignoreClientEvents: false) else {
        return nil
      }
      let number = existing[filteredIndex].seqNum
      return existing.firstIndex { $0.seqNum == number }
    }
    return zip(existing, incoming).enumerated().first { !$0.element.0.isEqualEncoded($0.element.1) }?.offset
  }

  /// Chains `events` one after another starting at `head`, each keeping its kind, as
  /// LiveStore's `rebase` (= `nextPair`) does.
  static func renumber(_ events: [SyncEvent], after head: SeqNum) -> [SyncEvent] {
    var previous = head
    return events.map { event in
      let moved = event.rebased(after: previous)
      previous = moved.seqNum
      return moved
    }
  }

  private static func numbers(_ events: [SyncEvent]) -> String {
    "[" + events.map(\.seqNum.description).joined(separator: ", ") + "]"
  }

  /// The pending chain rules: strictly ascending; an event opening a new global number is a
  /// synced one (`client == 0`); otherwise it hangs directly off its predecessor.
  static func checkChain(_ state: SyncState) throws(InvariantViolation) {
    for (event, next) in zip(state.pending, state.pending.dropFirst()) {
      guard event.seqNum < next.seqNum else {
        throw InvariantViolation(message: "pending events must be strictly ascending, got \(numbers(state.pending))")
      }
      if next.seqNum.global > event.seqNum.global {
        guard next.seqNum.client == 0 else {
          throw InvariantViolation(message: "pending event \(next.seqNum) opens global \(next.seqNum.global) but is not a synced event")
        }
      } else if next.parentSeqNum != event.seqNum {
        throw InvariantViolation(message: "pending event \(next.seqNum) has parent \(next.parentSeqNum), expected \(event.seqNum)")
      }
    }
  }

  /// §6.4's post-conditions: the new state is a valid chain, the local head is not behind
  /// the upstream head, and neither head moved backwards.
  private func checkTransition(to new: SyncState) throws(InvariantViolation) {
    try Self.checkChain(new)
    guard new.upstreamHead <= new.localHead else {
      throw InvariantViolation(message: "upstream head \(new.upstreamHead) is ahead of local head \(new.localHead)")
    }
    guard new.localHead >= localHead else {
      throw InvariantViolation(message: "local head moved back from \(localHead) to \(new.localHead)")
    }
    guard new.upstreamHead >= upstreamHead else {
      throw InvariantViolation(message: "upstream head moved back from \(upstreamHead) to \(new.upstreamHead)")
    }
  }
}

/// One event as `SyncState` sees it: LiveStore's encoded event, with its kind carried along
/// because merge renumbers synced and client-only events differently and cannot consult a
/// schema.
public struct SyncEvent: Equatable, Sendable, CustomStringConvertible {
  public var seqNum: SeqNum
  public var parentSeqNum: SeqNum
  public var name: String
  /// Encoded args as JSON text; compared as text, so key order matters, as in LiveStore.
  public var argsJSON: String
  public var clientId: String
  public var sessionId: String
  public var clientOnly: Bool

  public init(seqNum: SeqNum, parentSeqNum: SeqNum, name: String, argsJSON: String = "{}",
              clientId: String, sessionId: String, clientOnly: Bool) {
    self.seqNum = seqNum
    self.parentSeqNum = parentSeqNum
    self.name = name
    self.argsJSON = argsJSON
    self.clientId = clientId
    self.sessionId = sessionId
    self.clientOnly = clientOnly
  }

  /// LiveStore's `isEqualEncoded`: whether an upstream event is this very event. The parent
  /// is left out, so a confirmation is recognised even if the chain below was renumbered.
  public func isEqualEncoded(_ other: SyncEvent) -> Bool {
    seqNum == other.seqNum && name == other.name && clientId == other.clientId
      && sessionId == other.sessionId && argsJSON == other.argsJSON
  }

  /// The same event re-chained after `head` (LiveStore's `rebase`/`nextPair`).
  public func rebased(after head: SeqNum) -> SyncEvent {
    var moved = self
    moved.seqNum = head.next(clientOnly: clientOnly)
    moved.parentSeqNum = head.parentForNext(clientOnly: clientOnly)
    return moved
  }

  public var description: String { "\(seqNum) (parent \(parentSeqNum)) \(name) \(argsJSON)" }
}

extension SyncEvent {
  /// An eventlog's event as the merge sees it (its kind from its number: client-only events
  /// hang off a global number, `client > 0`).
  public init(_ record: EventRecord) {
    self.init(seqNum: record.seqNum, parentSeqNum: record.parentSeqNum, name: record.name, argsJSON: record.argsJSON,
              clientId: record.clientId, sessionId: record.sessionId, clientOnly: record.seqNum.isClientOnly)
  }

  /// A pulled event as the merge sees it: a backend only holds synced events.
  public init(_ remote: RemoteEvent) {
    self.init(seqNum: SeqNum(global: remote.seqNum), parentSeqNum: SeqNum(global: remote.parentSeqNum), name: remote.name,
              argsJSON: remote.argsJSON, clientId: remote.clientId, sessionId: remote.sessionId, clientOnly: false)
  }
}
