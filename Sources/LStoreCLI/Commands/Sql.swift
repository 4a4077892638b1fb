import ArgumentParser
import Foundation
import LStoreKit
import LStoreSQLite

struct SqlCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sql",
    abstract: "Run a read-only SQL query over the state, with the eventlog attached.",
    discussion: """
      The branch's state database is main (its tables by name: todos), and the eventlog is \
      attached as eventlog (the events: eventlog or eventlog.eventlog; the sync status: \
      eventlog.__livestore_sync_status). With --eventlog <path> there is no state: main is \
      empty and only the eventlog is there. One statement; both files are opened read-only \
      and PRAGMA query_only is on, so a write (INSERT, UPDATE, DELETE, CREATE, ATTACH, \
      setting a pragma) is refused.

      Output: an aligned table (default; NULL shown as NULL), --json (one object per row, \
      column names as keys; integers and reals as JSON numbers, text as strings, NULL as \
      null, blobs as hex strings x'…'), or --csv (RFC 4180: a header row, fields quoted when \
      they hold a comma, quote or line break, CRLF line ends; NULL as an empty field).

      Exit status 0 on success, 65 for a query SQLite rejects (syntax, an unknown table or \
      column) or a write, 66 when there is no store, file or state.
      """)

  @ParentCommand var root: LStoreCommand

  @Argument(help: ArgumentHelp("One SQL statement, e.g. \"select count(*) from todos\".", valueName: "query"))
  var query: String

  @Flag(name: .long, help: "One JSON object per row (NDJSON).")
  var json = false

  @Flag(name: .long, help: "CSV (RFC 4180) with a header row.")
  var csv = false

  func validate() throws {
    if json && csv { throw ValidationError("give --json or --csv, not both") }
  }

  func run() throws {
    let global = root.global
    let statePath: String?
    let eventlogPath: String
    if let path = global.eventlog {
      eventlogPath = global.resolve(path)
      guard FileManager.default.fileExists(atPath: eventlogPath) else { throw StoreError.notFound("no such file: \(path)") }
      statePath = nil
    } else {
      let store = try global.openStore()
      eventlogPath = store.eventlogPath
      statePath = store.statePath(for: try store.loadSchema())
    }
    let out = global.stdout
    var names: [String] = []
    var table: [[String]] = []
    var numeric: [Bool] = []
    try SQLQuery.run(sql: query, statePath: statePath, eventlogPath: eventlogPath, columns: { columns in
      names = columns
      numeric = Array(repeating: true, count: columns.count)
      if csv { out.write(columns.map(Self.csvField).joined(separator: ",") + "\r\n") }
    }, row: { values in
      if json {
        let object = JSONObject(zip(names, values).map { (key: $0.0, value: Self.json($0.1)) })
        out.line(JSONValue.object(object).compactText)
      } else if csv {
        out.write(values.map { Self.csvField(Self.text($0)) }.joined(separator: ",") + "\r\n")
      } else {
        for (index, value) in values.enumerated() {
          switch value {
          case .integer, .real, .null: break
          default: numeric[index] = false
          }
        }
        table.append(values.map(Self.cell))
      }
    })
    if !json && !csv { Self.printTable(names: names, rows: table, rightAligned: numeric, out: out) }
  }

  /// Reals stay reals (`1.5`); integers print as integers. Blobs as `x'…'`, like `show`.
  static func json(_ value: SQLiteValue) -> JSONValue {
    switch value {
    case .real(let number): return .number(number)
    default: return value.jsonValue
    }
  }

  static func text(_ value: SQLiteValue, null: String = "") -> String {
    if case .null = value { return null }
    return value.description
  }

  /// A value on one line of text output: NULL as NULL, a line break as \n.
  static func cell(_ value: SQLiteValue) -> String {
    text(value, null: "NULL").replacingOccurrences(of: "\n", with: "\\n")
  }

  static func csvField(_ field: String) -> String {
    guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
    return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  /// Columns as wide as their widest cell; numbers right-aligned, like a spreadsheet.
  static func printTable(names: [String], rows: [[String]], rightAligned: [Bool], out: OutputStream) {
    var widths = names.map(\.count)
    for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
    func render(_ cells: [String], alignRight: Bool) -> String {
      cells.enumerated().map { index, cell in
        let padding = String(repeating: " ", count: widths[index] - cell.count)
        return alignRight && rightAligned[index] && !rows.isEmpty ? padding + cell : cell + padding
      }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
    }
    out.line(render(names, alignRight: true))
    out.line(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
    for row in rows { out.line(render(row, alignRight: true)) }
  }
}
