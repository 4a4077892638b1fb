import Foundation
import LStoreKit

/// `lstore replay`'s report for people. Not stable (scripts use --json).
enum ReplayText {
  static func lines(_ report: SchemaReplay.Report, style: Style) -> [String] {
    var lines: [String] = []
    let schemaName = (report.schema as NSString).lastPathComponent
    lines.append("Replayed \(counted(report.events, "event")) through \(report.head) with \(schemaName) in \(String(format: "%.2f", report.seconds)) s: "
      + "\(report.applied) applied, \(report.failed) failed")
    let width = report.names.map(\.name.count).max() ?? 0
    for stats in report.names {
      let name = stats.name.padding(toLength: width, withPad: " ", startingAt: 0)
      var parts = [counted(stats.count, "event")]
      if !stats.inSchema {
        parts.append(style.red("unknown: not in the schema"))
      } else {
        parts.append("\(stats.applied) applied")
        if stats.invalidArgs > 0 { parts.append(style.red("\(stats.invalidArgs) with invalid args")) }
        if stats.materializerFailures > 0 { parts.append(style.red(counted(stats.materializerFailures, "materializer failure"))) }
      }
      lines.append("  \(name)  \(parts.joined(separator: ", "))")
      for failure in stats.failures {
        var text = "    \(failure.seqNum) \(failure.argsJSON)"
        if failure.kind != .unknownEvent { text += ": \(failure.reason)" }
        if let statement = failure.statement { text += " (in: \(statement))" }
        lines.append(text)
      }
      if stats.failures.count < stats.failed { lines.append("    (\(stats.failed - stats.failures.count) more)") }
    }
    if report.otherUnknownEvents > 0 {
      lines.append("  \(counted(report.otherUnknownEvents, "more event")) of other unknown names (only the first \(SchemaReplay.maxUnknownNames) names are listed)")
    }
    lines.append("Rows written:")
    let tableWidth = report.tables.map(\.table.count).max() ?? 0
    for table in report.tables {
      let name = table.table.padding(toLength: tableWidth, withPad: " ", startingAt: 0)
      lines.append("  \(name)  +\(table.inserted) ~\(table.updated) -\(table.deleted)\(table.inSchema ? "" : " (not in the schema)")")
    }
    if let against = report.against {
      let file = (against.path as NSString).lastPathComponent
      lines.append("Against \(file):")
      for table in against.tables {
        switch table {
        case .compared(let diff):
          lines.append("  \(diff.table): +\(diff.addedCount) -\(diff.removedCount) ~\(diff.changedCount)")
          lines += TableDiffText.lines(diff, style: style, indent: "    ")
          let shown = diff.added.count + diff.removed.count + diff.changed.count
          let total = diff.addedCount + diff.removedCount + diff.changedCount
          if shown < total { lines.append("    (\(total - shown) more)") }
        case .missing(let name):
          lines.append("  \(name): " + style.red("not in \(file)"))
        case .columnsDiffer(let name, let schema, let found):
          lines.append("  \(name): " + style.red("other columns (schema: \(schema.joined(separator: ", ")); \(file): \(found.joined(separator: ", "))); rows not compared"))
        case .notInSchema(let name):
          lines.append("  \(name): " + style.red("in \(file), not in the schema"))
        }
      }
    }
    return lines
  }
}
