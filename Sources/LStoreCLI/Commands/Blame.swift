import ArgumentParser
import Foundation
import LStoreKit
import LStoreSQLite

struct BlameCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "blame",
    abstract: "Which event (and commit) last wrote each column of a row.",
    discussion: """
      <key> is the row's primary-key value; for a primary key of several columns, one value \
      per column, in the key's order (lstore blame pairs a 1). The eventlog is \
      replayed into a scratch state, reading every event's row changes: a column is blamed \
      on the insert that created the row, or the last update that changed it. A row deleted \
      and created again is blamed on its new insert. Nothing changes.

      Text: one line per column, '<event> <commit id prefix or -> <event name> <column> = <value>'. \
      --json: one object per column, {column, value, seqNum, name, commit} (commit null \
      for an event in no commit; values as in sql --json).

      Exit status 0; 66 for an unknown table or a row that is not there at the head; 64 for a \
      table without a primary key or a number of key values other than its key's columns; \
      65 when the eventlog does not replay. Ctrl-C (130) or SIGTERM (143) removes the \
      scratch state before lstore exits.
      """)

  @ParentCommand var root: LStoreCommand

  @Argument(help: ArgumentHelp("The table.", valueName: "table"))
  var table: String

  @Argument(help: ArgumentHelp("The row's primary-key value (one per key column).", valueName: "key"))
  var key: [String]

  @Option(name: .long, help: ArgumentHelp("Replay with this schema file instead of the store's (needed with --eventlog).", valueName: "path"),
          completion: .file(extensions: ["yaml", "yml", "json"]))
  var schema: String?

  @Flag(name: .long, help: "One JSON object per column.")
  var json = false

  func run() throws {
    let global = root.global
    let (eventlog, store) = try global.openEventlogForReading()
    let loaded = try global.replaySchema(schema, store: store)
    InterruptNotice.removeScratchOnSignal("lstore: error: interrupted; blame changes nothing\n")
    let blame = try RowBlame.compute(eventlog: eventlog, eventlogPath: store?.eventlogPath ?? global.resolve(global.eventlog ?? ""),
                                     schema: loaded, table: table, key: key, now: Clock.now())
    let out = global.stdout
    let eventWidth = blame.columns.map(\.seqNum.description.count).max() ?? 0
    let nameWidth = blame.columns.map(\.eventName.count).max() ?? 0
    let columnWidth = blame.columns.map(\.name.count).max() ?? 0
    for column in blame.columns {
      if json {
        let object = JSONObject([
          ("column", .string(column.name)), ("value", SqlCommand.json(column.value)), ("seqNum", .string(column.seqNum.description)),
          ("name", .string(column.eventName)), ("commit", column.commitId.map { .string($0) } ?? .null),
        ])
        out.line(JSONValue.object(object).compactText)
      } else {
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        let commit = column.commitId.map { String($0.prefix(8)) } ?? "-"
        out.line("\(pad(column.seqNum.description, eventWidth)) \(global.style.yellow(pad(commit, 8))) \(pad(column.eventName, nameWidth)) \(pad(column.name, columnWidth)) = \(SqlCommand.cell(column.value))")
      }
    }
  }
}
