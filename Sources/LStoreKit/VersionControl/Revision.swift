import Foundation
import LStoreSQLite

/// A revision as the user writes it (documented in `lstore-revisions`), parsed once here
/// for every command that takes an event or a commit:
///
/// - `e5`, `e5+1`, `5`: an event by sequence number;
/// - a commit id or a unique prefix of at least 4 characters (a bare number is a commit
///   prefix when one matches, else an event);
/// - `HEAD` or `@`: the branch head; a branch name: that branch's head;
/// - `@{upstream}` / `@{u}`: the backend head, the last event the backend confirmed;
/// - `<rev>~N` (`~` alone is `~1`, `^` too): N history units (commits, or runs of
///   uncommitted events) before it;
/// - `HEAD@{N}` / `@{N}`: the head N moves ago, from the reflog.
public struct Revision: Equatable, Sendable {
  public enum Base: Equatable, Sendable {
    case head
    case reflog(Int)
    case upstream
    /// git's ORIG_HEAD: the head before the newest reset, rebase, pull or repair.
    case origHead
    /// A name to look up: a branch, a commit id prefix, or an event.
    case name(String)
  }

  public var base: Base
  /// How many history units back (`~N`).
  public var back: Int
  public var text: String

  public static func parse(_ text: String) throws -> Revision {
    var body = Substring(text)
    var back = 0
    // Trailing ~N, ~, ^ (any mix, summed as git does for first parents).
    while let last = body.last {
      if last == "^" {
        back += 1
        body = body.dropLast()
      } else if last.isNumber, let tilde = body.lastIndex(of: "~"), body[body.index(after: tilde)...].allSatisfy(\.isNumber) {
        guard let count = Int(body[body.index(after: tilde)...]) else { throw RevisionError.malformed(text) }
        back += count
        body = body[..<tilde]
      } else if last == "~" {
        back += 1
        body = body.dropLast()
      } else {
        break
      }
    }
    let base: Base
    switch body {
    case "HEAD", "@": base = .head
    case "@{upstream}", "@{u}", "HEAD@{upstream}", "HEAD@{u}": base = .upstream
    case "ORIG_HEAD": base = .origHead
    default:
      if let open = body.range(of: "@{"), body.hasSuffix("}"), body[..<open.lowerBound] == "HEAD" || body[..<open.lowerBound].isEmpty {
        guard let index = Int(body[open.upperBound..<body.index(before: body.endIndex)]), index >= 0 else {
          throw RevisionError.malformed(text)
        }
        base = .reflog(index)
      } else if body.isEmpty || !Self.canBeAName(body) {
        throw RevisionError.malformed(text)
      } else {
        base = .name(String(body))
      }
    }
    return Revision(base: base, back: back, text: text)
  }

  /// Whether `body` can be an event (`e5`, `e5+1`), a commit id or a branch name: `HEAD~x`,
  /// `HEAD~-1` or `e1+` are mistyped revisions (exit 64), not names nothing has (66); a
  /// slash stays (`origin/main` is unknown, not malformed).
  private static func canBeAName(_ body: Substring) -> Bool {
    guard body.allSatisfy({ $0.isLetter || $0.isNumber || "_-.+/".contains($0) }) else { return false }
    return !body.contains("+") || SeqNum(String(body)) != nil
  }
}

/// What a revision names.
public enum ResolvedRevision: Equatable, Sendable {
  /// A position in a branch's history (the current branch when `branch` is nil).
  case point(SeqNum, branch: String?)
  /// The head as it was `index` moves ago on the current branch (undo that many reflog
  /// entries).
  case reflog(index: Int, entry: ReflogEntry?)
}

public enum RevisionError: Error, Equatable, Sendable, CustomStringConvertible {
  case malformed(String)
  case unknown(String)
  case noEvent(String, head: SeqNum)
  case ambiguous(String, [String])
  case tooFarBack(String, available: Int)
  case reflogTooShort(String, entries: Int)
  case noStore(String)
  case notOnThisBranch(String, branch: String)
  case notAPoint(String)
  case noOrigHead(String)

  public var description: String {
    switch self {
    case .malformed(let text): return "'\(text)' is not a revision (see 'man lstore-revisions': e5, a commit id, HEAD~2, HEAD@{1}, a branch)"
    case .noEvent(let text, let head): return "no event \(text) (head is \(head))"
    case .unknown(let text): return "unknown revision '\(text)': no event, commit or branch by that name"
    case .ambiguous(let text, let ids):
      return "commit id prefix '\(text)' is ambiguous: \(ids.joined(separator: ", ")); give more characters"
    case .tooFarBack(let text, let available):
      return "'\(text)' goes back further than history (\(available) unit\(available == 1 ? "" : "s") of history there)"
    case .reflogTooShort(let text, let entries):
      return "'\(text)': the reflog has only \(entries) entr\(entries == 1 ? "y" : "ies") (see 'lstore reflog')"
    case .noStore(let text): return "'\(text)' names a branch or the reflog, which needs a store (not --eventlog)"
    case .notOnThisBranch(let text, let branch):
      return "'\(text)' is a point on branch '\(branch)', not on this branch; give an event or commit of this branch"
    case .notAPoint(let text): return "'\(text)' is a past head from the reflog; give an event or commit here"
    case .noOrigHead(let text): return "no \(text): no reset, rebase, pull or repair has moved this branch's head (see 'lstore reflog')"
    }
  }
}

