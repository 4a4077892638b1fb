import LStoreSQLite

/// A row change of an event, decoded from its changeset with column names attached.
public struct RowChange: Sendable {
  public var table: String
  public var operation: Changeset.Change.Operation
  /// Primary-key columns and their values.
  public var key: [(String, SQLiteValue)]
  /// For inserts: all columns. For updates: the changed columns (old → new). For deletes: the old row.
  public var columns: [(name: String, old: SQLiteValue?, new: SQLiteValue?)]
}

public enum RowChanges {
  /// Reads the recorded changes of `seqNum` from a state database. Returns nil when the
  /// state kept no changeset for it (LiveStore trims those of confirmed events).
  public static func read(statePath: String, seqNum: SeqNum) throws -> [RowChange]? {
    let connection = try Connection(path: statePath, mode: .readOnly)
    let (found, blob) = try StateDatabase.changeset(connection, seqNum: seqNum)
    guard found else { return nil }
    guard let blob else { return [] }
    var columnNames: [String: [String]] = [:]
    return try Changeset.changes(in: blob).map { change in
      if columnNames[change.table] == nil {
        var names: [String] = []
        try connection.prepare("SELECT name FROM pragma_table_info(?)").forEachRow([.text(change.table)]) { names.append($0.string(0)) }
        columnNames[change.table] = names
      }
      let names = columnNames[change.table]!
      func name(_ i: Int) -> String { i < names.count ? names[i] : "column\(i)" }
      var key: [(String, SQLiteValue)] = []
      var columns: [(name: String, old: SQLiteValue?, new: SQLiteValue?)] = []
      let count = max(change.old.count, change.new.count)
      for i in 0..<count {
        let old = i < change.old.count ? change.old[i] : nil
        let new = i < change.new.count ? change.new[i] : nil
        if i < change.primaryKey.count, change.primaryKey[i] {
          key.append((name(i), (old ?? new) ?? .null))
          if change.operation != .update { columns.append((name(i), old, new)) }
          continue
        }
        if change.operation == .update && new == nil { continue }
        columns.append((name(i), old, new))
      }
      return RowChange(table: change.table, operation: change.operation, key: key, columns: columns)
    }
  }
}
