import Foundation

/// One line of a rebase plan, as it is executed.
public struct RebaseStep: Codable, Equatable, Sendable {
  public enum Verb: String, Codable, CaseIterable, Sendable {
    case pick, reword, edit, squash, fixup, exec

    /// git's one-letter forms.
    static let abbreviations: [String: Verb] = ["p": .pick, "r": .reword, "e": .edit, "s": .squash, "f": .fixup, "x": .exec]
  }

  public var verb: Verb
  /// The original events the step replays, `first...last` in the branch's history before
  /// the rebase (nil for exec).
  public var first: SeqNum?
  public var last: SeqNum?
  /// The commit the events belonged to, when the step names a commit.
  public var commit: CommitTemplate?
  /// reword: the new message; exec: the command.
  public var text: String?

  public init(verb: Verb, first: SeqNum? = nil, last: SeqNum? = nil, commit: CommitTemplate? = nil, text: String? = nil) {
    self.verb = verb
    self.first = first
    self.last = last
    self.commit = commit
    self.text = text
  }

  /// The default plan's step for a history unit: pick it, with its commit.
  static func pick(_ unit: HistoryUnit) -> RebaseStep {
    RebaseStep(verb: .pick, first: unit.first, last: unit.last, commit: unit.commit.map(CommitTemplate.init))
  }

  /// How the step reads in a plan and in messages.
  public var reference: String {
    if let commit { return commit.id }
    guard let first, let last else { return "" }
    return first == last ? first.description : "\(first)..\(last)"
  }
}

/// What a commit record carries into a rebase (its range is recomputed).
public struct CommitTemplate: Codable, Equatable, Sendable {
  public var id: String
  public var message: String
  public var authorName: String
  public var authorEmail: String
  public var time: String

  init(_ commit: Commit) {
    id = commit.id
    message = commit.message
    authorName = commit.author.name
    authorEmail = commit.author.email
    time = commit.time
  }

  var author: Author { Author(name: authorName, email: authorEmail) }
}

/// A rebase plan in git's todo-list form: `pick <commit> <message>` per commit, oldest
/// first, `#` comments. A script that edits git's todo list edits this one.
public enum RebasePlan {
  /// The default plan: pick every unit, oldest first (what `RebaseSteps.pickEvery` writes
  /// without holding the units).
  public static func steps(for units: [HistoryUnit]) -> [RebaseStep] { units.map(RebaseStep.pick) }

  public static func render(_ units: [HistoryUnit], header: String) -> String {
    var lines = units.map { "pick \($0.reference) \($0.summary)" }
    lines.append("")
    lines.append("# \(header) (\(units.count) command\(units.count == 1 ? "" : "s"))")
    lines.append(contentsOf: helpText.split(separator: "\n", omittingEmptySubsequences: false).map { "# " + $0 }.map { $0.hasSuffix(" ") ? String($0.dropLast()) : $0 })
    return lines.joined(separator: "\n") + "\n"
  }

  static let helpText = """

    Commands:
    p, pick <commit> = use commit
    r, reword <commit> <message> = use commit, with the message written after it on this line
    e, edit <commit> = use commit, but stop so you can 'lstore commit' more or 'lstore commit --amend'
    s, squash <commit> = meld into the previous commit, keeping both messages
    f, fixup <commit> = meld into the previous commit, keeping only the previous message
    x, exec <command> = run command (the rest of the line) with sh; stop if it fails
    d, drop <commit> = remove commit

    <commit> is a commit id or a unique prefix of it, one event (e42), or a range of
    events (e42..e50); events named on their own are replayed without a commit record.
    Lines run from top to bottom and may be reordered. Removing a line drops that commit;
    an empty plan aborts the rebase.
    """

