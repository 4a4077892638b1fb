/// One entry of history as `log` shows it and as revisions count it: a commit, or a run of
/// consecutive uncommitted events from one client and session (events pulled from apps).
public struct HistoryUnit: Equatable, Sendable {
  public var commit: Commit?
  public var first: SeqNum
  public var last: SeqNum
  public var count: Int
  /// The client and session of an uncommitted run (empty for a commit).
  public var clientId: String
  public var sessionId: String

  /// What a plan line or a log line calls this unit: the commit id, or the event range.
  public var reference: String {
    if let commit { return commit.id }
    return first == last ? first.description : "\(first)..\(last)"
  }

  /// The commit message, or a description of the uncommitted run.
  public var summary: String {
    if let commit { return commit.message.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? "" }
    return "(\(count) event\(count == 1 ? "" : "s") from \(clientId)/\(sessionId), no commit)"
  }
}

extension Eventlog {
  /// Walks history units with `after < seqNum <= through`, in `order`, holding one unit at a
  /// time: what `log` lists, and what revisions, rebase plans and diffs count. A commit cut
  /// by the range shows only its events inside it. With `matching`, only units with at least
  /// one event it accepts are handed over (`log --grep`-style filters). Return false to stop.
  public func forEachUnit(after: SeqNum = .root, through: SeqNum? = nil, order: Order = .descending,
                          matching: ((EventRow) -> Bool)? = nil, _ body: (HistoryUnit) throws -> Bool) throws {
    let ascending = order == .ascending
    let cursor = try commitCursor(after: after, through: through, order: order)
    var tracker = CommitTracker(cursor: cursor, ascending: ascending)
    var unit: HistoryUnit? = nil
    /// Which commit of the scan the unit is (the tracker's ordinal: no id comparison per
    /// event), nil for an uncommitted run; and whether an event of it matched.
    var ordinal: Int? = nil
    var matched = false
    var stopped = false
    try forEach(after: after, through: through, order: order) { row in
      let seqNum = row.seqNum
      let eventOrdinal = try tracker.ordinal(for: seqNum)
      let matches = matching?(row) ?? true
      if var current = unit {
        let same = eventOrdinal != nil
          ? ordinal == eventOrdinal
          : ordinal == nil && current.clientId == row.clientId && current.sessionId == row.sessionId
        if same {
          if ascending { current.last = seqNum } else { current.first = seqNum }
          current.count += 1
          unit = current
          matched = matched || matches
          return true
        }
        if matched, try !body(current) {
          stopped = true
          return false
        }
      }
      let commit = eventOrdinal == nil ? nil : cursor.current
      unit = HistoryUnit(commit: commit, first: seqNum, last: seqNum, count: 1,
                         clientId: commit == nil ? row.clientId : "", sessionId: commit == nil ? row.sessionId : "")
      ordinal = eventOrdinal
      matched = matches
      return true
    }
    if !stopped, matched, let unit { _ = try body(unit) }
  }

  /// The position `count` units before `point` (HEAD~count), or nil when history is shorter.
  public func position(unitsBefore point: SeqNum, count: Int) throws -> SeqNum? {
    if count == 0 { return point }
    var seen = 0
    var result: SeqNum? = nil
    try forEachUnit(through: point, order: .descending) { unit in
      seen += 1
      if seen == count {
        result = try lastEvent(before: unit.first) ?? .root
        return false
      }
      return true
    }
    return result
  }
}
