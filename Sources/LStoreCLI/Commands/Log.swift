import ArgumentParser
import Foundation
import LStoreKit

struct LogCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "log",
    abstract: "Show history, newest first: commits, or every event with --events.",
    discussion: """
      Events that arrived without a commit (pulled from apps) are grouped into runs from \
      one client and session.

      --json prints one JSON object per event, newest first; the format is stable \
      (docs/output-formats.md):
        {"seqNum":"e3","parentSeqNum":"e2","name":…,"args":{…},
         "clientId":…,"sessionId":…,"schemaHash":…,
         "syncMetadata":{"_tag":"None"},"clientOnly":false,
         "commit":{"id":…,"message":…}|null}

      <revision> limits the history as git's does (see lstore-revisions): 'lstore log e20' \
      or 'log HEAD~2' shows it through that point, 'log feat' another branch's history, \
      'log main..feat' the events of feat that main does not have (after where they part), \
      'log feat..' those of HEAD that feat does not have. -<n> is -n <n>, as in git.

      --graph draws the history as a tree, one line per commit: with --all every branch, \
      each drawn from where it parts from the branch it was made from, with local heads \
      (HEAD -> main) and remote heads as of the last push or pull (origin/main) marked.

      --oneline prints one line per commit (or per event with --events):
        <commit id, 16 hex> <first>..<last> <message>   (commits; - for none)
        <seqNum> <name> <args JSON>                     (events)
      """)

  @ParentCommand var root: LStoreCommand
  @OptionGroup var filter: EventFilterOptions

  @Argument(help: ArgumentHelp("A revision (e20, HEAD~2, a commit, a branch) or a range A..B.", valueName: "revision"))
  var revision: String?

  @Flag(name: .long, help: "One line per commit, or per event with --events.")
  var oneline = false

  @Flag(name: .long, help: "List every event instead of commits.")
  var events = false

  @Flag(name: .long, help: "One JSON object per event (NDJSON), newest first.")
  var json = false

  @Flag(name: .long, help: "Oldest first.")
  var reverse = false

  @Flag(name: .long, help: "Draw history as a tree, one line per commit, with branch and remote heads.")
  var graph = false

  @Flag(name: .long, help: "Every branch, each from where it parts from another (with or without --graph).")
  var all = false

  @Option(name: [.customShort("n", allowingJoined: true), .customLong("max-count")], help: "Show at most this many commits (or events).")
  var maxCount: Int?
  /// As git: a negative count is no limit.
  var limit: Int? { maxCount.flatMap { $0 < 0 ? nil : $0 } }

  func validate() throws {
    if graph || all {
      if json || events || reverse || revision != nil || filter.isActive || filter.from != nil || filter.to != nil {
        throw ValidationError("--graph and --all show whole branches: no --json, --events, --reverse, revision or filter")
      }
    }
  }

  func run() throws {
    let global = root.global
    if graph || all {
      try printGraph(global)
      return
    }
    var (eventlog, store) = try global.openEventlogForReading()
    var (after, through) = try filter.range(RevisionResolver(eventlog: eventlog, store: store))
    if let revision {
      let range = try RevisionResolver(eventlog: eventlog, store: store).range(revision)
      eventlog = range.eventlog
      after = max(after, range.after)
      through = min(through ?? range.through, range.through)
    }
    if reverse, let limit, limit > 0 {
      after = try startOfNewest(limit, eventlog, after: after, through: through)
    }
    let out = global.stdout
    if json || events {
      try printEvents(eventlog, after: after, through: through, out: out, style: global.style)
    } else {
      try printCommits(eventlog, after: after, through: through, out: out, style: global.style)
    }
  }

  private var order: Eventlog.Order { reverse ? .ascending : .descending }

  func printGraph(_ global: GlobalOptions) throws {
    let store = try global.openStore()
    let style = global.style
    let names = all ? try store.listBranches().map(\.name) : [store.branch]
    var printed = 0
    let maxCount = self.limit
    let graph = self.graph
    try HistoryGraph.walk(store: store, branches: names) { line in
      guard let unit = line.unit else {
        if graph { global.stdout.line(line.graph.trimmingCharacters(in: .whitespaces)) }
        return true
      }
      if let maxCount, printed >= maxCount { return false }
      printed += 1
      let range = eventRange(unit.first, unit.last)
      let id = unit.commit.map { style.yellow($0.id) } ?? style.dim("-")
      let heads = line.decorations.isEmpty ? "" : " (" + line.decorations.map { head in
        head.hasPrefix("HEAD -> ") ? style.green(head) : head.contains("/") ? style.red(head) : style.green(head)
      }.joined(separator: ", ") + ")"
      global.stdout.line("\(graph ? line.graph : "")\(id) \(range)\(heads) \(unit.summary)")
      return true
    }
  }

  /// git's `log -3` is `log -n 3`: rewritten before parsing, for the log command only.
  static func expandingCountShorthand(_ arguments: [String]) -> [String] {
    guard let command = arguments.firstIndex(of: "log") else { return arguments }
    var result = Array(arguments[...command])
    var literal = false
    for argument in arguments[(command + 1)...] {
      if argument == "--" { literal = true }
      let isNegativeNumber = argument.count > 1 && argument.first == "-" && argument.dropFirst().allSatisfy(\.isASCII)
        && argument.dropFirst().allSatisfy(\.isNumber)
      if !literal, isNegativeNumber, let option = result.last, option == "-n" || option == "--max-count" {
        // `-n -1`: the count itself (no limit), not the `-1` shorthand.
        result[result.count - 1] = "--max-count=" + argument
      } else if !literal, isNegativeNumber {
        result += ["-n", String(argument.dropFirst())]
      } else {
        result.append(argument)
      }
    }
    return result
  }

  // The loops below read every option into a local first: an ArgumentParser property
  // wrapper costs a generic metadata lookup on each access, which showed up as a fifth of
  // `log --oneline` over a million events.

  func printEvents(_ eventlog: Eventlog, after: SeqNum, through: SeqNum?, out: OutputStream, style: Style) throws {
    let commits = try eventlog.commitCursor(after: after, through: through, order: order)
    var tracker = CommitTracker(cursor: commits, ascending: reverse)
    let json = self.json
    let oneline = self.oneline
    let maxCount = self.limit
    let filter = self.filter
    let filterActive = filter.isActive
    let plain = !style.enabled
    var printed = 0
    var writer = JSONWriter(reservingCapacity: 512)
    try eventlog.forEach(after: after, through: through, order: order) { row in
      if filterActive, !filter.matches(row) { return true }
      if let maxCount, printed >= maxCount { return false }
      let seqNum = row.seqNum
      if json {
        let commit = try tracker.commit(for: seqNum)
        writer.removeAll()
        EventJSON.write(row, commit: commit, into: &writer)
        writer.bytes.append(0x0A)
        out.write(bytes: writer.bytes)
      } else if oneline {
        // <seqNum> <name> <args JSON>; the commit is not shown, so it is not looked up.
        writer.removeAll()
        if plain {
          writer.writeSeqNum(seqNum)
        } else {
          writer.writeRaw(style.yellow(seqNum.description))
        }
        writer.bytes.append(0x20)
        writer.writeText(row.nameUTF8)
        writer.bytes.append(0x20)
        EventJSON.writeArgsOnOneLine(of: row, into: &writer)
        writer.bytes.append(0x0A)
        out.write(bytes: writer.bytes)
      } else {
        let commit = try tracker.commit(for: seqNum)
        out.line("\(style.yellow("event \(seqNum)")) (parent \(row.parentSeqNum))\(commit.map { "  commit \(String($0.id.prefix(8))) \($0.message)" } ?? "")")
        out.line("  \(style.bold(row.name)) \(EventJSON.argsOnOneLine(of: row))")
        out.line("  client \(row.clientId), session \(row.sessionId)\(row.syncMetadataJSON == EventRecord.noSyncMetadata ? "" : ", synced")")
        out.line()
      }
      printed += 1
      return true
    }
  }

  /// A run of events shown as one entry: a commit, or consecutive uncommitted events of one
  /// client and session.
  func printCommits(_ eventlog: Eventlog, after: SeqNum, through: SeqNum?, out: OutputStream, style: Style) throws {
    let oneline = self.oneline
    let maxCount = self.limit
    var printed = 0
    try walkGroups(eventlog, after: after, through: through, order: order) { group in
      if let maxCount, printed >= maxCount { return false }
      render(group, oneline: oneline, out: out, style: style)
      printed += 1
      return true
    }
  }

  /// The entries of history in `order` that the filter matches, each handed to `visit`
  /// (return false to stop): the library's history units.
  private func walkGroups(_ eventlog: Eventlog, after: SeqNum, through: SeqNum?, order: Eventlog.Order,
                          visit: (HistoryUnit) throws -> Bool) throws {
    let filter = self.filter
    try eventlog.forEachUnit(after: after, through: through, order: order,
                             matching: filter.isActive ? { filter.matches($0) } : nil, visit)
  }

  /// With --reverse, -n keeps the newest entries (as git does) and shows them oldest first:
  /// where the oldest of them starts, found walking back.
  private func startOfNewest(_ count: Int, _ eventlog: Eventlog, after: SeqNum, through: SeqNum?) throws -> SeqNum {
    var oldest: SeqNum? = nil
    var seen = 0
    if json || events {
      let filter = self.filter
      try eventlog.forEach(after: after, through: through, order: .descending) { row in
        guard !filter.isActive || filter.matches(row) else { return true }
        oldest = row.seqNum
        seen += 1
        return seen < count
      }
    } else {
      try walkGroups(eventlog, after: after, through: through, order: .descending) { group in
        oldest = group.first
        seen += 1
        return seen < count
      }
    }
    return max(after, oldest?.justBefore ?? after)
  }

  private func render(_ group: HistoryUnit, oneline: Bool, out: OutputStream, style: Style) {
    let range = eventRange(group.first, group.last)
    let plural = group.count == 1 ? "event" : "events"
    if let commit = group.commit {
      if oneline {
        out.line("\(style.yellow(commit.id)) \(range) \(commit.message.firstLine)")
      } else {
        out.line(style.yellow("commit \(commit.id)") + " (\(range), \(group.count) \(plural))")
        out.line("Author: \(commit.author)")
        out.line("Date:   \(commit.time)")
        out.line()
        for line in commit.message.split(separator: "\n", omittingEmptySubsequences: false) { out.line("    \(line)") }
        out.line()
      }
    } else {
      if oneline {
        out.line("\(style.dim("-")) \(range) (\(group.count) \(plural) from \(group.clientId)/\(group.sessionId), no commit)")
      } else {
        out.line(style.yellow("events \(range)") + " (\(group.count) \(plural), no commit)")
        out.line("Client: \(group.clientId), session \(group.sessionId)")
        out.line()
      }
    }
  }
}

extension String {
  var firstLine: String { split(separator: "\n", maxSplits: 1).first.map(String.init) ?? "" }
}
