import ArgumentParser
import Foundation
import LStoreKit

struct FsckCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fsck",
    abstract: "Check an eventlog, its commits and its state; change nothing.",
    discussion: """
      Checks the parent chain (LiveStore's numbering), that every argsJson parses and matches \
      the schema, sync metadata, the backend head, commit ranges, that the state is built \
      through the head with the schema's materializers, and that every pending event has the \
      changeset a rebase needs. --replay also rebuilds the state from scratch and compares \
      every table (and, when the state cannot be compared, still reports whether the \
      eventlog replays). Works on --eventlog files too (give --schema to check args).

      Every finding has a stable code, shown in brackets and in --json: chain-broken, \
      args-invalid-json, sync-metadata, client-only-mismatch, args-schema, unknown-event, \
      backend-head-ahead, commit-reversed, commit-overlap, commit-missing-events, \
      changeset-missing, replay-fails, state-differs, state-schema-changed, eventlog-damaged, \
      state-damaged (errors); \
      state-behind, state-ahead, state-stale, state-missing (warnings). docs/fsck.md explains \
      each; 'lstore repair' fixes most of them (docs/repair.md).

      --json prints one object per finding, {code, severity, subject, message} (plus table and \
      key for state-differs), then one summary object {summary: "fsck", events, errors, warnings, \
      omitted}. Exit status 0 when no error is found (warnings alone are 0), 1 when any is.
      """)

  @ParentCommand var root: LStoreCommand

  @Option(name: .long, help: ArgumentHelp("Check against this schema file instead of the store's.", valueName: "path"),
          completion: .file(extensions: ["yaml", "yml", "json"]))
  var schema: String?

  @Flag(name: .long, help: "Also rebuild state from scratch and compare every table with the store's state.")
  var replay = false

  @Flag(name: .long, help: "One JSON object per finding ({code, severity, subject, message}), then a summary object.")
  var json = false

  func run() throws {
    let global = root.global
    let progress = ProgressReporter(quiet: global.quiet, interrupted: "the check did not finish (fsck changes nothing)")
    let report: Fsck.Report
    do {
      let (eventlog, store) = try global.openEventlogForReading()
      let loaded = try schema.map { try SchemaLoader.load(path: global.resolve($0)) } ?? store.map { try $0.loadSchema() }
      report = try Fsck.check(
        eventlog: eventlog, schema: loaded, statePath: store.flatMap { store in loaded.map { store.statePath(for: $0) } },
        eventlogPath: store?.eventlogPath ?? global.resolve(global.eventlog ?? ""),
        options: .init(replay: replay), now: Clock.now(), progress: progress.handler)
    } catch StoreError.damagedEventlog(let path, let reason) {
      report = Fsck.damagedEventlog(path: path, reason: reason)
    }
    progress.operationEnded()
    let out = global.stdout
    for finding in report.findings {
      if json {
        var entries: [(key: String, value: JSONValue)] = [
          ("code", .string(finding.code.rawValue)), ("severity", .string(finding.severity.rawValue)),
          ("subject", .string(finding.subject)), ("message", .string(finding.message)),
        ]
        if let table = finding.table { entries.append(("table", .string(table))) }
        if let key = finding.key { entries.append(("key", .string(key))) }
        out.line(JSONValue.object(JSONObject(entries)).compactText)
      } else {
        let label = finding.severity == .error ? global.style.red("error") : global.style.yellow("warning")
        out.line("\(label) [\(finding.code.rawValue)]: \(finding.subject): \(finding.message)")
      }
    }
    if json {
      let summary: JSONValue = ["summary": "fsck", "events": .integer(Int64(report.events)), "errors": .integer(Int64(report.errors)),
                                "warnings": .integer(Int64(report.warnings)), "omitted": .integer(Int64(report.omitted))]
      out.line(summary.compactText)
    } else {
      if report.omitted > 0 { out.line("(\(counted(report.omitted, "more finding")) not shown)") }
      out.line("checked \(counted(report.events, "event")): \(report.errors) error\(report.errors == 1 ? "" : "s"), \(report.warnings) warning\(report.warnings == 1 ? "" : "s")")
    }
    if report.errors > 0 { throw ExitCode(ExitStatus.failure.rawValue) }
  }
}
