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

/// The state at two points of history, compared table by table.
public struct StateDiff: Sendable {
  public var from: SeqNum
  public var to: SeqNum
  public var tables: [TableDiff]

  /// Replays the eventlog into two scratch states, through `from` and through `to`
  /// (revisions: events, commits, HEAD~n, branches), and compares every table of the
  /// schema (or only `table`) row by row, keyed by primary key. Nothing in the store changes.
  public static func compute(resolver: RevisionResolver, eventlogPath: String, schema: Schema,
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
    let directory = NSTemporaryDirectory() + "lstore-diff-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
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
    let result = try tables.map { try TableComparer.compare($0, connection: connection, older: "old") }
    return StateDiff(from: fromPoint, to: toPoint, tables: result)
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
