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
      every table. Works on --eventlog files too (give --schema to check args).
      Exit status 0 when no error is found, 1 otherwise; --json prints one object per finding \
      and a last {"events","errors","warnings"} line.
      """)

  @ParentCommand var root: LStoreCommand

  @Option(name: .long, help: ArgumentHelp("Check against this schema file instead of the store's.", valueName: "path"),
          completion: .file(extensions: ["yaml", "yml", "json"]))
  var schema: String?

  @Flag(name: .long, help: "Also rebuild state from scratch and compare every table with the store's state.")
  var replay = false

  @Flag(name: .long, help: "One JSON object per finding: {severity, subject, message}, then {events, errors, warnings}.")
  var json = false

  func run() throws {
    let global = root.global
    let (eventlog, store) = try global.openEventlogForReading()
    let progress = ProgressReporter(quiet: global.quiet, interrupted: "the check did not finish (fsck changes nothing)")
    let loaded = try schema.map { try SchemaLoader.load(path: global.resolve($0)) } ?? store.map { try $0.loadSchema() }
    let report = try Fsck.check(
      eventlog: eventlog, schema: loaded, statePath: store.flatMap { store in loaded.map { store.statePath(for: $0) } },
      eventlogPath: store?.eventlogPath ?? global.resolve(global.eventlog ?? ""),
      options: .init(replay: replay), now: Clock.now(), progress: progress.handler)
    progress.operationEnded()
    let out = global.stdout
    for finding in report.findings {
      if json {
        let value: JSONValue = ["severity": .string(finding.severity.rawValue), "subject": .string(finding.subject),
                                "message": .string(finding.message)]
        out.line(value.compactText)
      } else {
        let label = finding.severity == .error ? global.style.red("error") : global.style.yellow("warning")
        out.line("\(label): \(finding.subject): \(finding.message)")
      }
    }
    if json {
      // Always a last line, so a clean store prints something a script can check.
      let summary: JSONValue = ["events": .integer(Int64(report.events)), "errors": .integer(Int64(report.errors)),
                                "warnings": .integer(Int64(report.findings.count - report.errors))]
      out.line(summary.compactText)
    } else {
      out.line("checked \(counted(report.events, "event")): \(report.errors) error\(report.errors == 1 ? "" : "s"), \(report.findings.count - report.errors) warning\(report.findings.count - report.errors == 1 ? "" : "s")")
    }
    if report.errors > 0 { throw ExitCode(ExitStatus.failure.rawValue) }
  }
}
