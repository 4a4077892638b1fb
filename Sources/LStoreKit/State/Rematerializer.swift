import Foundation
import LStoreSQLite

/// What a rebuild of state did.
public struct MaterializeReport: Sendable {
  public var events: Int
  public var through: SeqNum
  public var seconds: Double
  public var statePath: String
  /// Rows written per table, in the order tables were first written; only for a rebuild
  /// with a `ReplayObserver` (empty otherwise).
  public var rowsWritten: [(table: String, counts: RowWriteCounter.Counts)] = []
  public var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : Double(events) }
}

/// Progress of a long operation, for a progress line on a terminal.
public struct Progress: Sendable {
  public var done: Int
  public var total: Int?
  public var label: String

  public init(done: Int, total: Int?, label: String) {
    self.done = done
    self.total = total
    self.label = label
  }
}

public typealias ProgressHandler = (Progress) -> Void

/// Hands the changesets of the events after `after` to `body` during a rebuild (revert reads
/// a pushed commit's row changes this way: confirmed events keep no changeset).
public struct ChangesetObserver {
  public var after: SeqNum
  public var body: (SeqNum, [UInt8]) throws -> Void
  public init(after: SeqNum, body: @escaping (SeqNum, [UInt8]) throws -> Void) {
    self.after = after
    self.body = body
  }
}

/// Sees every event of a rebuild and keeps it going past the events that fail, for a report
/// on the whole eventlog (`lstore replay`): an event whose name the schema does not know,
/// whose args do not match it, or whose materializer fails is handed to `failed` (nothing
/// of it is kept: see `MaterializerEngine.isolatesEvents`) and the rebuild goes on with the
/// next event; any other error still stops it. Such a rebuild keeps a rollback journal in
/// memory (SQLite undoes nothing without one), counts rows written per table
/// (`MaterializeReport.rowsWritten`) and records no changesets: its state is a scratch one.
public struct ReplayObserver {
  /// An event that applied: its number and name.
  public var applied: (SeqNum, String) throws -> Void
  /// An event that did not: its number, name, stored args, and a `ReplayError` or `MaterializeError`.
  public var failed: (SeqNum, String, String, Error) throws -> Void

  public init(applied: @escaping (SeqNum, String) throws -> Void,
              failed: @escaping (SeqNum, String, String, Error) throws -> Void) {
    self.applied = applied
    self.failed = failed
  }
}

