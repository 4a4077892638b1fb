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
  /// time. A commit cut by the range shows only its events inside it. Return false to stop.
  public func forEachUnit(after: SeqNum = .root, through: SeqNum? = nil, order: Order = .descending,
                          _ body: (HistoryUnit) throws -> Bool) throws {
    let cursor = try commitCursor(after: after, through: through, order: order)
    let ascending = order == .ascending
    var unit: HistoryUnit? = nil
    var stopped = false
    try forEach(after: after, through: through, order: order) { row in
      let seqNum = row.seqNum
      let commit = try cursor.commit(for: seqNum, ascending: ascending)
      if var current = unit {
        let same = commit != nil
          ? current.commit?.id == commit!.id
          : current.commit == nil && current.clientId == row.clientId && current.sessionId == row.sessionId
        if same {
          if ascending { current.last = seqNum } else { current.first = seqNum }
          current.count += 1
          unit = current
          return true
        }
        if try !body(current) {
          stopped = true
          return false
        }
      }
      unit = HistoryUnit(commit: commit, first: seqNum, last: seqNum, count: 1,
                         clientId: commit == nil ? row.clientId : "", sessionId: commit == nil ? row.sessionId : "")
      return true
    }
    if !stopped, let unit { _ = try body(unit) }
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
