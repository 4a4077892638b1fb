import Foundation
import LStoreSQLite

public enum SchemaReplayError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A bare eventlog file has no schema of its own to replay it with.
  case noSchema
  case againstNotFound(String)
  case againstUnreadable(String, reason: String)

  public var description: String {
    switch self {
    case .noSchema: return "replay needs a schema: give --schema with --eventlog"
    case .againstNotFound(let path): return "no such file: \(path) (--against names a state database to compare with)"
    case .againstUnreadable(let path, let reason): return "\(path) is not a readable state database: \(reason)"
    }
  }
}

/// What an eventlog does under a schema, for CI (`lstore replay`): every event replayed
/// through the schema into a scratch state, and per event name how many there were and which
/// failed; rows written per table; optionally, how that state differs from a given state file.
///
/// The replay is the one rebuild (`Rematerializer.rebuild` with a `ReplayObserver`): it
/// streams the eventlog and keeps going past failing events, so memory holds per event name
/// a few counters and at most `sampleLimit` failures, and the comparison keeps at most
/// `sampleLimit` rows of each kind per table. Nothing outside the temporary directory is
/// written: the eventlog and the `--against` file are opened read-only.
public enum SchemaReplay {
  public enum FailureKind: String, Sendable, CaseIterable {
    /// The schema defines no event of that name.
    case unknownEvent = "unknown-event"
    /// The args do not parse as JSON or do not match the event's args in the schema.
    case invalidArgs = "invalid-args"
    /// The materializer's SQL failed (a constraint, a type, a function error).
    case materializer = "materializer"
  }

  /// One event that did not apply. Nothing of it is in the replayed state.
  public struct Failure: Sendable {
    public var seqNum: SeqNum
    public var kind: FailureKind
    /// SQLite's message, the args error, or why the name is unknown.
    public var reason: String
    /// The materializer statement that failed, for `materializer` failures.
    public var statement: String?
    /// The event's args exactly as stored.
    public var argsJSON: String
  }

  /// The events of one name.
  public struct EventStats: Sendable {
    public var name: String
    public var inSchema: Bool
    public var count = 0
    public var applied = 0
    public var invalidArgs = 0
    public var materializerFailures = 0
    /// Events of a name the schema does not know: all of them, when `inSchema` is false.
    public var unknown: Int { inSchema ? 0 : count }
    public var failed: Int { count - applied }
    /// The first `sampleLimit` failing events, in eventlog order.
    public var failures: [Failure] = []
  }

  /// Rows the applied events wrote to one table.
  public struct TableWrites: Sendable {
    public var table: String
    public var inSchema: Bool
    public var inserted: Int
    public var updated: Int
    public var deleted: Int
  }

  /// One table of the replayed state against the `--against` file.
  public enum TableComparison: Sendable {
    case compared(TableDiff)
    /// The schema's table is not in the file.
    case missing(table: String)
    /// Both have the table, with other columns: its rows are not compared.
    case columnsDiffer(table: String, schema: [String], file: [String])
    /// A table of the file that the schema does not have.
    case notInSchema(table: String)

    public var table: String {
      switch self {
      case .compared(let diff): return diff.table
      case .missing(let table), .columnsDiffer(let table, _, _), .notInSchema(let table): return table
      }
    }

    public var differs: Bool {
      if case .compared(let diff) = self { return !diff.isEmpty }
      return true
    }
  }

  public struct Against: Sendable {
    public var path: String
    public var tables: [TableComparison]
    public var differs: Bool { tables.contains(where: \.differs) }
  }

  /// What a CI job gates on.
  public enum Outcome: String, Sendable {
    /// Every event applied (and, with `--against`, the states are equal).
    case clean
    /// Every event applied, but the state differs from the `--against` file.
    case differences
    /// Some event failed: unknown name, bad args or a failing materializer (whether or not
    /// the states differ too).
    case failures
  }

  public struct Report: Sendable {
    public var schema: String
    public var eventlog: String
    public var events = 0
    public var head = SeqNum.root
    public var seconds = 0.0
    /// Per event name, sorted by name.
    public var names: [EventStats] = []
    /// Events of unknown names past the first `maxUnknownNames` distinct ones: counted here
    /// (and in `unknownEvents`), not per name, so a log of junk names cannot fill memory.
    public var otherUnknownEvents = 0
    /// The schema's tables in its order, then any other table written (by raw SQL).
    public var tables: [TableWrites] = []
    public var against: Against?

    public var applied: Int { names.reduce(0) { $0 + $1.applied } }
    public var unknownEvents: Int { names.reduce(otherUnknownEvents) { $0 + $1.unknown } }
    public var invalidArgs: Int { names.reduce(0) { $0 + $1.invalidArgs } }
    public var materializerFailures: Int { names.reduce(0) { $0 + $1.materializerFailures } }
    public var failed: Int { events - applied }

    public var outcome: Outcome {
      if failed > 0 { return .failures }
      if against?.differs == true { return .differences }
      return .clean
    }
  }

  /// Distinct unknown event names reported one by one.
  public static let maxUnknownNames = 100

