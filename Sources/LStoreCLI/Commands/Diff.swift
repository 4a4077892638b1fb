import ArgumentParser
import Foundation
import LStoreKit
import LStoreSQLite

struct DiffCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff",
    abstract: "Rows added, removed and changed between two points of history.",
    discussion: """
      <from> and <to> are revisions (see lstore-revisions): events (e100), commit ids, \
      HEAD~2, a branch (its head); <to> is HEAD when omitted, and a single <from>..<to> \
      means the same as the two (as git diff A..B). The eventlog is replayed into two scratch states, one \
      through each point, and every table is compared row by row, keyed by its primary key \
      (a table without one shows a changed row as removed and added). Nothing changes.

      Text: one line per table, 'todos: +2 -0 ~1', then '+ <row>', '- <row>' and \
      '~ <key> <column>: <old> -> <new>' lines. --json: one object per table, \
      {table, added: [row], removed: [row], changed: [{key, old, new}]}, rows as objects \
      keyed by column (values as in sql --json); in changed, old and new hold only the \
      columns that changed.

      Exit status 0 (also when rows differ), 66 for an unknown revision or table, 64 for a \
      malformed revision, 65 when the eventlog does not replay with the schema. Ctrl-C \
      (130) or SIGTERM (143) removes the scratch states before lstore exits.
      """)

  @ParentCommand var root: LStoreCommand

  @Argument(help: ArgumentHelp("The earlier point (e100, a commit, HEAD~2).", valueName: "from"))
  var from: String

  @Argument(help: ArgumentHelp("The later point (default HEAD).", valueName: "to"))
  var to: String?

  @Option(name: .long, help: ArgumentHelp("Compare only this table.", valueName: "name"))
  var table: String?

  @Option(name: .long, help: ArgumentHelp("Replay with this schema file instead of the store's (needed with --eventlog).", valueName: "path"),
          completion: .file(extensions: ["yaml", "yml", "json"]))
  var schema: String?

  @Flag(name: .long, help: "One JSON object per table.")
  var json = false

  func run() throws {
    let global = root.global
    let (eventlog, store) = try global.openEventlogForReading()
    let loaded = try global.replaySchema(schema, store: store)
    var (from, to) = (from, to ?? "HEAD")
    if self.to == nil, let dots = from.range(of: "..") {
      (from, to) = (String(from[..<dots.lowerBound]), String(from[dots.upperBound...]))
      if from.isEmpty { from = "HEAD" }
      if to.isEmpty { to = "HEAD" }
    }
    InterruptNotice.removeScratchOnSignal("lstore: error: interrupted; diff changes nothing\n")
    let diff = try StateDiff.open(
      resolver: RevisionResolver(eventlog: eventlog, store: store),
      eventlogPath: store?.eventlogPath ?? global.resolve(global.eventlog ?? ""), schema: loaded,
      from: from, to: to, table: table, now: Clock.now())
    defer { diff.close() }
    // Row by row as the comparison yields them: nothing of the difference is held.
    let out = global.stdout
    for table in diff.tables {
      if json {
        let shape = TableDiff(table)
        out.write("{\"table\":\(JSONValue.string(table.name).compactText)")
        for kind in RowDifference.Kind.allCases {
          out.write(",\(JSONValue.string(Self.jsonKey(kind)).compactText):[")
          var first = true
          try diff.forEachDifference(kind, of: table) { difference in
            out.write((first ? "" : ",") + TableDiffText.json(difference, of: shape).compactText)
            first = false
          }
          out.write("]")
        }
        out.line("}")
        continue
      }
      let counts = try diff.count(table)
      out.line("\(table.name): +\(counts.addedCount) -\(counts.removedCount) ~\(counts.changedCount)")
      for kind in RowDifference.Kind.allCases {
        try diff.forEachDifference(kind, of: table) { out.line(TableDiffText.line($0, of: counts, style: global.style)) }
      }
    }
  }

  /// The key of a kind's array in a table's `--json` object.
  static func jsonKey(_ kind: RowDifference.Kind) -> String {
    switch kind {
    case .added: return "added"
    case .removed: return "removed"
    case .changed: return "changed"
    }
  }
}