/// Resolves revisions against a branch's eventlog, and against the other branches of its
/// store when there is one.
public struct RevisionResolver {
  public let eventlog: Eventlog
  public let store: Store?

  public init(eventlog: Eventlog, store: Store?) {
    self.eventlog = eventlog
    self.store = store
  }

  public func resolve(_ text: String) throws -> ResolvedRevision {
    try resolve(try Revision.parse(text))
  }

  public func resolve(_ revision: Revision) throws -> ResolvedRevision {
    var log = eventlog
    var branch: String? = nil
    let point: SeqNum
    switch revision.base {
    case .head: point = try eventlog.head()
    case .upstream:
      // git's @{u}: what the branch's remote store holds (main's is the backend head; another
      // branch's store may hold less of its confirmed history, see BranchUpstream).
      if let store, let upstream = try BranchUpstream.of(eventlog, branch: store.branch) {
        point = SeqNum.confirmedBoundary(backendHead: try upstream.publishedHead(eventlog))
      } else {
        point = SeqNum.confirmedBoundary(backendHead: try eventlog.backendHead())
      }
    case .reflog(let index):
      guard store != nil else { throw RevisionError.noStore(revision.text) }
      guard revision.back == 0 else { throw RevisionError.malformed(revision.text) }
      let entries = try eventlog.reflog(limit: index)
      guard index <= entries.count else { throw RevisionError.reflogTooShort(revision.text, entries: entries.count) }
      return .reflog(index: index, entry: index == 0 ? nil : entries[index - 1])
    case .origHead:
      guard store != nil else { throw RevisionError.noStore(revision.text) }
      guard revision.back == 0 else { throw RevisionError.malformed(revision.text) }
      // The moves git sets ORIG_HEAD for; the steps of a rebase or a pull's replay come
      // after their first entry, which is the one to undo back through.
      let entries = try eventlog.reflog()
      guard let newest = entries.firstIndex(where: { Self.setsOrigHead($0.action) }) else {
        throw RevisionError.noOrigHead(revision.text)
      }
      return .reflog(index: newest + 1, entry: entries[newest])
    case .name(let name):
      if let store, name != store.branch, store.branchExists(name) {
        log = try store.openEventlog(branch: name)
        branch = name
        point = try log.head()
      } else if let store, name == store.branch {
        point = try eventlog.head()
      } else {
        point = try resolveName(name, text: revision.text)
      }
    }
    guard revision.back > 0 else { return .point(point, branch: branch) }
    guard let earlier = try log.position(unitsBefore: point, count: revision.back) else {
      var units = 0
      try log.forEachUnit(through: point) { _ in units += 1; return true }
      throw RevisionError.tooFarBack(revision.text, available: units)
    }
    return .point(earlier, branch: branch)
  }

  static func setsOrigHead(_ action: String) -> Bool {
    action == "reset" || action == "pull" || action == "rebase (start)" || action == "repair"
  }

  /// A point on the current branch: an event, or a commit (its last event).
  private func resolveName(_ name: String, text: String) throws -> SeqNum {
    switch try match(name, text: text) {
    case .event(let seqNum): return seqNum
    case .commit(let commit): return commit.last
    }
  }

  private enum NameMatch {
    case event(SeqNum)
    case commit(Commit)
  }

  private func match(_ name: String, text: String) throws -> NameMatch {
    // `e5` is an event; a commit id can also start with "e" and be all digits after it, so
    // a missing event is looked up as a commit before giving up.
    if let seqNum = SeqNum(name), name.first == "e" || name.first == "E",
       try seqNum == .root || eventlog.event(at: seqNum) != nil {
      return .event(seqNum)
    }
    // As git, an abbreviated id needs at least 4 characters.
    let matches = name.count >= 4 && name.allSatisfy(\.isHexDigit) ? try eventlog.commits(withIDPrefix: name.lowercased()) : []
    if matches.count > 1 { throw RevisionError.ambiguous(name, matches.map { String($0.id.prefix(12)) }) }
    if let commit = matches.first { return .commit(commit) }
    if let seqNum = SeqNum(name), Int(name) != nil, try seqNum == .root || eventlog.event(at: seqNum) != nil {
      return .event(seqNum)
    }
    if SeqNum(name) != nil, name.first == "e" || name.first == "E" {
      throw RevisionError.noEvent(text, head: try eventlog.head())
    }
    throw RevisionError.unknown(text)
  }

