import ArgumentParser
import Foundation
import LStoreKit

struct ReplayCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "replay",
    abstract: "Replay the eventlog through a schema into a scratch state and report (for CI).",
    discussion: """
      Every event of the current branch's eventlog (or the --eventlog file) is materialized \
      with the --schema file (default: the store's schema) into a temporary state, which is \
      deleted afterwards: the store's eventlog and state are only read. An event that fails \
      does not stop the replay: its name is not in the schema (unknown), its args do not \
      match the schema (invalid args), or its materializer fails (the SQL error is reported); \
      nothing it wrote is kept, and the next event is replayed. The report gives per event \
      name the count, the applied events and the first failures (--sample, default 10), and \
      the rows written per table (inserted, updated, deleted).

      --against <state.db> compares the replayed state with that state file, table by table, \
      keyed by primary key: rows added (only in the replay), removed (only in the file) and \
      changed, with counts and the first rows of each kind. A table of the schema that the \
      file lacks, or has with other columns, and a table of the file that the schema lacks \
      are reported as differences.

      --json prints the report as one JSON object (docs/replay.md documents every key). \
      Exit status: 0 clean (every event applied, and with --against the states are equal); \
      5 the state differs from --against (every event applied); 6 some event failed \
      (whether or not the states differ); 64 usage (--eventlog without --schema); 65 a schema \
      that does not load or an --against file that is not a database; 66 no such schema, \
      --against or --eventlog file; 130 (Ctrl-C) or 143 (SIGTERM) interrupted, after removing \
      the temporary state.
      """)

  @ParentCommand var root: LStoreCommand

  @Option(name: .long, help: ArgumentHelp("Replay with this schema file (default: the store's; needed with --eventlog).", valueName: "path"),
          completion: .file(extensions: ["yaml", "yml", "json"]))
  var schema: String?

  @Option(name: .long, help: ArgumentHelp("Compare the replayed state with this state file.", valueName: "state.db"),
          completion: .file(extensions: ["db"]))
  var against: String?

  @Option(name: .long, help: ArgumentHelp("Keep this many failures per event name and rows of each kind per table.", valueName: "n"))
  var sample = 10

  @Flag(name: .long, help: "Print the report as one JSON object.")
  var json = false

  func validate() throws {
    guard sample >= 0 else { throw ValidationError("--sample takes a count (0 or more), not \(sample)") }
  }

  func run() throws {
    let global = root.global
    let (_, store) = try global.openEventlogForReading()
    guard schema != nil || store != nil else { throw SchemaReplayError.noSchema }
    let loaded = try global.replaySchema(schema, store: store)
    let progress = ProgressReporter(quiet: global.quiet, interrupted: "the replay did not finish (replay changes nothing)")
    InterruptNotice.removeScratchOnSignal()
    let report = try SchemaReplay.run(
      eventlogPath: store?.eventlogPath ?? global.resolve(global.eventlog ?? ""), schema: loaded,
      againstPath: against.map { global.resolve($0) }, sampleLimit: sample, now: Clock.now(), progress: progress.handler)
    progress.operationEnded()
    let status = Self.exitStatus(report.outcome)
    if json {
      global.stdout.line(report.json.compactText)
    } else {
      for line in ReplayText.lines(report, style: global.style) { global.stdout.line(line) }
      global.stdout.line("Result: \(report.outcome.rawValue)\(status == .success ? "" : " (exit \(status.rawValue))")")
    }
    // One line on stderr too, for a CI log whose stdout went to report.json.
    switch report.outcome {
    case .clean: break
    case .failures:
      var kinds: [String] = []
      if report.unknownEvents > 0 { kinds.append("\(report.unknownEvents) unknown") }
      if report.invalidArgs > 0 { kinds.append("\(report.invalidArgs) with invalid args") }
      if report.materializerFailures > 0 { kinds.append("\(report.materializerFailures) materializer \(report.materializerFailures == 1 ? "failure" : "failures")") }
      throw InputError(status: status, message: "replay: \(report.failed) of \(counted(report.events, "event")) failed (\(kinds.joined(separator: ", ")))")
    case .differences:
      let tables = report.against?.tables.filter(\.differs).map(\.table) ?? []
      throw InputError(status: status, message: "replay: the state differs from \(against ?? "the --against file") in \(counted(tables.count, "table")) (\(tables.joined(separator: ", ")))")
    }
  }

  static func exitStatus(_ outcome: SchemaReplay.Outcome) -> ExitStatus {
    switch outcome {
    case .clean: return .success
    case .differences: return .stateDiffers
    case .failures: return .eventsFailed
    }
  }
}
