import ArgumentParser
import Foundation
import LStoreKit

struct MaterializeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "materialize",
    abstract: "Rebuild state from the eventlog, from scratch.",
    discussion: """
      Replays every event through the schema's materializers into a new state database and \
      swaps it in when complete (a crash leaves the old state). With --until the state stops \
      at that event and goes to the file --output names: the branch's own state stays \
      current, so commit keeps working (an --until of the head may rebuild the branch's \
      state). An event past the head is an error, as for 'lstore branch'. With --eventlog, \
      give --schema and --output: the file is only read.
      """)

  @ParentCommand var root: LStoreCommand

  @Option(name: .long, help: ArgumentHelp("Stop after this event (e5, e5+1).", valueName: "seqNum"))
  var until: String?

  @Option(name: .long, help: ArgumentHelp("Use this schema file instead of the store's.", valueName: "path"),
          completion: .file(extensions: ["yaml", "yml", "json"]))
  var schema: String?

  @Option(name: [.short, .long], help: ArgumentHelp("Write the state to this file instead of the branch's state.", valueName: "path"),
          completion: .file(extensions: ["db"]))
  var output: String?

  @Flag(name: .long, help: "Print the report as JSON.")
  var json = false

  func run() throws {
    let global = root.global
    var untilSeq: SeqNum? = nil
    let eventlogPath: String
    let statePath: String
    let loaded: Schema
    if let direct = global.eventlog {
      guard let schema else { throw InputError.usage("--eventlog needs --schema to know the materializers") }
      guard let output else { throw InputError.usage("--eventlog is read-only: give --output for the new state file") }
      eventlogPath = global.resolve(direct)
      guard FileManager.default.fileExists(atPath: eventlogPath) else { throw StoreError.notFound("no such file: \(direct)") }
      let eventlog = try EventlogFile.openReadOnly(path: eventlogPath)
      // Past the head is an error, as `lstore branch x e20` says it.
      untilSeq = try until.map { try RevisionResolver(eventlog: eventlog, store: nil).point($0) }
      loaded = try SchemaLoader.load(path: global.resolve(schema))
      statePath = global.resolve(output)
    } else {
      let store = try global.openStore()
      let eventlog = try store.openEventlog(readOnly: true)
      untilSeq = try until.map { try RevisionResolver(eventlog: eventlog, store: store).point($0) }
      // A past state in the branch's state file would leave it behind the eventlog, and
      // every commit refused until a full materialize: a past state goes to its own file.
      if let untilSeq, output == nil, untilSeq != (try eventlog.head()) {
        throw InputError.usage("--until \(untilSeq) builds a past state; give the file to write it to, e.g. 'lstore materialize --until \(untilSeq) -o state-\(untilSeq).db' (the branch's own state stays current)")
      }
      loaded = try store.loadSchema(override: schema.map { global.resolve($0) })
      eventlogPath = store.eventlogPath
      statePath = output.map { global.resolve($0) } ?? store.statePath(for: loaded)
    }
    guard !FileIdentity.same(statePath, eventlogPath) else {
      throw InputError.usage("--output is the eventlog itself; give another path for the state file")
    }
    // The new state is renamed into place only when complete.
    let progress = ProgressReporter(quiet: global.quiet, interrupted: "nothing was written")
    let report = try Rematerializer.rebuild(eventlogPath: eventlogPath, statePath: statePath, schema: loaded,
                                            until: untilSeq, updatedAt: Clock.now(), progress: progress.handler)
    progress.operationEnded()
    if json {
      let value: JSONValue = [
        "events": .integer(Int64(report.events)), "through": .string(report.through.description),
        "seconds": .number(report.seconds), "eventsPerSecond": .number(report.eventsPerSecond.rounded()),
        "state": .string(report.statePath),
      ]
      global.stdout.line(value.compactText)
    } else {
      global.stdout.line("Materialized \(counted(report.events, "event")) through \(report.through) in \(String(format: "%.2f", report.seconds)) s (\(Int(report.eventsPerSecond)) events/s) into \(report.statePath)")
    }
  }
}
