import LStoreKit
import LStoreSQLite

/// The rows of a table diff for people, as `diff` and `replay --against` print them:
/// `+ <row>`, `- <row>`, `~ <key> <column>: <old> -> <new>`.
enum TableDiffText {
  /// The sample a `replay --against` comparison kept.
  static func lines(_ table: TableDiff, style: Style, indent: String = "") -> [String] {
    table.added.map { line(.added($0), of: table, style: style, indent: indent) }
      + table.removed.map { line(.removed($0), of: table, style: style, indent: indent) }
      + table.changed.map { line(.changed(old: $0.old, new: $0.new), of: table, style: style, indent: indent) }
  }

  /// One differing row (`table` gives the columns and the key).
  static func line(_ difference: RowDifference, of table: TableDiff, style: Style, indent: String = "") -> String {
    func rowText(_ row: [SQLiteValue]) -> String { table.rowJSON(row).compactText }
    func keyText(_ row: [SQLiteValue]) -> String {
      let key = table.key(of: row)
      if key.count == 1 { return key[0].1.description }
      return JSONValue.object(JSONObject(key.map { (key: $0.0, value: $0.1.jsonValue) })).compactText
    }
    switch difference {
    case .added(let row): return indent + style.green("+ \(rowText(row))")
    case .removed(let row): return indent + style.red("- \(rowText(row))")
    case .changed(let old, let new):
      let differing = old.indices.filter { old[$0] != new[$0] }
      let columns = differing.map { "\(table.columns[$0]): \(SqlCommand.cell(old[$0])) -> \(SqlCommand.cell(new[$0]))" }
      return indent + style.yellow("~ \(keyText(new)) \(columns.joined(separator: ", "))")
    }
  }

  /// A differing row as `diff --json` puts it in its table's `added`, `removed` or `changed` array.
  static func json(_ difference: RowDifference, of table: TableDiff) -> JSONValue {
    switch difference {
    case .added(let row), .removed(let row): return table.rowJSON(row)
    case .changed(let old, let new): return table.changeJSON(old: old, new: new)
    }
  }
}
