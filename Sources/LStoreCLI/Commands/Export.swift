import ArgumentParser
import Foundation
import LStoreKit

struct ExportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Write events and commits as NDJSON (optionally gzip) with a header and a checksum.",
    discussion: """
      The format is stable and documented in docs/export-format.md: a header line \
      (version, storeId, first parent, head, counts), commit and event lines in order, and \
      an end line with a CRC-32 of everything before it. Output goes to stdout unless -o is \
      given; a -o path ending in .gz is compressed like --gzip.
      """)

  @ParentCommand var root: LStoreCommand

  @Option(name: [.short, .long], help: ArgumentHelp("Write to this file (written whole, then renamed into place).", valueName: "path"),
          completion: .file())
  var output: String?

  @Flag(name: .long, help: "Compress with gzip.")
  var gzip = false

  @Option(name: .long, help: ArgumentHelp("Start at this event or revision (e5, a commit, HEAD~2), inclusive.", valueName: "revision"))
  var from: String?

  @Option(name: .long, help: ArgumentHelp("Stop at this event or revision, inclusive.", valueName: "revision"))
  var to: String?

  func run() throws {
    let global = root.global
    let (eventlog, store) = try global.openEventlogForReading()
    let recordedId = try eventlog.meta("storeId")
    let storeId = store?.config.storeId ?? recordedId ?? URL(fileURLWithPath: eventlog.path).deletingLastPathComponent().lastPathComponent
    // Revisions too: --from <commit> starts at its first event, --to <commit> ends at its last.
    let (fromSeq, toSeq) = try RevisionResolver(eventlog: eventlog, store: store).bounds(from: from, to: to)
    let finalPath = output.map { global.resolve($0) }
    if let finalPath, FileIdentity.same(finalPath, store?.eventlogPath ?? global.resolve(global.eventlog ?? "")) {
      throw InputError.usage("--output is the eventlog itself; give another path")
    }
    let temporaryPath = finalPath.map { $0 + ".partial" }
    let file: ByteSink
    if let temporaryPath { file = try FileSink(path: temporaryPath) } else { file = FileSink(fd: 1) }
    let compress = gzip || (finalPath?.hasSuffix(".gz") ?? false)
    let sink: ByteSink = compress ? try GzipSink(wrapping: file) : file
    let progress = ProgressReporter(quiet: global.quiet || output == nil)
    do {
      let report = try Exporter.export(eventlog, storeId: storeId, to: sink, from: fromSeq, through: toSeq,
                                       exportedAt: Clock.now(), progress: progress.handler)
      progress.finish()
      if let temporaryPath, let finalPath { try FileSync.replace(temporaryPath, with: finalPath) }
      if output != nil {
        global.note("Exported \(counted(report.events, "event")) and \(counted(report.commits, "commit")) through \(report.head) in \(String(format: "%.2f", report.seconds)) s")
      }
    } catch {
      if let temporaryPath { try? FileManager.default.removeItem(atPath: temporaryPath) }
      throw error
    }
  }
}
