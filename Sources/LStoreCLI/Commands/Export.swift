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

  @Option(name: .long, help: ArgumentHelp("Start at this event, inclusive.", valueName: "seqNum"))
  var from: String?

  @Option(name: .long, help: ArgumentHelp("Stop at this event, inclusive.", valueName: "seqNum"))
  var to: String?

  func run() throws {
    let global = root.global
    let (eventlog, store) = try global.openEventlogForReading()
    let recordedId = try eventlog.meta("storeId")
    let storeId = store?.config.storeId ?? recordedId ?? URL(fileURLWithPath: eventlog.path).deletingLastPathComponent().lastPathComponent
    let fromSeq = try from.map { text -> SeqNum in
      guard let seq = SeqNum(text) else { throw InputError.usage("--from: '\(text)' is not a sequence number") }
      return seq
    }
    let toSeq = try to.map { text -> SeqNum in
      guard let seq = SeqNum(text) else { throw InputError.usage("--to: '\(text)' is not a sequence number") }
      return seq
    }
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
