import LStoreSQLite

/// A commit `cherry-pick` replays: where its events are read from.
public struct CommitToPick {
  public let commit: Commit
  /// The branch whose eventlog holds it (live, or in its reflog).
  public let branch: String
  let source: Eventlog
  /// Set when only the reflog has it (a rewrite removed its events): the entry that saved them.
  let reflogEntry: Int64?

  public var isFromReflog: Bool { reflogEntry != nil }
}

extension Store {
  /// The commit `text` names for cherry-pick: a commit id (or unique prefix) on any branch,
  /// the current one first, else the commit holding the point any other revision names (a
  /// branch is its head's commit, `feat~1` the one before). An id that no branch has any
  /// more is looked up in the reflogs, newest first: a commit a rewrite dropped (`rebase
  /// --skip`, `reset`) comes back this way.
  public func findCommit(_ text: String) throws -> CommitToPick {
    if text.count >= 4, text.allSatisfy(\.isHexDigit) {
      do {
        return try findCommit(idPrefix: text)
      } catch RevisionError.unknown {
        // Not an id: a branch may be named like one.
      }
    }
    let current = try openEventlog(branch: branch)
    // A past head (`HEAD@{1}`) may hold events the eventlog no longer has.
    guard case .point(let point, let on) = try RevisionResolver(eventlog: current, store: self).resolve(text) else {
      throw RevisionError.notAPoint(text)
    }
    let log = try on.map { try openEventlog(branch: $0) } ?? current
    guard point != .root, let commit = try log.commit(containing: point) else {
      throw StoreError.notFound("'\(text)' is not in a commit (only commits can be cherry-picked)")
    }
    return CommitToPick(commit: commit, branch: on ?? branch, source: log, reflogEntry: nil)
  }

  private func findCommit(idPrefix prefix: String) throws -> CommitToPick {
    let names = [branch] + (try listBranches().map(\.name).filter { $0 != branch })
    var found: [CommitToPick] = []
    for name in names {
      let log = try openEventlog(branch: name)
      for commit in try log.commits(withIDPrefix: prefix.lowercased())
      where !found.contains(where: { $0.commit.id == commit.id }) {
        found.append(CommitToPick(commit: commit, branch: name, source: log, reflogEntry: nil))
      }
      // The current branch's match wins: the same commit is often on several branches.
      if name == branch, found.count == 1 { return found[0] }
    }
    if found.isEmpty {
      for name in names {
        let log = try openEventlog(branch: name)
        for (entry, commit) in try log.savedCommits(withIDPrefix: prefix.lowercased())
        where !found.contains(where: { $0.commit.id == commit.id }) {
          found.append(CommitToPick(commit: commit, branch: name, source: log, reflogEntry: entry))
        }
      }
    }
    guard !found.isEmpty else { throw RevisionError.unknown(prefix) }
    guard found.count == 1 else {
      throw RevisionError.ambiguous(prefix, found.map { String($0.commit.id.prefix(12)) + " (\($0.branch)\($0.isFromReflog ? ", reflog" : ""))" })
    }
    return found[0]
  }
}

extension Replica {
  /// Replays commits from any branch after the head, each as a new commit with the same
  /// message and author (and the same events: name, args, client and session, so a later
  /// rebase recognises them as already there). All of them, or none.
  @discardableResult
  public func cherryPick(_ picks: [CommitToPick], time: String) throws -> [Commit] {
    var made: [Commit] = []
    try moveHead(to: try eventlog.head(),
                 note: HeadMoveNote(action: "cherry-pick", message: picks.map { $0.commit.message.firstLineOfMessage }.joined(separator: "; "), time: time)) { appender in
      for pick in picks {
        let (source, commit) = (pick.source, pick.commit)
        var first: SeqNum? = nil
        if let entry = pick.reflogEntry {
          try source.forEachSavedEvent(entry: entry, from: commit.first, through: commit.last) { record, _ in
            let (moved, _) = try appender.append(record)
            if first == nil { first = moved.seqNum }
          }
        } else {
          let before = try source.lastEvent(before: commit.first) ?? .root
          try source.forEach(after: before, through: commit.last) { row in
            let (moved, _) = try appender.append(row.record)
            if first == nil { first = moved.seqNum }
            return true
          }
        }
        guard let first else { continue }
        let copy = Commit(id: Identifiers.commitID(), first: first, last: appender.head, message: commit.message,
                          author: commit.author, time: commit.time)
        try appender.record(copy)
        made.append(copy)
      }
    }
    return made
  }
}

extension String {
  var firstLineOfMessage: String { split(separator: "\n", maxSplits: 1).first.map(String.init) ?? "" }
}
