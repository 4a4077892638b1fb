import LStoreKit

/// Human and JSON output of `rebase` (and of a pull that stopped into one).
struct RebaseOutput {
  let global: GlobalOptions
  let json: Bool
  let branch: String

  private func emit(_ value: JSONValue) { global.stdout.line(value.compactText) }

  /// What to run next at a stop; every piece of advice here is tested.
  static func hint(for stop: RebaseState.Stop) -> String {
    switch stop.reason {
    case .conflict:
      // A row both sides created: keeping the replayed insert fails on the key, unless the
      // materializer upserts.
      if let created = stop.conflicts.first(where: { $0.base == nil && $0.ours != nil && $0.theirs != nil }) {
        return "both sides created \(created.table) \(created.key), so '--continue' stops again unless the event's materializer upserts (fix the schema first); '--skip' drops this commit, '--abort' restores the branch"
      }
      return "'lstore rebase --continue' keeps the replayed events over the new base, '--skip' drops this commit, '--abort' restores the branch"
    case .failure:
      return "fix the schema's materializer and 'lstore rebase --continue' retries, '--skip' drops this commit, '--abort' restores the branch"
    case .edit:
      return "'lstore rebase --continue' goes on, '--abort' restores the branch"
    case .exec:
      return "'lstore rebase --continue' goes on, '--abort' restores the branch"
    }
  }

  static func conflictJSON(_ conflict: CellConflict) -> JSONValue {
    func value(_ text: String?) -> JSONValue { text.flatMap { try? JSONParser.parse($0) } ?? .null }
    return [
      "table": .string(conflict.table), "key": (try? JSONParser.parse(conflict.key)) ?? .string(conflict.key),
      "column": .string(conflict.column),
      "base": value(conflict.base), "baseExists": .bool(conflict.base != nil),
      "ours": value(conflict.ours), "oursExists": .bool(conflict.ours != nil),
      "theirs": value(conflict.theirs), "theirsExists": .bool(conflict.theirs != nil),
      "oursEvent": .string(conflict.oursEvent.description), "theirsEvent": .string(conflict.theirsEvent.description),
    ]
  }

  static func stopJSON(_ stop: RebaseState.Stop) -> JSONValue {
    [
      "reason": .string(stop.reason.rawValue), "step": .integer(Int64(stop.step + 1)), "message": .string(stop.message),
      "event": stop.event.map { .string($0.description) } ?? .null,
      "conflicts": .array(stop.conflicts.map(conflictJSON)),
    ]
  }

  /// Conflicts as `dolt conflicts cat` shows them: one block per cell.
  static func conflictLines(_ conflicts: [CellConflict], ontoLabel: String?) -> [String] {
    var lines: [String] = []
    for conflict in conflicts {
      let row = conflict.column == "*"
      // A row conflict is about existence: one side deleted the row, the other changed it.
      func shown(_ value: String?, absent: String) -> String { value == nil ? absent : row ? "(row changed)" : value! }
      lines.append("  table \(conflict.table), key \(conflict.key), \(row ? "the row" : "column \(conflict.column)")")
      lines.append("    base:   \(conflict.base == nil ? "(no row)" : row ? "(row)" : conflict.base!)")
      lines.append("    ours:   \(shown(conflict.ours, absent: "(row deleted)"))   (\(conflict.oursEvent)\(ontoLabel.map { ", \($0)" } ?? ""))")
      lines.append("    theirs: \(shown(conflict.theirs, absent: "(row deleted)"))   (\(conflict.theirsEvent), replayed)")
    }
    return lines
  }

  func upToDate(_ preparation: RebasePreparation) {
    if json {
      emit(["result": "up-to-date", "head": .string(preparation.head.description)])
    } else {
      global.stdout.line("Current branch '\(branch)' is up to date with \(preparation.ontoLabel).")
    }
  }

  func finished(_ summary: RebaseSummary) {
    if json {
      emit([
        "result": "finished", "onto": .string(summary.ontoLabel), "head": .string(summary.head.description),
        "applied": .integer(Int64(summary.appliedEvents)), "skippedEquivalent": .integer(Int64(summary.skippedEquivalent)),
        "dropped": .array(summary.droppedEvents.map { .string($0.description) }),
        "conflictsKept": .array(summary.conflictsKept.map(Self.conflictJSON)),
      ])
      return
    }
    var extras: [String] = []
    if summary.skippedEquivalent > 0 { extras.append("\(counted(summary.skippedEquivalent, "event")) left out as already there") }
    if !summary.droppedEvents.isEmpty { extras.append("\(counted(summary.droppedEvents.count, "event")) dropped (kept in the reflog)") }
    if !summary.conflictsKept.isEmpty { extras.append("\(counted(summary.conflictsKept.count, "conflicting cell")) kept as replayed") }
    let done = summary.kind == .revert ? "Finished the revert on '\(branch)', replaying" : "Successfully rebased '\(branch)'"
    global.stdout.line("\(done) onto \(summary.ontoLabel): head \(summary.head), \(counted(summary.appliedEvents, "event")) replayed" + (extras.isEmpty ? "" : "; " + extras.joined(separator: ", ")))
  }

  func stopped(_ stop: RebaseState.Stop) {
    if json {
      emit(["result": "stopped", "stop": Self.stopJSON(stop)])
      return
    }
    if stop.reason == .edit {
      global.stdout.line(stop.message)
      return
    }
    for line in Self.conflictLines(stop.conflicts, ontoLabel: nil) { global.stdout.line(line) }
  }

  func aborted(at head: SeqNum, original: SeqNum) {
    if json {
      emit(["result": "aborted", "head": .string(head.description)])
    } else {
      global.stdout.line("Rebase aborted: '\(branch)' is back at \(head)")
    }
  }

  func dryRun(_ report: DryRunReport) {
    if json {
      emit([
        "result": report.clean ? "clean" : "conflicts", "onto": .string(report.ontoLabel), "steps": .integer(Int64(report.steps)),
        "head": .string(report.head.description), "applied": .integer(Int64(report.appliedEvents)),
        "skippedEquivalent": .integer(Int64(report.skippedEquivalent)),
        "conflicts": .array(report.conflicts.map(Self.conflictJSON)),
        "failures": .array(report.stops.map(Self.stopJSON)),
        "dropped": .array(report.droppedEvents.map { .string($0.description) }),
        "execSkipped": .array(report.execSkipped.map { .string($0) }),
      ])
      return
    }
    global.stdout.line("Dry run of rebasing '\(branch)' onto \(report.ontoLabel): \(counted(report.steps, "step")), \(counted(report.appliedEvents, "event")) would be replayed, head \(report.head)")
    if report.clean {
      global.stdout.line("No conflicts.")
      return
    }
    if !report.conflicts.isEmpty {
      global.stdout.line("\(counted(report.conflicts.count, "conflicting cell")):")
      for line in Self.conflictLines(report.conflicts, ontoLabel: report.ontoLabel) { global.stdout.line(line) }
    }
    for stop in report.stops { global.stdout.line("Would stop: \(stop.message)") }
  }
}
