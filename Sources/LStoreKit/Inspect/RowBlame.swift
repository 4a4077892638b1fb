import Foundation
import LStoreSQLite

public enum RowBlameError: Error, Equatable, Sendable, CustomStringConvertible {
  case unknownTable(String, known: [String])
  case noPrimaryKey(String)
  /// The key values given do not match the primary key's columns in number.
  case keyCount(String, columns: [String], given: Int)
  /// The row is not in the state at the head.
  case noRow(table: String, key: String, deletedBy: SeqNum?)

  public var description: String {
    switch self {
    case .unknownTable(let name, let known): return "no table '\(name)' in the schema (tables: \(known.joined(separator: ", ")))"
    case .noPrimaryKey(let name): return "table '\(name)' has no primary key: its rows cannot be named"
    case .keyCount(let name, let columns, let given):
      return "table '\(name)' has a primary key of \(columns.count) column\(columns.count == 1 ? "" : "s") (\(columns.joined(separator: ", "))): give \(columns.count == 1 ? "its value" : "one value for each, in that order"), not \(given)"
    case .noRow(let table, let key, let deletedBy):
      return "no row '\(key)' in \(table)" + (deletedBy.map { " (deleted by \($0))" } ?? "")
    }
  }
}

/// Which event last wrote each column of one row.
public struct RowBlame: Sendable {
  public struct Column: Sendable {
    public var name: String
    public var value: SQLiteValue
    /// The event that last wrote the column: the insert, or the last update that changed it.
    public var seqNum: SeqNum
    public var eventName: String
    public var commitId: String?
  }

  public var table: String
  /// The key values, in the primary key's column order.
  public var key: [String]
  public var columns: [Column]

  /// Replays the whole eventlog into a scratch state, reading every event's row changes, and
  /// keeps, for each column of the row, the last event that set it. A delete forgets the
  /// row: a row created again later is blamed on its new insert. `key` holds one value per
  /// primary-key column, in the key's order (as text; an integer column matches as an integer).
  public static func compute(eventlog: Eventlog, eventlogPath: String, schema: Schema, table: String, key: [String],
                             now: String) throws -> RowBlame {
    guard let definition = schema.tables.first(where: { $0.name == table }) else {
      throw RowBlameError.unknownTable(table, known: schema.tables.map(\.name))
    }
    let keyColumns = definition.columns.indices.filter { definition.columns[$0].primaryKey }
    guard !keyColumns.isEmpty else { throw RowBlameError.noPrimaryKey(table) }
    guard keyColumns.count == key.count else {
      throw RowBlameError.keyCount(table, columns: keyColumns.map { definition.columns[$0].name }, given: key.count)
    }
    var writers: [SeqNum?] = []
    var deletedBy: SeqNum?
    let directory = try ScratchDirectory(purpose: "blame")
    defer { directory.remove() }
    let scratch = directory.file("state.db")
    _ = try Rematerializer.rebuild(
      eventlogPath: eventlogPath, statePath: scratch, schema: schema, updatedAt: now,
      observing: ChangesetObserver(after: .root) { seqNum, changeset in
        for change in try Changeset.changes(in: changeset) where change.table == table {
          let values = change.operation == .insert ? change.new : change.old
          guard zip(keyColumns, key).allSatisfy({ index, text in
            index < values.count && values[index].map { $0.description == text } == true
          }) else { continue }
          switch change.operation {
          case .insert:
            writers = Array(repeating: seqNum, count: change.new.count)
            deletedBy = nil
          case .update:
            if writers.count < change.new.count { writers += Array(repeating: nil, count: change.new.count - writers.count) }
            for index in change.new.indices where change.new[index] != nil { writers[index] = seqNum }
          case .delete:
            writers = []
            deletedBy = seqNum
          }
        }
      })
    // The row as it is now, by the scratch state's own column order (the changesets' order).
    let connection = try Connection(path: scratch, mode: .readOnly)
    let match = keyColumns.map { "\(definition.columns[$0].name.quotedIdentifier) = ?" }.joined(separator: " AND ")
    let statement = try connection.prepare("SELECT * FROM \(table.quotedIdentifier) WHERE \(match)")
    var columns: [Column] = []
    var eventNames: [SeqNum: String] = [:]
    var commits: [SeqNum: String?] = [:]
    let keyValues: [SQLiteValue] = zip(keyColumns, key).map { index, text in
      definition.columns[index].type.sqlType == "integer" ? (Int64(text).map { .integer($0) } ?? .text(text)) : .text(text)
    }
    try statement.forEachRow(keyValues) { row in
      for index in 0..<Int(row.columnCount) {
        guard index < writers.count, let seqNum = writers[index] else { continue }
        if eventNames[seqNum] == nil { eventNames[seqNum] = try eventlog.event(at: seqNum)?.name ?? "?" }
        if commits[seqNum] == nil { commits[seqNum] = .some(try eventlog.commit(containing: seqNum)?.id) }
        columns.append(Column(name: row.columnName(Int32(index)), value: row.value(Int32(index)), seqNum: seqNum,
                              eventName: eventNames[seqNum]!, commitId: commits[seqNum]!))
      }
    }
    guard !columns.isEmpty else {
      throw RowBlameError.noRow(table: table, key: key.joined(separator: ", "), deletedBy: deletedBy)
    }
    return RowBlame(table: table, key: key, columns: columns)
  }
}