  /// Parses a plan edited by the user against the units it may name. Unknown verbs, refs
  /// outside the rebased range, an event named twice and a squash with nothing before it
  /// are errors naming the line.
  public static func parse(_ text: String, units: [HistoryUnit]) throws -> [RebaseStep] {
    var steps: [RebaseStep] = []
    var used: [(SeqNum, SeqNum, Int)] = []
    for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let lineNumber = index + 1
      // CRLF plans (an editor on another system) read like LF ones.
      let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
      if line.isEmpty || line.hasPrefix("#") { continue }
      let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true).map(String.init)
      let verbText = parts[0].lowercased()
      if verbText == "noop" { continue }
      if verbText == "d" || verbText == "drop" {
        // Checked like any line, so that a typo is not a silent drop of nothing.
        guard parts.count >= 2 else { throw RebasePlanError(line: lineNumber, reason: "drop needs a commit or event") }
        _ = try resolve(parts[1], verb: .pick, units: units, line: lineNumber)
        continue
      }
      guard let verb = RebaseStep.Verb(rawValue: verbText) ?? RebaseStep.Verb.abbreviations[verbText] else {
        throw RebasePlanError(line: lineNumber, reason: "unknown command '\(parts[0])' (pick, reword, edit, squash, fixup, exec, drop, noop)")
      }
      if verb == .exec {
        let command = line.dropFirst(parts[0].count).trimmingCharacters(in: .whitespaces)
        guard !command.isEmpty else { throw RebasePlanError(line: lineNumber, reason: "exec needs a command") }
        steps.append(RebaseStep(verb: .exec, text: command))
        continue
      }
      guard parts.count >= 2 else { throw RebasePlanError(line: lineNumber, reason: "\(verb.rawValue) needs a commit or event") }
      var step = try resolve(parts[1], verb: verb, units: units, line: lineNumber)
      if verb == .reword {
        guard parts.count == 3, !parts[2].trimmingCharacters(in: .whitespaces).isEmpty else {
          throw RebasePlanError(line: lineNumber, reason: "reword needs the new message after the commit on the same line")
        }
        step.text = parts[2]
      }
      if verb == .squash || verb == .fixup, !steps.contains(where: { $0.verb != .exec }) {
        throw RebasePlanError(line: lineNumber, reason: "cannot \(verb.rawValue) without a previous commit")
      }
      if let overlap = used.first(where: { step.first! <= $0.1 && $0.0 <= step.last! }) {
        throw RebasePlanError(line: lineNumber, reason: "\(parts[1]) names events that line \(overlap.2) already names")
      }
      used.append((step.first!, step.last!, lineNumber))
      steps.append(step)
    }
    return steps
  }

  private static func resolve(_ ref: String, verb: RebaseStep.Verb, units: [HistoryUnit], line: Int) throws -> RebaseStep {
    let lower = units.first?.first ?? .root
    let upper = units.last?.last ?? .root
    func inRange(_ seqNum: SeqNum) -> Bool { lower <= seqNum && seqNum <= upper }
    // An event (e42) or a range (e42..e50); a commit id may start with "e" too, so a ref
    // that does not parse as events is looked up as a commit.
    let bounds = ref.components(separatedBy: "..")
    if ref.first == "e" || ref.first == "E", bounds.count <= 2, bounds.allSatisfy({ SeqNum($0) != nil }) {
      guard let first = SeqNum(bounds[0]), let last = SeqNum(bounds.last!), first <= last else {
        throw RebasePlanError(line: line, reason: "'\(ref)' is not an event (e42) or a range (e42..e50)")
      }
      guard inRange(first), inRange(last) else {
        throw RebasePlanError(line: line, reason: "\(ref) is not among the events being rebased (\(lower)..\(upper))")
      }
      // A range that is exactly one commit is that commit.
      if let unit = units.first(where: { $0.first == first && $0.last == last }), let commit = unit.commit {
        return RebaseStep(verb: verb, first: first, last: last, commit: CommitTemplate(commit))
      }
      return RebaseStep(verb: verb, first: first, last: last)
    }
    let matches = units.filter { $0.commit.map { $0.id.hasPrefix(ref.lowercased()) } ?? false }
    guard ref.count >= 4, !matches.isEmpty else {
      throw RebasePlanError(line: line, reason: "'\(ref)' is not a commit being rebased (give its id, or at least 4 characters of it)")
    }
    guard matches.count == 1 else { throw RebasePlanError(line: line, reason: "commit id prefix '\(ref)' is ambiguous") }
    let unit = matches[0]
    return RebaseStep(verb: verb, first: unit.first, last: unit.last, commit: unit.commit.map(CommitTemplate.init))
  }
}

public struct RebasePlanError: Error, Equatable, Sendable, CustomStringConvertible {
  public var line: Int
  public var reason: String
  public var description: String { "rebase plan line \(line): \(reason)" }
}
