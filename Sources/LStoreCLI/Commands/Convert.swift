import ArgumentParser
import Foundation
import LStoreKit

struct ConvertCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "convert",
    abstract: "Rewrite the store's files in another LiveStore storage format (4 or 6).",
    discussion: """
      Converts every branch: the eventlog's LiveStore tables are recreated with the target \
      format's exact DDL and their rows copied, lstore's own tables (commits, reflog) are \
      kept, and the state is rebuilt. Everything is staged beside the branches and swapped \
      in at the end, so a failure leaves the store as it was. The old branches and config \
      are kept in .lstore/backups/convert-<time>-format<old>/ (named in the output); fsck \
      runs on every branch afterwards.

      Going to 6, every event gets rebase generation 0 and the backend id is unset (as a \
      LiveStore 0.4 client that has not synced yet). Going to 4, rebase generations and \
      the backend id are dropped: format 4 has no place for them. See docs/formats.md.
      """)

  @ParentCommand var root: LStoreCommand

  @Option(name: .long, help: ArgumentHelp("The storage format to convert to: 4 (LiveStore 0.3) or 6 (LiveStore 0.4).",
                                          valueName: "4|6"))
  var format: StorageFormatArgument

  func run() throws {
    let global = root.global
    let store = try global.openStore()
    let schema = try store.loadSchema()
    let report = try store.convert(to: format.format, schema: schema, now: Clock.now())
    let out = global.stdout
    out.line("Converted store '\(store.config.storeId)' from \(report.from) to \(report.to):")
    for branch in report.branches {
      out.line("  \(branch.name): \(branch.events) event\(branch.events == 1 ? "" : "s")")
    }
    if report.droppedGenerations > 0 {
      out.line("Dropped the rebase generations of \(report.droppedGenerations) event\(report.droppedGenerations == 1 ? "" : "s") (format 4 has none)")
    }
    if report.droppedBackendIds > 0 { out.line("Dropped the backend id (format 4 has none)") }
    out.line("Backup of the old files: \(report.backup)")
    for (branch, finding) in report.fsckErrors {
      out.line("fsck \(branch): [\(finding.code.rawValue)] \(finding.subject): \(finding.message)")
    }
    let errors = report.fsckErrors.count
    out.line(errors == 0 ? "fsck: clean" : "fsck: \(errors) error\(errors == 1 ? "" : "s") (the backup is untouched)")
    if errors > 0 { throw ExitCode(1) }
  }
}