  /// The eventlog of `branch` (nil: the one resolved against).
  private func eventlog(of branch: String?) throws -> Eventlog {
    guard let branch, let store else { return eventlog }
    return try store.openEventlog(branch: branch)
  }

  /// What `show` displays for a revision: the event a sequence number names, else the
  /// commit holding the point (`HEAD`, `HEAD~2`, a branch, a commit id), or the event there
  /// when no commit holds it.
  public enum Shown {
    case event(SeqNum, Eventlog)
    case commit(Commit, Eventlog)
  }

  public func shown(_ text: String) throws -> Shown {
    let revision = try Revision.parse(text)
    if case .name(let name) = revision.base, revision.back == 0 {
      let isBranch = store?.branchExists(name) == true
      if !isBranch || name == store?.branch {
        do {
          if case .event(let seqNum) = try match(name, text: text) { return .event(seqNum, eventlog) }
        } catch where isBranch {
          // The current branch's own name, which names no event or commit: its head, below.
        }
      }
    }
    guard case .point(let point, let branch) = try resolve(revision) else { throw RevisionError.notAPoint(text) }
    let log = try eventlog(of: branch)
    guard point != .root else { throw RevisionError.unknown(text) }
    if let commit = try log.commit(containing: point) { return .commit(commit, log) }
    return .event(point, log)
  }

  /// `--from`/`--to` (log, export): inclusive bounds on this branch. A sequence number is
  /// taken as it is (it need not exist: a range past the head is empty); any other revision
  /// names its unit, so `--from <commit>` starts at the commit's first event and `--to
  /// <commit>` ends at its last.
  public func bounds(from: String?, to: String?) throws -> (first: SeqNum?, last: SeqNum?) {
    func span(_ text: String) throws -> (first: SeqNum, last: SeqNum) {
      // A bare number that is also a commit id prefix (`49051234`) is the commit, as
      // everywhere else revisions are read.
      if let seqNum = SeqNum(text) {
        let isCommitPrefix = try text.first != "e" && text.first != "E" && text.count >= 4
          && !eventlog.commits(withIDPrefix: text).isEmpty
        if !isCommitPrefix { return (seqNum, seqNum) }
      }
      switch try shown(text) {
      case .event(let seqNum, let log):
        guard log === eventlog else { throw RevisionError.notOnThisBranch(text, branch: text) }
        return (seqNum, seqNum)
      case .commit(let commit, let log):
        guard log === eventlog else { throw RevisionError.notOnThisBranch(text, branch: text) }
        return (commit.first, commit.last)
      }
    }
    return (try from.map { try span($0).first }, try to.map { try span($0).last })
  }

  /// The events `text` selects for `log`: `B` is the history through B; `A..B` the events of
  /// B that A does not have (git's range: after where the two part, or after A when it is
  /// B's ancestor); an empty side is HEAD. On B's branch.
  public func range(_ text: String) throws -> (eventlog: Eventlog, branch: String?, after: SeqNum, through: SeqNum) {
    func point(_ side: Substring) throws -> (SeqNum, Eventlog, String?) {
      let revision = side.isEmpty ? "HEAD" : String(side)
      guard case .point(let seqNum, let branch) = try resolve(revision) else { throw RevisionError.notAPoint(revision) }
      return (seqNum, try eventlog(of: branch), branch)
    }
    guard let dots = text.range(of: "..") else {
      let (through, log, branch) = try point(Substring(text))
      return (log, branch, .root, through)
    }
    guard !text[dots.upperBound...].contains(".."), !text[dots.upperBound...].hasPrefix(".") else {
      throw RevisionError.malformed(text)
    }
    let (a, logA, branchA) = try point(text[..<dots.lowerBound])
    let (b, logB, branchB) = try point(text[dots.upperBound...])
    let after = branchA == branchB ? a : min(a, try logA.mergeBase(with: logB))
    return (logB, branchB, after, b)
  }

  /// Resolves a revision that must be a point on the current branch.
  public func point(_ text: String) throws -> SeqNum {
    switch try resolve(text) {
    case .point(let seqNum, nil): return seqNum
    case .point(_, let branch?): throw RevisionError.notOnThisBranch(text, branch: branch)
    case .reflog: throw RevisionError.notAPoint(text)
    }
  }
}

extension Store {
  /// Another branch's eventlog, read-only.
  public func openEventlog(branch name: String) throws -> Eventlog {
    guard branchExists(name) else { throw StoreError.notFound("no branch '\(name)' (see 'lstore branch')") }
    let path = eventlogPath(branch: name)
    let eventlog = Eventlog(connection: try Connection(path: path, mode: .readOnly))
    try eventlog.validate()
    return eventlog
  }

  public func eventlogPath(branch name: String) -> String {
    (branchDirectory(name) as NSString).appendingPathComponent(format.eventlogFileName)
  }
}