/// Rebuilds a state database from an eventlog, from scratch.
///
/// The new state is written to a temporary file beside the target and renamed over it
/// when complete, so a crash at any point leaves either the old state or the new one.
public enum Rematerializer {
  public static func rebuild(
    eventlogPath: String, statePath: String, schema: Schema, until: SeqNum? = nil,
    updatedAt: String, progress: ProgressHandler? = nil,
    observing observer: ChangesetObserver? = nil, replaying replay: ReplayObserver? = nil
  ) throws -> MaterializeReport {
    precondition(observer == nil || replay == nil, "a replay records no changesets to observe")
    let started = DispatchTime.now()
    // A name of its own per process: two rebuilds at once must not share a scratch file.
    let temporaryPath = statePath + ".building-\(getpid())-\(Identifiers.nanoid(length: 6))"
    removeAbandonedScratchFiles(for: statePath)
    try? FileManager.default.removeItem(atPath: temporaryPath)
    try? FileManager.default.removeItem(atPath: temporaryPath + "-journal")
    var count = 0
    var through = SeqNum.root
    var rowsWritten: [(table: String, counts: RowWriteCounter.Counts)] = []
    do {
      let connection = try Connection(path: temporaryPath, mode: .create)
      try connection.execute("PRAGMA page_size=8192")
      // The file is invisible until renamed, so a crash loses nothing: skip the journal. A
      // replay that goes on past failing events must undo them, which needs one (in memory:
      // the file starts empty, so only pages of the current event are journaled).
      try connection.execute(replay == nil ? "PRAGMA journal_mode=OFF" : "PRAGMA journal_mode=MEMORY")
      try connection.execute("PRAGMA synchronous=OFF")
      // 16 MiB, as a replica's: at 32 MiB a rebuild of 1M pending events peaked at 105 MB
      // (88 MB now) and was no faster, confirmed or pending (measured; docs/benchmarks.md).
      try connection.execute("PRAGMA cache_size=-16384")
      try connection.execute("PRAGMA foreign_keys=ON")
      let engine = try MaterializerEngine(connection: connection, schema: schema)
      // The eventlog is read, and each event's args parsed and checked, on a second thread
      // with a connection of its own (RebuildReading); this one only writes the state.
      let reading = RebuildReading.producer(eventlogPath: eventlogPath, schema: schema, until: until)
      reading.start()
      defer { reading.cancel() }
      guard case .opened(let format, let backendHead, let total)? = try reading.next()?.first else {
        preconditionFailure("a rebuild's reading starts with the eventlog it opened")
      }
      if replay != nil {
        // A ROLLBACK TO in a transaction that changed the schema resets every statement of
        // the connection: the tables get a transaction of their own.
        try connection.transaction { try StateDatabase.createTables(on: connection, schema: schema, updatedAt: updatedAt, format: format) }
      }
      let changesetRows = StateDatabase.batchedChangesets(connection, format: format)
      try connection.transaction {
        if replay == nil { try StateDatabase.createTables(on: connection, schema: schema, updatedAt: updatedAt, format: format) }
        try engine.compileAll()
        engine.isolatesEvents = replay != nil
        let counter = replay == nil ? nil : engine.countRowWrites()
        // Taken out of their optionals once: read per event, each was a copy (and a retain).
        let observedAfter = observer?.after
        let applied = replay?.applied
        /// One event; the caller decides what a failure means.
        func replayEvent(_ event: PreparedEvent) throws {
          guard let definition = event.definition?.definition else { throw event.failure! }
          let seqNum = event.seqNum
          // Only events the backend has not confirmed can be rolled back by a rebase, so
          // only they need a changeset (LiveStore trims the others after every pull).
          let pending = replay == nil && seqNum.isPending(backendHead: backendHead)
          let observed = observedAfter.map { seqNum > $0 } ?? false
          let context = EventContext(seqNum: seqNum, name: event.name, clientId: event.clientId, sessionId: event.sessionId)
          let changeset = try engine.apply(definition, args: event.args, context: context, argsJSON: event.argsJSON,
                                           recordChangeset: pending || observed)
          if pending { try changesetRows.add((seqNum, changeset)) }
          if observed, let changeset { try observer!.body(seqNum, changeset) }
          try applied?(seqNum, event.name)
        }
        while let batch = try reading.next() {
          for case .event(let event) in batch {
            do {
              try replayEvent(event)
            } catch let error where replay != nil && (error is ReplayError || error is MaterializeError) {
              // A materializer's `OR ROLLBACK` ends the whole transaction: nothing to go on with.
              guard connection.isInTransaction else { throw error }
              try replay!.failed(event.seqNum, event.name, event.argsJSON, error)
            }
            count += 1
            through = event.seqNum
            if let progress, count % 5_000 == 0 { progress(Progress(done: count, total: total, label: "materializing")) }
          }
        }
        try changesetRows.flush()
        if let counter {
          counter.stop()
          rowsWritten = counter.counts
        }
        try StateDatabase.writeHead(connection, head: through)
      }
    } catch var error as MaterializeError {
      try? FileManager.default.removeItem(atPath: temporaryPath)
      error.replayingHistory = true
      throw error
    } catch {
      try? FileManager.default.removeItem(atPath: temporaryPath)
      throw error
    }
    try FileSync.fsync(path: temporaryPath)
    // A journal a killed writer left beside the old file would be replayed into the new
    // one: roll it back (into the old file) before the new file takes its name.
    try Connection.recoverInterruptedTransaction(at: statePath)
    try FileSync.replace(temporaryPath, with: statePath)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
    return MaterializeReport(events: count, through: through, seconds: seconds, statePath: statePath, rowsWritten: rowsWritten)
  }
}

/// Scratch files of rebuilds whose process is gone (killed mid-rebuild).
private func removeAbandonedScratchFiles(for statePath: String) {
  let directory = (statePath as NSString).deletingLastPathComponent
  let prefix = (statePath as NSString).lastPathComponent + ".building-"
  for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(prefix) {
    guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0.isNumber }), kill(pid, 0) != 0, errno == ESRCH else { continue }
    try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name))
  }
}

/// The eventlog cannot be replayed with this schema.
public enum ReplayError: Error, Sendable, CustomStringConvertible {
  case unknownEvent(seqNum: SeqNum, name: String, schema: String)
  case invalidArgs(seqNum: SeqNum, name: String, argsJSON: String, reason: String)

  public var description: String {
    switch self {
    case .unknownEvent(let seqNum, let name, let schema):
      return "event \(seqNum) is '\(name)', which \(schema) does not define"
    case .invalidArgs(let seqNum, let name, let argsJSON, let reason):
      return "event \(seqNum) \(name) \(argsJSON) does not match the schema: \(reason)"
    }
  }
}

extension String {
  /// Percent-encodes the characters that would break a `file:` URI.
  var addingPercentEncodingForURI: String {
    var allowed = CharacterSet.urlPathAllowed
    allowed.remove(charactersIn: "?#%")
    return addingPercentEncoding(withAllowedCharacters: allowed) ?? self
  }
}
