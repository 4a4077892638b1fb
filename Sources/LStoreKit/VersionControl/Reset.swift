import LStoreSQLite

/// Where `reset --hard` moves the head.
public enum ResetTarget: Equatable, Sendable {
  /// An event of this branch: everything after it is removed (and kept in the reflog).
  case point(SeqNum)
  /// The head as it was `index` moves ago.
  case reflog(index: Int)
  /// Another branch's head: this branch becomes a copy of it.
  case branch(String)
}

/// A past head rebuilt from the reflog: the events of the current eventlog through
/// `prefix`, then the saved events of some entries.
struct ReflogState {
  struct Chunk {
    var entry: ReflogEntry
    /// The chunk holds the entry's saved events after `entry.base` through this.
    var through: SeqNum
  }
  var prefix: SeqNum
  var chunks: [Chunk]
  var backendHead: Int64

  /// Undoes the `count` newest entries without touching the store: truncating to an
  /// entry's base and appending what it saved, newest entry first.
  static func undoing(_ count: Int, of eventlog: Eventlog) throws -> ReflogState {
    var state = ReflogState(prefix: try eventlog.head(), chunks: [], backendHead: try eventlog.backendHead())
    for entry in try eventlog.reflog(limit: count) {
      state.truncate(to: entry.base)
      // Saved events, not `removed`: a pull saves the pending client-only events it keeps in
      // place without counting them as removed, and undoing it must put them back too.
      if try eventlog.hasSavedEvents(entry: entry.id) { state.chunks.append(Chunk(entry: entry, through: entry.oldHead)) }
      state.backendHead = entry.oldBackendHead
    }
    return state
  }

  mutating func truncate(to base: SeqNum) {
    if base <= prefix {
      prefix = base
      chunks.removeAll()
      return
    }
    while let last = chunks.last, last.entry.base >= base { chunks.removeLast() }
    if var last = chunks.popLast() {
      last.through = min(last.through, base)
      chunks.append(last)
    }
  }
}

extension Replica {
  /// Moves the head to `target`, removing what follows (saved in the reflog) and appending
  /// what the target has that this branch does not. Refuses to remove events the backend
  /// has confirmed.
  @discardableResult
  public func reset(to target: ResetTarget, store: Store?, note: HeadMoveNote) throws -> MoveResult {
    switch target {
    case .point(let seqNum):
      return try moveHead(to: seqNum, note: note)
    case .reflog(let index):
      return try restore(undoing: index, note: note, allowConfirmed: false)
    case .branch(let name):
      guard let store else { throw RevisionError.noStore(name) }
      let other = try store.openEventlog(branch: name)
      let base = try eventlog.mergeBase(with: other)
      return try moveHead(to: base, note: note) { appender in
        try other.forEach(after: base) { row in
          _ = try appender.appendVerbatim(row.record, pending: true)
          return true
        }
        try other.forEachCommit(after: base) { commit in
          var commit = commit
          commit.first = max(commit.first, base.next(clientOnly: true))
          try appender.record(commit)
          return true
        }
      }
    }
  }

  /// Rebuilds the head as it was before the `count` newest reflog entries.
  func restore(undoing count: Int, note: HeadMoveNote, allowConfirmed: Bool) throws -> MoveResult {
    let target = try ReflogState.undoing(count, of: eventlog)
    let backendHead = try eventlog.backendHead()
    return try moveHead(to: target.prefix, note: note, allowConfirmed: allowConfirmed,
                        restoreBackendHead: target.backendHead != backendHead ? target.backendHead : nil) { appender in
      for chunk in target.chunks {
        var renumbered: [SeqNum: SeqNum] = [:]
        try eventlog.forEachSavedEvent(entry: chunk.entry.id, through: chunk.through) { record, _ in
          let (moved, _) = try appender.append(record)
          if moved.seqNum != record.seqNum { renumbered[record.seqNum] = moved.seqNum }
        }
        let firstSaved = chunk.entry.base.next(clientOnly: true)
        for var commit in try eventlog.savedCommits(entry: chunk.entry.id) where commit.last >= firstSaved {
          commit.first = max(commit.first, firstSaved)
          commit.last = min(commit.last, chunk.through)
          commit.first = renumbered[commit.first] ?? commit.first
          commit.last = renumbered[commit.last] ?? commit.last
          try appender.record(commit)
        }
      }
    }
  }
}

extension Eventlog {
  /// The last event two histories share: the longest common prefix of events with the
  /// same number, name, args, client and session, held by the same commit (or by none on
  /// both sides). A commit rewritten on one side (squashed, reworded) is then not shared,
  /// as in git, where it is a different commit. Streams both, one row at a time.
  public func mergeBase(with other: Eventlog) throws -> SeqNum {
    let mine = try connection.prepare("SELECT \(Eventlog.columns) FROM \(schemaName.quotedIdentifier).eventlog ORDER BY seqNumGlobal, seqNumClient")
    let theirs = try other.connection.prepare("SELECT \(Eventlog.columns) FROM \(other.schemaName.quotedIdentifier).eventlog ORDER BY seqNumGlobal, seqNumClient")
    defer {
      mine.reset()
      theirs.reset()
    }
    let myCommits = try commitCursor()
    let theirCommits = try other.commitCursor()
    var base = SeqNum.root
    while try mine.step(), try theirs.step() {
      let a = EventRow(statement: mine)
      let b = EventRow(statement: theirs)
      guard a.seqNum == b.seqNum, a.nameUTF8.elementsEqual(b.nameUTF8), a.argsUTF8.elementsEqual(b.argsUTF8),
            a.clientIdUTF8.elementsEqual(b.clientIdUTF8), a.sessionIdUTF8.elementsEqual(b.sessionIdUTF8),
            try myCommits.commit(for: a.seqNum, ascending: true)?.id == theirCommits.commit(for: b.seqNum, ascending: true)?.id
      else { break }
      base = a.seqNum
    }
    return base
  }
}