  /// Replays every event of the eventlog at `eventlogPath` through `schema` into a scratch
  /// state, and compares that state with the state file at `againstPath` when given.
  public static func run(eventlogPath: String, schema: Schema, againstPath: String? = nil, sampleLimit: Int = 10,
                         now: String, progress: ProgressHandler? = nil) throws -> Report {
    if let againstPath, !FileManager.default.fileExists(atPath: againstPath) {
      throw SchemaReplayError.againstNotFound(againstPath)
    }
    var report = Report(schema: schema.source, eventlog: eventlogPath)
    // Per name, in order of first appearance. The last few names' indexes are kept, so the
    // dictionary is consulted when a name comes back after many others, not once per event
    // (events of a few names interleave; the rebuild hands over one String per name, which
    // compares without reading its bytes).
    var stats: [EventStats] = []
    var indexes: [String: Int] = [:]
    var unknownNames = 0
    var recent: [(name: String, index: Int)] = []
    var current = -1
    /// Makes `name` current; false for an unknown name past the first `maxUnknownNames`.
    func switchTo(_ name: String, inSchema: Bool) -> Bool {
      for slot in recent.indices where recent[slot].name == name {
        current = recent[slot].index
        return true
      }
      if let known = indexes[name] {
        current = known
      } else {
        if !inSchema {
          guard unknownNames < maxUnknownNames else { return false }
          unknownNames += 1
        }
        current = stats.count
        indexes[name] = current
        stats.append(EventStats(name: name, inSchema: inSchema))
      }
      if recent.count == 8 { recent.removeFirst() }
      recent.append((name, current))
      return true
    }
    let observer = ReplayObserver(
      applied: { _, name in
        _ = switchTo(name, inSchema: true)
        stats[current].count += 1
        stats[current].applied += 1
      },
      failed: { seqNum, name, argsJSON, error in
        let failure: Failure
        switch error {
        case ReplayError.unknownEvent:
          failure = Failure(seqNum: seqNum, kind: .unknownEvent, reason: "not in \(schema.source)", statement: nil, argsJSON: argsJSON)
        case ReplayError.invalidArgs(_, _, _, let reason):
          failure = Failure(seqNum: seqNum, kind: .invalidArgs, reason: reason, statement: nil, argsJSON: argsJSON)
        case let error as MaterializeError:
          failure = Failure(seqNum: seqNum, kind: .materializer, reason: error.reason, statement: error.statement, argsJSON: argsJSON)
        default:
          throw error
        }
        guard switchTo(name, inSchema: failure.kind != .unknownEvent) else {
          report.otherUnknownEvents += 1
          return
        }
        stats[current].count += 1
        if failure.kind == .invalidArgs { stats[current].invalidArgs += 1 }
        if failure.kind == .materializer { stats[current].materializerFailures += 1 }
        if stats[current].failures.count < sampleLimit { stats[current].failures.append(failure) }
      })

    let scratch = try ScratchDirectory(purpose: scratchPurpose)
    defer { scratch.remove() }
    let statePath = scratch.file("state.db")
    let rebuilt = try Rematerializer.rebuild(
      eventlogPath: eventlogPath, statePath: statePath, schema: schema, updatedAt: now,
      progress: progress.map { report in { report(Progress(done: $0.done, total: $0.total, label: "replaying")) } },
      replaying: observer)
    report.events = rebuilt.events
    report.head = rebuilt.through
    report.seconds = rebuilt.seconds
    report.names = stats.sorted { $0.name < $1.name }

    var written = Dictionary(rebuilt.rowsWritten.map { ($0.table, $0.counts) }, uniquingKeysWith: { a, _ in a })
    for table in schema.tables {
      let counts = written.removeValue(forKey: table.name) ?? RowWriteCounter.Counts()
      report.tables.append(TableWrites(table: table.name, inSchema: true, inserted: counts.inserted, updated: counts.updated,
                                       deleted: counts.deleted))
    }
    for (table, counts) in rebuilt.rowsWritten where written[table] != nil {
      report.tables.append(TableWrites(table: table, inSchema: false, inserted: counts.inserted, updated: counts.updated,
                                       deleted: counts.deleted))
    }

    if let againstPath {
      report.against = try compare(statePath: statePath, againstPath: againstPath, schema: schema, sampleLimit: sampleLimit)
    }
    return report
  }

  /// The scratch directory's purpose: `lstore-replay-<pid>-…` (see `ScratchDirectory`).
  static let scratchPurpose = "replay"
  static var scratchPrefix: String { "lstore-\(scratchPurpose)-" }

  /// The replayed state (`main`) against the file (`against`), table by table.
  static func compare(statePath: String, againstPath: String, schema: Schema, sampleLimit: Int) throws -> Against {
    let connection = try Connection(path: statePath, mode: .readOnly)
    let fileTables: [String]
    do {
      try connection.execute("ATTACH DATABASE ? AS against", [.text("file:\(againstPath.addingPercentEncodingForURI)?mode=ro")])
      fileTables = try connection.tableNames(schema: "against")
    } catch let error as SQLiteError {
      throw SchemaReplayError.againstUnreadable(againstPath, reason: error.message)
    }
    var tables: [TableComparison] = []
    for table in schema.tables {
      guard let found = try TableComparer.columns(of: table.name, in: "against", connection: connection) else {
        tables.append(.missing(table: table.name))
        continue
      }
      let expected = table.columns.map(\.name)
      guard Set(found) == Set(expected) else {
        tables.append(.columnsDiffer(table: table.name, schema: expected, file: found))
        continue
      }
      tables.append(.compared(try TableComparer.compare(table, connection: connection, older: "against", sampleLimit: sampleLimit)))
    }
    // LiveStore's and lstore's own tables are bookkeeping, not state an app reads.
    let reserved = ["__livestore", "lstore_", "sqlite_"]
    for name in fileTables where schema.table(named: name) == nil && !reserved.contains(where: { name.lowercased().hasPrefix($0) }) {
      tables.append(.notInSchema(table: name))
    }
    return Against(path: againstPath, tables: tables)
  }
}
