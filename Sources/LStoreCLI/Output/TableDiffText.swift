import LStoreKit
import LStoreSQLite

/// The rows of a table diff for people, as `diff` and `replay --against` print them:
/// `+ <row>`, `- <row>`, `~ <key> <column>: <old> -> <new>`.
enum TableDiffText {
  static func lines(_ table: TableDiff, style: Style, indent: String = "") -> [String] {
    func rowText(_ row: [SQLiteValue]) -> String { table.rowJSON(row).compactText }
    func keyText(_ row: [SQLiteValue]) -> String {
      let key = table.key(of: row)
      if key.count == 1 { return key[0].1.description }
      return JSONValue.object(JSONObject(key.map { (key: $0.0, value: $0.1.jsonValue) })).compactText
    }
    var lines: [String] = []
    for row in table.added { lines.append(indent + style.green("+ \(rowText(row))")) }
    for row in table.removed { lines.append(indent + style.red("- \(rowText(row))")) }
    for change in table.changed {
      let differing = change.old.indices.filter { change.old[$0] != change.new[$0] }
      let columns = differing.map { "\(table.columns[$0]): \(SqlCommand.cell(change.old[$0])) -> \(SqlCommand.cell(change.new[$0]))" }
      lines.append(indent + style.yellow("~ \(keyText(change.new)) \(columns.joined(separator: ", "))"))
    }
    return lines
  }
}
