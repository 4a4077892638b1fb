import LStoreSQLite

/// A cell both sides of a rebase changed to different values since the merge base (Dolt's
/// rule: same table, same primary key, same column). "Ours" is the new base the branch is
/// replayed onto, "theirs" the replayed event, as in git's rebase.
public struct CellConflict: Codable, Equatable, Sendable {
  public var table: String
  /// The primary key, as a JSON array of its column values.
  public var key: String
  /// The column, or `*` when one side deleted the row.
  public var column: String
  /// Each value as JSON text; nil: the row did not exist (base) or was deleted (ours, theirs).
  public var base: String?
  public var ours: String?
  public var theirs: String?
  /// The upstream event that last wrote the cell, and the replayed event (original number).
  public var oursEvent: SeqNum
  public var theirsEvent: SeqNum

  init(table: String, key: String, column: String, base: SQLiteValue?, ours: SQLiteValue?, theirs: SQLiteValue?,
       oursEvent: SeqNum, theirsEvent: SeqNum) {
    self.table = table
    self.key = key
    self.column = column
    self.base = base?.jsonValue.compactText
    self.ours = ours?.jsonValue.compactText
    self.theirs = theirs?.jsonValue.compactText
    self.oursEvent = oursEvent
    self.theirsEvent = theirsEvent
  }
}

extension SeqNum: Codable {
  public init(from decoder: Decoder) throws {
    let text = try decoder.singleValueContainer().decode(String.self)
    guard let value = SeqNum(text) else {
      throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a sequence number: \(text)"))
    }
    self = value
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}

/// The cells the new base changed since the merge base, kept in a table of the eventlog
/// file for the length of a rebase (so a stopped rebase resumes in another process with
/// nothing held in memory).
enum UpstreamCells {
  static let table = "log.lstore_rebase_cell"

  static func create(on connection: Connection) throws {
    try connection.execute("DROP TABLE IF EXISTS \(table)")
    // Not STRICT: base and ours hold values of any type, as the state's cells do.
    try connection.execute("""
      CREATE TABLE \(table) (
        tbl TEXT NOT NULL, key TEXT NOT NULL, col TEXT NOT NULL,
        base ANY, baseExists INTEGER NOT NULL, ours ANY, oursExists INTEGER NOT NULL,
        eventGlobal INTEGER NOT NULL, eventClient INTEGER NOT NULL,
        PRIMARY KEY (tbl, key, col)
      ) WITHOUT ROWID
      """)
  }

  static func drop(on connection: Connection) throws {
    try connection.execute("DROP TABLE IF EXISTS \(table)")
  }

  /// Records what an upstream event's changeset changed. The first change of a cell keeps
  /// its base value; later ones update "ours".
  static func record(_ changeset: [UInt8]?, of seqNum: SeqNum, on connection: Connection, names: ColumnNames) throws {
    guard let changeset, !changeset.isEmpty else { return }
    let upsert = try connection.cached("""
      INSERT INTO \(table) (tbl, key, col, base, baseExists, ours, oursExists, eventGlobal, eventClient)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (tbl, key, col) DO UPDATE SET ours = excluded.ours, oursExists = excluded.oursExists,
        eventGlobal = excluded.eventGlobal, eventClient = excluded.eventClient
      """)
    for cell in try CellChange.cells(of: changeset, names: names) {
      try upsert.execute([
        .text(cell.table), .text(cell.key), .text(cell.column), cell.old ?? .null, .integer(cell.old == nil ? 0 : 1),
        cell.new ?? .null, .integer(cell.new == nil ? 0 : 1), .integer(seqNum.global), .integer(seqNum.client),
      ])
    }
  }

