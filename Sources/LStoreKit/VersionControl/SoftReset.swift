/// `reset --soft`, lstore's form of git's: an event store has no index, so what a soft reset
/// keeps is the events themselves. The commits after the point are ungrouped (the events and
/// the state stay exactly as they are), and the next `commit` with no events groups the
/// pending events no commit holds into one commit: git's `reset --soft HEAD~3; commit -m …`
/// squash, on an eventlog.
extension Replica {
  public struct SoftResetResult: Sendable {
    /// Commits removed (a commit cut by the point keeps its first part).
    public var commits: Int
    /// Events that no commit holds now.
    public var ungrouped: Int
  }

  /// Ungroups the commits after `point`, as one head move (journaled: `reset --hard
  /// HEAD@{1}` brings the commits back). Refused for confirmed events, as every move is.
  public func softReset(to point: SeqNum, note: HeadMoveNote) throws -> SoftResetResult {
    var commits = 0
    try eventlog.forEachCommit(after: point) { commit in
      if commit.first > point { commits += 1 }
      return true
    }
    let moved = try moveHead(to: point, note: note) { appender in
      // The same events, the same numbers: only their commit records are not put back.
      try eventlog.forEachSavedEvent(entry: appender.entryId) { record, _ in
        _ = try appender.appendVerbatim(record, pending: true)
      }
    }
    return SoftResetResult(commits: commits, ungrouped: moved.removed)
  }

  /// Commits the pending events at the end of history that no commit holds (after a
  /// `reset --soft`, the events it ungrouped), or returns nil when there are none.
  public func commitUngrouped(message: (Int) -> String, author: Author, time: String) throws -> StreamedCommitResult? {
    try connection.inTransaction {
      let head = try eventlog.head()
      var start = SeqNum.confirmedBoundary(backendHead: try eventlog.backendHead())
      try eventlog.forEachCommit(order: .descending) { commit in
        start = max(start, commit.last)
        return false
      }
      let count = try eventlog.count(after: start)
      guard count > 0, let first = try eventlog.firstEvent(after: start) else { return nil }
      let commit = Commit(id: Identifiers.commitID(), first: first, last: head, message: message(count), author: author, time: time)
      try eventlog.insert(commit)
      try journalAppend(note: HeadMoveNote(action: "commit", message: commit.message, time: time), from: head, to: head)
      return StreamedCommitResult(commit: commit, count: count, first: first, last: head)
    }
  }
}

extension Eventlog {
  /// The first event after `seqNum`.
  func firstEvent(after seqNum: SeqNum) throws -> SeqNum? {
    var found: SeqNum? = nil
    try forEach(after: seqNum) { row in
      found = row.seqNum
      return false
    }
    return found
  }
}
