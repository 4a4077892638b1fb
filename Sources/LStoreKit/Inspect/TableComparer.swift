import LStoreSQLite

/// One row that differs between two states.
public enum RowDifference {
  public enum Kind: CaseIterable, Sendable {
    case added, removed, changed
  }

  /// Only in the newer state.
  case added([SQLiteValue])
  /// Only in the older state.
  case removed([SQLiteValue])
  /// In both (same primary key), some column different.
  case changed(old: [SQLiteValue], new: [SQLiteValue])
}

/// How one table's rows differ between two states.
public struct TableDiff: Sendable {
  public var table: String
  /// The table's columns in declaration order; every row below has one value per column.
  public var columns: [String]
  /// The primary-key columns (empty for a table without one: its rows are then only added
  /// or removed, never changed).
  public var keyColumns: [String]
  /// The rows, ordered by primary key: the first `sampleLimit` of each kind (none when the
  /// diff only counts, as `diff` does before streaming the rows). The counts are always of
  /// all rows.
  public var added: [[SQLiteValue]] = []
  public var removed: [[SQLiteValue]] = []
  public var changed: [(old: [SQLiteValue], new: [SQLiteValue])] = []
  public var addedCount = 0
  public var removedCount = 0
  public var changedCount = 0

  /// No rows yet, no counts: the table's columns and key.
  public init(_ table: TableDefinition) {
    self.table = table.name
    columns = table.columns.map(\.name)
    keyColumns = table.columns.filter(\.primaryKey).map(\.name)
  }

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
/// Each kind is one query whose rows stream from SQLite in primary-key order (the key's
/// index gives the order, so SQLite sorts nothing): `forEachDifference` hands them on one
/// at a time, `count` only counts, and `compare` keeps at most `sampleLimit` of each kind.
/// Memory stays flat however many rows differ.
public enum TableComparer {
  /// Calls `body` with every row of `kind` that differs, in primary-key order.
  public static func forEachDifference(_ kind: RowDifference.Kind, of table: TableDefinition, connection: Connection,
                                       newer: String = "main", older: String,
                                       _ body: (RowDifference) throws -> Void) throws {
    let width = table.columns.count
    guard let sql = query(kind, of: table, newer: newer, older: older) else { return }
    try connection.prepare(sql).forEachRow { row in
      let values = (0..<row.columnCount).map { row.value($0) }
      switch kind {
      case .added: try body(.added(values))
      case .removed: try body(.removed(values))
      case .changed: try body(.changed(old: Array(values[..<width]), new: Array(values[width...])))
      }
    }
  }

  /// How many rows of each kind differ, counted by SQLite (no row is read into memory):
  /// a `TableDiff` with the counts and no sample.
  public static func count(_ table: TableDefinition, connection: Connection, newer: String = "main",
                           older: String) throws -> TableDiff {
    var diff = TableDiff(table)
    for kind in RowDifference.Kind.allCases {
      guard let sql = query(kind, of: table, newer: newer, older: older) else { continue }
      let count = Int(try connection.prepare("SELECT count(*) FROM (\(sql))").first { $0.int64(0) } ?? 0)
      switch kind {
      case .added: diff.addedCount = count
      case .removed: diff.removedCount = count
      case .changed: diff.changedCount = count
      }
    }
    return diff
  }

  /// The counts of every kind, and the first `sampleLimit` rows of each (all of them without one).
  public static func compare(_ table: TableDefinition, connection: Connection, newer: String = "main", older: String,
                             sampleLimit: Int? = nil) throws -> TableDiff {
    var diff = TableDiff(table)
    let limit = sampleLimit ?? .max
    for kind in RowDifference.Kind.allCases {
      try forEachDifference(kind, of: table, connection: connection, newer: newer, older: older) { difference in
        switch difference {
        case .added(let row):
          diff.addedCount += 1
          if diff.added.count < limit { diff.added.append(row) }
        case .removed(let row):
          diff.removedCount += 1
          if diff.removed.count < limit { diff.removed.append(row) }
        case .changed(let old, let new):
          diff.changedCount += 1
          if diff.changed.count < limit { diff.changed.append((old: old, new: new)) }
        }
      }
    }
    return diff
  }

  /// The query of one kind: its rows are the table's columns (for `changed`, the old row's
  /// then the new row's), in primary-key order. Nil for `changed` without a primary key.
  private static func query(_ kind: RowDifference.Kind, of table: TableDefinition, newer: String, older: String) -> String? {
    let columns = table.columns.map(\.name)
    let keys = table.columns.filter(\.primaryKey).map(\.name)
    let name = table.name.quotedIdentifier
    let new = "\(newer.quotedIdentifier).\(name)"
    let old = "\(older.quotedIdentifier).\(name)"
    func list(_ alias: String) -> String { columns.map { "\(alias).\($0.quotedIdentifier)" }.joined(separator: ", ") }
    guard !keys.isEmpty else {
      let plain = columns.map(\.quotedIdentifier).joined(separator: ", ")
      switch kind {
      case .added: return "SELECT \(plain) FROM \(new) EXCEPT SELECT \(plain) FROM \(old) ORDER BY 1"
      case .removed: return "SELECT \(plain) FROM \(old) EXCEPT SELECT \(plain) FROM \(new) ORDER BY 1"
      case .changed: return nil
      }
    }
    // IS, not =: a NULL compares equal to a NULL here.
    let join = keys.map { "o.\($0.quotedIdentifier) IS n.\($0.quotedIdentifier)" }.joined(separator: " AND ")
    func orderBy(_ alias: String) -> String { keys.map { "\(alias).\($0.quotedIdentifier)" }.joined(separator: ", ") }
    switch kind {
    case .added:
      return "SELECT \(list("n")) FROM \(new) AS n WHERE NOT EXISTS (SELECT 1 FROM \(old) AS o WHERE \(join)) ORDER BY \(orderBy("n"))"
    case .removed:
      return "SELECT \(list("o")) FROM \(old) AS o WHERE NOT EXISTS (SELECT 1 FROM \(new) AS n WHERE \(join)) ORDER BY \(orderBy("o"))"
    case .changed:
      let same = columns.map { "o.\($0.quotedIdentifier) IS n.\($0.quotedIdentifier)" }.joined(separator: " AND ")
      return "SELECT \(list("o")), \(list("n")) FROM \(old) AS o JOIN \(new) AS n ON \(join) WHERE NOT (\(same)) ORDER BY \(orderBy("n"))"
    }
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
