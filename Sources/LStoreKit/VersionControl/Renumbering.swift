/// Which events a rebase moved, and where: pairs of (original, new) numbers, in the order the
/// events were replayed, kept as runs.
///
/// A pull that rebases a long pending history renumbers every event of it, nearly always as
/// one stretch: e(k+i) becomes e(h+i). Kept as pairs, a pull into 1,000,000 pending events
/// held 48 MB of them (twice, while a step's pairs were added to the total), over the
/// 100 MB a command may take; kept as runs it holds one. Iterating gives every pair.
public struct Renumbering: Sequence, Sendable {
  /// `count` pairs from (`original`, `new`), both advancing one synced position a pair, with
  /// their client parts and rebase generations unchanged.
  struct Run: Sendable {
    var original: SeqNum
    var new: SeqNum
    var count: Int

    func pair(_ offset: Int) -> (SeqNum, SeqNum) {
      (SeqNum(global: original.global + Int64(offset), client: original.client, rebaseGeneration: original.rebaseGeneration),
       SeqNum(global: new.global + Int64(offset), client: new.client, rebaseGeneration: new.rebaseGeneration))
    }
  }

  private(set) var runs: [Run] = []
  /// The number of pairs.
  public private(set) var count = 0

  public init() {}

  public var isEmpty: Bool { count == 0 }

  /// Adds the pair (`original`, `new`) after the others.
  public mutating func append(_ original: SeqNum, _ new: SeqNum) {
    append(Run(original: original, new: new, count: 1))
  }

  /// Adds every pair of `other` after these, run by run.
  public mutating func append(contentsOf other: Renumbering) {
    for run in other.runs { append(run) }
  }

  /// Adds `run` after the others, as part of the last run when it continues it.
  private mutating func append(_ run: Run) {
    count += run.count
    if let last = runs.last {
      let (lastOriginal, lastNew) = last.pair(last.count - 1)
      if Self.follows(run.original, lastOriginal) && Self.follows(run.new, lastNew) {
        runs[runs.count - 1].count += run.count
        return
      }
    }
    runs.append(run)
  }

  private static func follows(_ next: SeqNum, _ previous: SeqNum) -> Bool {
    next.global == previous.global + 1 && next.client == previous.client
      && next.rebaseGeneration == previous.rebaseGeneration
  }

  public struct Iterator: IteratorProtocol {
    fileprivate let runs: [Run]
    fileprivate var run = 0
    fileprivate var offset = 0

    public mutating func next() -> (SeqNum, SeqNum)? {
      while run < runs.count {
        if offset < runs[run].count {
          defer { offset += 1 }
          return runs[run].pair(offset)
        }
        run += 1
        offset = 0
      }
      return nil
    }
  }

  public func makeIterator() -> Iterator { Iterator(runs: runs) }

  public var underestimatedCount: Int { count }
}
