import Foundation
import LStoreSQLite

public enum StateDiffError: Error, Equatable, Sendable, CustomStringConvertible {
  case unknownTable(String, known: [String])
  /// A bare eventlog file has no schema of its own to replay it with.
  case noSchema

  public var description: String {
    switch self {
    case .unknownTable(let name, let known):
      return "no table '\(name)' in the schema (tables: \(known.joined(separator: ", ")))"
    case .noSchema: return "this command replays the eventlog, and an eventlog file has no schema of its own: give --schema with --eventlog"
    }
  }
}

/// The state at two points of history, replayed into two scratch states and open for
/// comparison table by table. Nothing of the difference is held: `count` asks SQLite for
/// the numbers and `forEachDifference` streams the rows (both through `TableComparer`, the
/// comparison `replay --against` uses), so memory stays flat however much differs. The
/// scratch files are removed by `close()` (or when the value goes away).
public final class StateDiff {
  public let from: SeqNum
  public let to: SeqNum
  /// The tables compared: every table of the schema, or the one asked for.
  public let tables: [TableDefinition]
  private let scratch: ScratchDirectory
  private var connection: Connection?

  /// Replays the eventlog into two scratch states, through `from` and through `to`
  /// (revisions: events, commits, HEAD~n, branches), ready to compare every table of the
  /// schema (or only `table`) row by row, keyed by primary key. Nothing in the store changes.
  public static func open(resolver: RevisionResolver, eventlogPath: String, schema: Schema,
                          from: String, to: String, table: String? = nil, now: String) throws -> StateDiff {
    let tables: [TableDefinition]
    if let table {
      guard let definition = schema.tables.first(where: { $0.name == table }) else {
        throw StateDiffError.unknownTable(table, known: schema.tables.map(\.name))
      }
      tables = [definition]
    } else {
      tables = schema.tables
    }
    let scratch = try ScratchDirectory(purpose: "diff")
    let directory = scratch.path
    do {
      func point(_ text: String) throws -> (SeqNum, String) {
        switch try resolver.resolve(text) {
        case .point(let seqNum, let branch):
          if let branch, let store = resolver.store { return (seqNum, store.eventlogPath(branch: branch)) }
          return (seqNum, eventlogPath)
        case .reflog(let index, _):
          guard let store = resolver.store else { throw RevisionError.noStore(text) }
          return try pastHead(undoing: index, of: store, schema: schema, in: directory + "/past-\(index)", now: now)
        }
      }
      let (fromPoint, fromLog) = try point(from)
      let (toPoint, toLog) = try point(to)
      let oldPath = directory + "/from.db"
      let newPath = directory + "/to.db"
      _ = try Rematerializer.rebuild(eventlogPath: fromLog, statePath: oldPath, schema: schema, until: fromPoint, updatedAt: now)
      _ = try Rematerializer.rebuild(eventlogPath: toLog, statePath: newPath, schema: schema, until: toPoint, updatedAt: now)
      let connection = try Connection(path: newPath, mode: .readOnly)
      try connection.attach(path: oldPath, as: "old")
      return StateDiff(from: fromPoint, to: toPoint, tables: tables, scratch: scratch, connection: connection)
    } catch {
      scratch.remove()
      throw error
    }
  }

  private init(from: SeqNum, to: SeqNum, tables: [TableDefinition], scratch: ScratchDirectory, connection: Connection) {
    self.from = from
    self.to = to
    self.tables = tables
    self.scratch = scratch
    self.connection = connection
  }

  deinit { close() }

  /// Closes the scratch states and removes them.
  public func close() {
    connection = nil
    scratch.remove()
  }

  private func liveConnection() throws -> Connection {
    guard let connection else { preconditionFailure("StateDiff used after close()") }
    return connection
  }

  /// How many rows of `table` were added, removed and changed from `from` to `to` (no rows kept).
  public func count(_ table: TableDefinition) throws -> TableDiff {
    try TableComparer.count(table, connection: liveConnection(), older: "old")
  }

  /// Every row of `table` of one kind that differs, in primary-key order, one at a time.
  public func forEachDifference(_ kind: RowDifference.Kind, of table: TableDefinition,
                                _ body: (RowDifference) throws -> Void) throws {
    try TableComparer.forEachDifference(kind, of: table, connection: liveConnection(), older: "old", body)
  }

  /// The branch's head as it was `count` moves ago (`HEAD@{count}`), in a scratch eventlog
  /// of its own: a snapshot of the branch's eventlog (`VACUUM INTO`, consistent even while
  /// another process writes) with the same undo `reset --hard HEAD@{count}` does, run on the
  /// copy. Returns its head and path; the store is not touched.
  private static func pastHead(undoing count: Int, of store: Store, schema: Schema, in directory: String,
                               now: String) throws -> (SeqNum, String) {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let copy = directory + "/" + store.format.eventlogFileName
    let source = try Connection(path: store.eventlogPath, mode: .readOnly)
    try source.execute("VACUUM INTO ?", [.text(copy)])
    let replica = try Replica.open(eventlogPath: copy, statePath: directory + "/state.db", schema: schema, now: now)
    // A past head may hold fewer confirmed events than now (before a pull): on a scratch copy
    // that is what the user asked to see.
    _ = try replica.restore(undoing: count, note: HeadMoveNote(action: "diff", message: "HEAD@{\(count)}", time: now),
                            allowConfirmed: true)
    return (try replica.eventlog.head(), copy)
  }
}
