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
    case .noSchema: return "diff replays the eventlog: give --schema with --eventlog"
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
    func point(_ text: String) throws -> (SeqNum, String) {
      guard case .point(let seqNum, let branch) = try resolver.resolve(text) else { throw RevisionError.notAPoint(text) }
      if let branch, let store = resolver.store { return (seqNum, store.eventlogPath(branch: branch)) }
      return (seqNum, eventlogPath)
    }
    let (fromPoint, fromLog) = try point(from)
    let (toPoint, toLog) = try point(to)

    let directory = NSTemporaryDirectory() + "lstore-diff-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let oldPath = directory + "/from.db"
    let newPath = directory + "/to.db"
    _ = try Rematerializer.rebuild(eventlogPath: fromLog, statePath: oldPath, schema: schema, until: fromPoint, updatedAt: now)
    _ = try Rematerializer.rebuild(eventlogPath: toLog, statePath: newPath, schema: schema, until: toPoint, updatedAt: now)

    let connection = try Connection(path: newPath, mode: .readOnly)
    try connection.attach(path: oldPath, as: "old")
    let result = try tables.map { try TableComparer.compare($0, connection: connection, older: "old") }
    return StateDiff(from: fromPoint, to: toPoint, tables: result)
  }
}
