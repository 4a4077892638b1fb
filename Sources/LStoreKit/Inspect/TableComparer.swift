import LStoreSQLite

/// How one table's rows differ between two states.
public struct TableDiff: Sendable {
  public var table: String
  /// The table's columns in declaration order; every row below has one value per column.
  public var columns: [String]
  /// The primary-key columns (empty for a table without one: its rows are then only added
  /// or removed, never changed).
  public var keyColumns: [String]
  /// The rows, ordered by primary key: all of them, or the first `sampleLimit` of each kind
  /// when the comparison was given one. The counts are always of all rows.
  public var added: [[SQLiteValue]] = []
  public var removed: [[SQLiteValue]] = []
  public var changed: [(old: [SQLiteValue], new: [SQLiteValue])] = []
  public var addedCount = 0
  public var removedCount = 0
  public var changedCount = 0

  public var isEmpty: Bool { addedCount == 0 && removedCount == 0 && changedCount == 0 }

  /// The key values of a row, in `keyColumns` order.
  public func key(of row: [SQLiteValue]) -> [(String, SQLiteValue)] {
    keyColumns.compactMap { name in columns.firstIndex(of: name).map { (name, row[$0]) } }
  }
}

/// Compares a table of the schema between two databases open on one connection (`diff`
/// compares two scratch replays, `replay --against` a replay with a given state file), row
/// by row, keyed by primary key: a row whose key is only in the newer state is added, only
/// in the older removed, in both with any column different changed (NULL equals NULL). A
/// table without a primary key has no row identity: a changed row is one removed and one added.
///
/// Rows stream from SQLite; with a `sampleLimit` only that many of each kind are kept, so
/// memory stays flat however many rows differ.
public enum TableComparer {
  public static func compare(_ table: TableDefinition, connection: Connection, newer: String = "main", older: String,
                             sampleLimit: Int? = nil) throws -> TableDiff {
    let columns = table.columns.map(\.name)
    let keys = table.columns.filter(\.primaryKey).map(\.name)
    var diff = TableDiff(table: table.name, columns: columns, keyColumns: keys)
    let name = table.name.quotedIdentifier
    let new = "\(newer.quotedIdentifier).\(name)"
    let old = "\(older.quotedIdentifier).\(name)"
    let limit = sampleLimit ?? .max
    func list(_ alias: String) -> String { columns.map { "\(alias).\($0.quotedIdentifier)" }.joined(separator: ", ") }
    func rows(_ sql: String, _ body: ([SQLiteValue]) -> Void) throws {
      let statement = try connection.prepare(sql)
      try statement.forEachRow { row in body((0..<row.columnCount).map { row.value($0) }) }
    }
    func collect(_ sql: String, into sample: inout [[SQLiteValue]], count: inout Int) throws {
      let statement = try connection.prepare(sql)
      try statement.forEachRow { row in
        count += 1
        if sample.count < limit { sample.append((0..<row.columnCount).map { row.value($0) }) }
      }
    }
    guard !keys.isEmpty else {
      let plain = columns.map(\.quotedIdentifier).joined(separator: ", ")
      try collect("SELECT \(plain) FROM \(new) EXCEPT SELECT \(plain) FROM \(old) ORDER BY 1", into: &diff.added, count: &diff.addedCount)
      try collect("SELECT \(plain) FROM \(old) EXCEPT SELECT \(plain) FROM \(new) ORDER BY 1", into: &diff.removed, count: &diff.removedCount)
      return diff
    }
    // IS, not =: a NULL compares equal to a NULL here.
    let join = keys.map { "o.\($0.quotedIdentifier) IS n.\($0.quotedIdentifier)" }.joined(separator: " AND ")
    func orderBy(_ alias: String) -> String { keys.map { "\(alias).\($0.quotedIdentifier)" }.joined(separator: ", ") }
    try collect("SELECT \(list("n")) FROM \(new) AS n WHERE NOT EXISTS (SELECT 1 FROM \(old) AS o WHERE \(join)) ORDER BY \(orderBy("n"))",
                into: &diff.added, count: &diff.addedCount)
    try collect("SELECT \(list("o")) FROM \(old) AS o WHERE NOT EXISTS (SELECT 1 FROM \(new) AS n WHERE \(join)) ORDER BY \(orderBy("o"))",
                into: &diff.removed, count: &diff.removedCount)
    let same = columns.map { "o.\($0.quotedIdentifier) IS n.\($0.quotedIdentifier)" }.joined(separator: " AND ")
    try rows("SELECT \(list("o")), \(list("n")) FROM \(old) AS o JOIN \(new) AS n ON \(join) WHERE NOT (\(same)) ORDER BY \(orderBy("n"))") { row in
      diff.changedCount += 1
      if diff.changed.count < limit { diff.changed.append((old: Array(row[..<columns.count]), new: Array(row[columns.count...]))) }
    }
    return diff
  }

  /// The columns of `table` in the database `schema` (in their order), or nil when it has
  /// no such table: what to check before comparing with a state the schema did not build.
  public static func columns(of table: String, in schema: String, connection: Connection) throws -> [String]? {
    guard try connection.tableExists(table, schema: schema) else { return nil }
    var names: [String] = []
    try connection.prepare("SELECT name FROM pragma_table_info(?, ?)").forEachRow([.text(table), .text(schema)]) {
      names.append($0.string(0))
    }
    return names
  }
}
