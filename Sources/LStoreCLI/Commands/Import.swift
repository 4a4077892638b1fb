import ArgumentParser
import Foundation
import LStoreKit

struct ImportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import",
    abstract: "Append an export (NDJSON, gzip detected) onto this store and materialize it.",
    discussion: """
      The export's first parent must be this store's head. Everything is checked (checksum, \
      parent chain, args against the schema, materializers) inside one transaction: a \
      truncated or damaged file, or any failing event, leaves the store unchanged. A line is \
      at most 16 MiB and a gzip file may inflate to at most 16 GiB; args nest at most 256 \
      levels and hold at most 790,000 bytes.
      """)

  @ParentCommand var root: LStoreCommand

  @Argument(help: ArgumentHelp("The export file, or - for stdin.", valueName: "path"), completion: .file())
  var path: String

  @Flag(name: .long, help: "Print the report as JSON.")
  var json = false

  func run() throws {
    let global = root.global
    let store = try global.openStore()
    let schema = try store.loadSchema()
    let reader: LineReader
    do {
      reader = try LineReader.open(path: path == "-" ? "-" : global.resolve(path))
    } catch let error as StreamError {
      throw InputError.notFound(error.description)
    }
    // One transaction: an interrupted import leaves the store as it was.
    let progress = ProgressReporter(quiet: global.quiet, interrupted: "nothing was written")
    let replica = try store.openReplica(schema: schema, now: Clock.now(), progress: progress.handler)
    let report: ImportReport
    do {
      report = try Importer.run(reader, into: replica, storeId: store.config.storeId, progress: progress.handler)
    } catch let error as StreamError {
      progress.operationEnded()
      throw InputError.invalid("\(path): \(error.description); nothing was imported")
    }
    progress.operationEnded()
    if let (otherId, confirmed) = report.confirmedElsewhere {
      global.note("note: the export is of store '\(otherId)', not this store's '\(store.config.storeId)': the \(counted(Int(confirmed), "event")) its backend had confirmed \(confirmed == 1 ? "is" : "are") pending here, and 'lstore push' sends them to this store's backend")
    }
    if json {
      let value: JSONValue = [
        "events": .integer(Int64(report.events)), "commits": .integer(Int64(report.commits)),
        "head": .string(report.head.description), "seconds": .number(report.seconds),
        "eventsPerSecond": .number(report.eventsPerSecond.rounded()),
      ]
      global.stdout.line(value.compactText)
    } else {
      global.stdout.line("Imported \(counted(report.events, "event")) and \(counted(report.commits, "commit")); head is now \(report.head) (\(Int(report.eventsPerSecond)) events/s)")
    }
  }
}