  /// The conflicts of a replayed event, from the changeset it recorded when it was first
  /// applied: every cell it changed that upstream changed to another value, and every row
  /// one side deleted that the other changed.
  static func conflicts(of changeset: [UInt8]?, event: SeqNum, on connection: Connection, names: ColumnNames) throws -> [CellConflict] {
    guard let changeset, !changeset.isEmpty else { return [] }
    let cellLookup = try connection.cached("SELECT base, baseExists, ours, oursExists, eventGlobal, eventClient FROM \(table) WHERE tbl = ? AND key = ? AND col = ?")
    let rowLookup = try connection.cached("SELECT col, base, baseExists, ours, oursExists, eventGlobal, eventClient FROM \(table) WHERE tbl = ? AND key = ? LIMIT 1")
    let rowDeleted = try connection.cached("SELECT base, baseExists, ours, oursExists, eventGlobal, eventClient FROM \(table) WHERE tbl = ? AND key = ? AND col = '*' AND oursExists = 0")
    var found: [CellConflict] = []
    var rowsReported = Set<String>()
    for cell in try CellChange.cells(of: changeset, names: names) {
      let rowKey = cell.table + "\u{0}" + cell.key
      if cell.new == nil {
        // Theirs deletes the row: a conflict when upstream changed it, unless upstream
        // deleted it too.
        guard !rowsReported.contains(rowKey),
              let (column, upstream) = try rowLookup.first([.text(cell.table), .text(cell.key)], { ($0.string(0), UpstreamCell($0, offset: 1)) })
        else { continue }
        if column == "*" && !upstream.oursExists { continue }
        if upstream.unchanged { continue }
        rowsReported.insert(rowKey)
        found.append(CellConflict(table: cell.table, key: cell.key, column: "*", base: upstream.base,
                                  ours: upstream.ours, theirs: nil, oursEvent: upstream.event, theirsEvent: event))
        continue
      }
      if let upstream = try cellLookup.first([.text(cell.table), .text(cell.key), .text(cell.column)], UpstreamCell.init) {
        // Changed and changed back upstream is no change.
        if upstream.unchanged { continue }
        if !upstream.oursExists || upstream.ours != cell.new {
          found.append(CellConflict(table: cell.table, key: cell.key, column: cell.column, base: upstream.base,
                                    ours: upstream.ours, theirs: cell.new, oursEvent: upstream.event, theirsEvent: event))
        }
        continue
      }
      // Theirs changes a row that upstream deleted.
      if !rowsReported.contains(rowKey), let upstream = try rowDeleted.first([.text(cell.table), .text(cell.key)], UpstreamCell.init) {
        rowsReported.insert(rowKey)
        found.append(CellConflict(table: cell.table, key: cell.key, column: "*", base: upstream.base, ours: nil,
                                  theirs: cell.new, oursEvent: upstream.event, theirsEvent: event))
      }
    }
    return found
  }

  private struct UpstreamCell {
    var base: SQLiteValue?
    var ours: SQLiteValue?
    var oursExists: Bool
    var event: SeqNum
    /// Upstream's last value is its value at the merge base.
    var unchanged: Bool { base == ours }
    init(_ row: Statement) { self.init(row, offset: 0) }
    init(_ row: Statement, offset: Int32) {
      base = row.int64(offset + 1) != 0 ? row.value(offset) : nil
      oursExists = row.int64(offset + 3) != 0
      ours = oursExists ? row.value(offset + 2) : nil
      event = SeqNum(global: row.int64(offset + 4), client: row.int64(offset + 5))
    }
  }
}

/// One cell of a changeset: the old and new value of a column of a row (nil: the row
/// did not exist before, or does not after). Every changed row also yields a `*` cell,
/// its existence, so that deletes meet updates.
struct CellChange {
  var table: String
  var key: String
  var column: String
  var old: SQLiteValue?
  var new: SQLiteValue?

  static func cells(of changeset: [UInt8], names: ColumnNames) throws -> [CellChange] {
    var cells: [CellChange] = []
    for change in try Changeset.changes(in: changeset) {
      let columns = try names.of(change.table)
      func name(_ index: Int) -> String { index < columns.count ? columns[index] : "column\(index)" }
      let values = change.operation == .insert ? change.new : change.old
      let keyValues = change.primaryKey.enumerated().filter(\.element).map { values[$0.offset] ?? .null }
      let key = JSONValue.array(keyValues.map(\.jsonValue)).compactText
      switch change.operation {
      case .insert:
        cells.append(CellChange(table: change.table, key: key, column: "*", old: nil, new: .integer(1)))
        for (index, value) in change.new.enumerated() where !change.primaryKey[index] {
          cells.append(CellChange(table: change.table, key: key, column: name(index), old: nil, new: value ?? .null))
        }
      case .update:
        for (index, value) in change.new.enumerated() where !change.primaryKey[index] {
          guard let value else { continue }
          cells.append(CellChange(table: change.table, key: key, column: name(index), old: change.old[index] ?? .null, new: value))
        }
      case .delete:
        cells.append(CellChange(table: change.table, key: key, column: "*", old: .integer(1), new: nil))
      }
    }
    return cells
  }
}

/// Column names of the state's tables, looked up once per table.
final class ColumnNames {
  private let connection: Connection
  private var cache: [String: [String]] = [:]
  init(connection: Connection) { self.connection = connection }

  func of(_ table: String) throws -> [String] {
    if let known = cache[table] { return known }
    var names: [String] = []
    try connection.prepare("SELECT name FROM pragma_table_info(?, 'main')").forEachRow([.text(table)]) { names.append($0.string(0)) }
    cache[table] = names
    return names
  }
}

extension SQLiteValue {
  /// How a cell value reads in JSON output (blobs as hex strings `x'…'`).
  public var jsonValue: JSONValue {
    switch self {
    case .null: return .null
    case .integer(let value): return .integer(value)
    case .real(let value): return JSONValue.number(from: value)
    case .text(let value): return .string(value)
    case .blob: return .string(description)
    }
  }
}
