/// `log --graph`: the history of every branch drawn once, newest first, as git draws it.
///
/// Branches are linear eventlogs that share prefixes, so together they form a tree. Each
/// branch after main hangs off the branch placed before it with which it shares the most
/// (their merge base: same events and commits), and owns only its history after that point
/// (its segment). A segment is drawn one column right of its parent, just above the unit it
/// parts from, closed by `|/`. The first branch is walked as a stream; the other segments
/// (work not on main, usually short) are held while they are drawn.
public enum HistoryGraph {
  public struct Line: Sendable {
    /// The graph columns before the unit: `* `, `| * `, `|/ `.
    public var graph: String
    /// Nil for a connector line.
    public var unit: HistoryUnit?
    /// The branch whose eventlog holds the unit.
    public var branch: String
    /// Heads at this unit: local branches (`HEAD -> main` for the current one) and remote
    /// ones as this clone last saw them (`origin/main`).
    public var decorations: [String]
  }

  private struct Segment {
    var name: String
    var eventlog: Eventlog
    var parent: Int?
    /// Where this branch parts from its parent: its segment is the history after it.
    var fork: SeqNum
    var children: [Int] = []
    /// Remote heads of this branch (`origin/feat` at e4).
    var remoteHeads: [(label: String, head: SeqNum)] = []
  }

  /// Draws `branches` of `store` (main first when present, then by name). Return false from
  /// `emit` to stop.
  public static func walk(store: Store, branches names: [String], emit: (Line) throws -> Bool) throws {
    let ordered = names.filter { $0 == Store.syncedBranch } + names.filter { $0 != Store.syncedBranch }.sorted()
    let remote = try store.remoteBranches()
    var segments: [Segment] = []
    for name in ordered {
      let eventlog = try store.openEventlog(branch: name)
      var parent: Int? = nil
      var fork = SeqNum.root
      for (index, placed) in segments.enumerated() {
        let base = try eventlog.mergeBase(with: placed.eventlog)
        if base > fork { (parent, fork) = (index, base) }
      }
      var segment = Segment(name: name, eventlog: eventlog, parent: parent, fork: fork)
      let upstream = try BranchUpstream.of(eventlog, branch: name)?.name ?? Store.syncedBranch
      for known in remote where known.name == upstream {
        if let head = known.head, head > 0 { segment.remoteHeads.append(("\(known.remote)/\(known.name)", SeqNum(global: head))) }
      }
      if let parent { segments[parent].children.append(segments.count) }
      segments.append(segment)
    }
    var stopped = false
    for root in segments.indices where segments[root].parent == nil {
      try draw(root, in: segments, current: store.branch) { line in
        if stopped { return false }
        if try !emit(line) { stopped = true }
        return !stopped
      }
      if stopped { return }
    }
  }

  /// Draws segment `index`: its units newest first, each child segment just above the unit
  /// it parts from.
  private static func draw(_ index: Int, in segments: [Segment], current: String, emit: (Line) throws -> Bool) throws {
    let segment = segments[index]
    var children = segment.children.sorted { segments[$0].fork > segments[$1].fork }
    var first = true
    try segment.eventlog.forEachUnit(after: segment.fork, order: .descending) { unit in
      var decorations = first ? [label(segment.name, current: current)] : []
      // A branch that goes on from this one's head is drawn in the same column, as git
      // draws a branch ahead of another.
      var inline = first
      first = false
      while let child = children.first, segments[child].fork >= unit.first {
        children.removeFirst()
        var lines: [Line] = []
        try draw(child, in: segments, current: current) { lines.append($0); return true }
        if lines.isEmpty {
          // A branch with nothing of its own: its head is this unit.
          decorations.append(label(segments[child].name, current: current))
          continue
        }
        if inline, segments[child].fork >= unit.last {
          inline = false
          for line in lines { guard try emit(line) else { return false } }
          continue
        }
        for var line in lines {
          line.graph = "| " + line.graph
          guard try emit(line) else { return false }
        }
        guard try emit(Line(graph: "|/ ", unit: nil, branch: segment.name, decorations: [])) else { return false }
      }
      decorations += remoteLabels(at: unit, of: index, in: segments)
      return try emit(Line(graph: "* ", unit: unit, branch: segment.name, decorations: decorations))
    }
  }

  private static func label(_ name: String, current: String) -> String { name == current ? "HEAD -> \(name)" : name }

  /// Remote heads inside `unit`, of this branch and of branches that share the unit (their
  /// segment starts after it).
  private static func remoteLabels(at unit: HistoryUnit, of index: Int, in segments: [Segment]) -> [String] {
    var labels: [String] = []
    var sharing = [index]
    var queue = [index]
    while let next = queue.popLast() {
      for child in segments[next].children where segments[child].fork >= unit.last {
        sharing.append(child)
        queue.append(child)
      }
    }
    for member in sharing {
      for (label, head) in segments[member].remoteHeads where unit.first <= head && head <= unit.last {
        labels.append(label)
      }
    }
    return labels
  }
}
