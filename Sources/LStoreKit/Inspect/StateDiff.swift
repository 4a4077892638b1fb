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

/// How one table's rows differ between two points of history.
public struct TableDiff: Sendable {
  public var table: String
  /// The table's columns in declaration order; every row below has one value per column.
  public var columns: [String]
  /// The primary-key columns (empty for a table without one: its rows are then only added
  /// or removed, never changed).
  public var keyColumns: [String]
  public var added: [[SQLiteValue]] = []
  public var removed: [[SQLiteValue]] = []
  public var changed: [(old: [SQLiteValue], new: [SQLiteValue])] = []

  public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }

  /// The key values of a row, in `keyColumns` order.
  public func key(of row: [SQLiteValue]) -> [(String, SQLiteValue)] {
    keyColumns.compactMap { name in columns.firstIndex(of: name).map { (name, row[$0]) } }
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
    var result: [TableDiff] = []
    for definition in tables {
      result.append(try compare(definition, connection: connection))
    }
    return StateDiff(from: fromPoint, to: toPoint, tables: result)
  }

  /// `main` holds the newer state, `old` the older.
  private static func compare(_ table: TableDefinition, connection: Connection) throws -> TableDiff {
    let columns = table.columns.map(\.name)
    let keys = table.columns.filter(\.primaryKey).map(\.name)
    var diff = TableDiff(table: table.name, columns: columns, keyColumns: keys)
    let name = table.name.quotedIdentifier
    func list(_ alias: String) -> String { columns.map { "\(alias).\($0.quotedIdentifier)" }.joined(separator: ", ") }
    func rows(_ sql: String, _ body: ([SQLiteValue]) -> Void) throws {
      let statement = try connection.prepare(sql)
      try statement.forEachRow { row in body((0..<row.columnCount).map { row.value($0) }) }
    }
    guard !keys.isEmpty else {
      // Without a key a row has no identity: a changed row reads as one removed, one added.
      let plain = columns.map(\.quotedIdentifier).joined(separator: ", ")
      try rows("SELECT \(plain) FROM main.\(name) EXCEPT SELECT \(plain) FROM old.\(name) ORDER BY 1") { diff.added.append($0) }
      try rows("SELECT \(plain) FROM old.\(name) EXCEPT SELECT \(plain) FROM main.\(name) ORDER BY 1") { diff.removed.append($0) }
      return diff
    }
    // IS, not =: a NULL compares equal to a NULL here.
    let join = keys.map { "o.\($0.quotedIdentifier) IS n.\($0.quotedIdentifier)" }.joined(separator: " AND ")
    let order = keys.map { "k.\($0.quotedIdentifier)" }.joined(separator: ", ")
    func orderBy(_ alias: String) -> String { order.replacingOccurrences(of: "k.", with: "\(alias).") }
    try rows("SELECT \(list("n")) FROM main.\(name) AS n WHERE NOT EXISTS (SELECT 1 FROM old.\(name) AS o WHERE \(join)) ORDER BY \(orderBy("n"))") {
      diff.added.append($0)
    }
    try rows("SELECT \(list("o")) FROM old.\(name) AS o WHERE NOT EXISTS (SELECT 1 FROM main.\(name) AS n WHERE \(join)) ORDER BY \(orderBy("o"))") {
      diff.removed.append($0)
    }
    let same = columns.map { "o.\($0.quotedIdentifier) IS n.\($0.quotedIdentifier)" }.joined(separator: " AND ")
    try rows("SELECT \(list("o")), \(list("n")) FROM old.\(name) AS o JOIN main.\(name) AS n ON \(join) WHERE NOT (\(same)) ORDER BY \(orderBy("n"))") { row in
      diff.changed.append((old: Array(row[..<columns.count]), new: Array(row[columns.count...])))
    }
    return diff
  }
}
