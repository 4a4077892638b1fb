import ArgumentParser
import Foundation
import LStoreKit

struct RepairCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "repair",
    abstract: "Fix what fsck finds, after a backup: renumber, quarantine, reset heads, rebuild state.",
    discussion: """
      Runs fsck (with --replay) and plans one action per problem: renumber a broken chain of \
      pending events by LiveStore's rules (gaps, duplicates, wrong parents; changesets and \
      commit records move with them), quarantine a poisoned event (unknown name, args that \
      do not parse or match the schema, a materializer that fails on it) into \
      .lstore/quarantine/<time>.ndjson with everything needed to restore it, give a pending \
      event with broken sync metadata LiveStore's None, lower a backend head beyond the last \
      synced event, drop or narrow bad commit records, and rebuild the \
      state from the eventlog with the current schema (also when the schema's tables changed, \
      LiveStore #1552: the eventlog is kept).

      --dry-run prints the plan and changes nothing. Otherwise the repair first copies every \
      file it changes into .lstore/backups/repair-<time>/ (named in its output), does the \
      work on scratch copies and swaps them in at the end: a failure leaves the original \
      files. 'lstore repair --restore <backup>' puts the files back byte for byte. Events the \
      backend has confirmed are never rewritten without --force (exit 2, nothing changed).

      Output: one line per action, '<action> [<code>] <subject>: <change> (<reason>)'; \
      --json prints one object per action {action, code, subject, change, reason, confirmed} \
      and a summary {summary: "repair", dryRun, actions, needsForce, backup, quarantine, \
      remaining}. Exit 0 when the store is clean afterwards (for --dry-run: when the plan \
      would make it clean), 1 when findings remain that repair cannot fix, 2 when the plan \
      needs --force (nothing changed). See docs/repair.md.
      """)

  @ParentCommand var root: LStoreCommand

  @Flag(name: .long, help: "Print the plan; change nothing.")
  var dryRun = false

  @Flag(name: .long, help: "Also rewrite events the backend has confirmed, when the plan needs to.")
  var force = false

  @Option(name: .long, help: ArgumentHelp("Put back the files of a backup a repair wrote, byte for byte.", valueName: "backup"),
          completion: .directory)
  var restore: String?

  @Flag(name: .long, help: "One JSON object per action, then a summary object.")
  var json = false

  func validate() throws {
    if restore != nil && (dryRun || force) { throw ValidationError("--restore takes no --dry-run or --force") }
  }

  func run() throws {
    let global = root.global
    let store = try global.openStore()
    let out = global.stdout
    if let restore {
      let directory = global.resolve(restore)
      guard FileManager.default.fileExists(atPath: directory) else { throw InputError.notFound("no such backup: \(restore)") }
      let restored = try Repair.restore(backup: directory, store: store)
      if json {
        out.line((["summary": "restore", "backup": .string(directory), "files": .array(restored.map { .string($0) })] as JSONValue).compactText)
      } else {
        out.line("Restored \(counted(restored.count, "file")) from \(directory): \(restored.joined(separator: ", "))")
      }
      return
    }
    let schema = try store.loadSchema()
    let environment = ProcessInfo.processInfo.environment
    // A test hook: make the repair fail at a given point, to show that a failure loses nothing.
    let failAt = environment["LSTORE_REPAIR_FAIL_AT"].flatMap(RepairFailurePoint.init(rawValue:))
    let plan: RepairPlan
    var result: RepairResult?
    if dryRun {
      plan = try Repair.plan(store: store, schema: schema, now: Clock.now())
    } else {
      let applied = try Repair.run(store: store, schema: schema, options: RepairOptions(force: force, failAt: failAt),
                                   now: Clock.now())
      result = applied
      plan = applied.plan
    }
    for action in plan.actions {
      out.line(json ? action.json.compactText : render(action))
    }
    let remaining = result?.after.findings ?? plan.findings.filter { finding in
      plan.actions.contains { $0.kind == .cannotFix && $0.code == finding.code && $0.subject == finding.subject }
    }
    let remainingErrors = result.map { $0.after.errors } ?? remaining.filter { $0.severity == .error }.count
    if json {
      let summary: JSONValue = [
        "summary": "repair", "dryRun": .bool(dryRun), "actions": .integer(Int64(plan.changes.count)),
        "needsForce": .bool(plan.needsForce),
        "backup": result?.backup.map { .string($0.directory) } ?? .null,
        "quarantine": result?.quarantineFile.map { .string($0) } ?? .null,
        "remaining": .array(remaining.map { ["code": .string($0.code.rawValue), "severity": .string($0.severity.rawValue),
                                             "subject": .string($0.subject), "message": .string($0.message)] }),
      ]
      out.line(summary.compactText)
    } else if dryRun {
      if plan.isEmpty {
        out.line("Nothing to repair\(remaining.isEmpty ? "" : ": \(counted(remaining.count, "finding")) repair cannot fix")")
      } else {
        out.line("Would apply \(counted(plan.changes.count, "action"))\(plan.needsForce ? "; it rewrites confirmed events, so it needs --force" : "") (nothing changed; 'lstore repair' applies it after a backup)")
      }
    } else if let result {
      if let backup = result.backup {
        out.line("Backup: \(backup.directory) (undo with 'lstore repair --restore \(ShellQuoting.quoted(backup.directory))')")
      }
      if let file = result.quarantineFile {
        out.line("Quarantined \(counted(plan.quarantined.count, "event")) into \(file) (docs/repair.md says how to restore one)")
      }
      for finding in result.after.findings {
        out.line("remaining \(finding.severity.rawValue) [\(finding.code.rawValue)]: \(finding.subject): \(finding.message)")
      }
      out.line(plan.isEmpty ? "Nothing to repair" : "Applied \(counted(plan.changes.count, "action"))"
               + (result.after.errors == 0 ? "; fsck is clean" : "; \(counted(result.after.errors, "error")) remain"))
    }
    if dryRun && plan.needsForce { throw ExitCode(ExitStatus.refused.rawValue) }
    if remainingErrors > 0 { throw ExitCode(ExitStatus.failure.rawValue) }
  }

  private func render(_ action: RepairAction) -> String {
    "\(action.kind.rawValue) [\(action.code.rawValue)] \(action.subject): \(action.change) (\(action.reason))\(action.confirmed ? (force ? " [confirmed: rewritten with --force]" : " [confirmed: needs --force]") : "")"
  }
}
