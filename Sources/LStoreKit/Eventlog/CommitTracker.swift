/// Walks a commit cursor beside an event scan (in the same order), keeping the current
/// commit's range as plain values: the common case, an event inside the commit already
/// found, then costs two comparisons instead of a copy of the commit and its strings.
public struct CommitTracker {
  public let cursor: CommitCursor
  public let ascending: Bool
  private var first: SeqNum?
  private var last = SeqNum.root
  /// Counts the commits passed, so that each commit of the scan has its own number.
  private var index = 0

  public init(cursor: CommitCursor, ascending: Bool) {
    self.cursor = cursor
    self.ascending = ascending
    load()
  }

  private mutating func load() {
    if let commit = cursor.current {
      first = commit.first
      last = commit.last
    } else {
      first = nil
    }
  }

  /// The number of the commit holding `seqNum` (as `CommitCursor.commit(for:ascending:)`
  /// finds it), or nil when no commit holds it.
  public mutating func ordinal(for seqNum: SeqNum) throws -> Int? {
    while let first {
      if ascending ? last < seqNum : first > seqNum {
        try cursor.advance()
        index += 1
        load()
        continue
      }
      return first <= seqNum && seqNum <= last ? index : nil
    }
    return nil
  }

  /// The commit holding `seqNum`, or nil.
  public mutating func commit(for seqNum: SeqNum) throws -> Commit? {
    try ordinal(for: seqNum) == nil ? nil : cursor.current
  }
}
