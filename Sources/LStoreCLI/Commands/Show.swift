import ArgumentParser
import Foundation
import LStoreKit
import LStoreSQLite

struct ShowCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "show",
    abstract: "Show one event (args, metadata, the rows it changed) or one commit.",
    discussion: """
      <ref> is an event's sequence number (e5, e5+1), or any other revision (see \
      lstore-revisions): a commit id (any unique prefix of at least 4 characters; a bare \
      number is taken as a commit id prefix when one matches, else as an event), HEAD, \
      HEAD~2, a branch, which show the commit there. \
      The rows an event changed come from the changeset LiveStore keeps in the state \
      database for events not yet confirmed by a backend; for a confirmed event they are \
      derived by replaying the eventlog up to it into a scratch state.
      """)

  @ParentCommand var root: LStoreCommand

  @Argument(help: ArgumentHelp("An event (e5, e5+1), a commit id prefix, or a revision (HEAD~2, a branch).", valueName: "ref"))
  var ref: String

  @Flag(name: .long, help: "Print JSON (see docs/output-formats.md).")
  var json = false

  func run() throws {
    let global = root.global
    let (eventlog, store) = try global.openEventlogForReading()
    switch try RevisionResolver(eventlog: eventlog, store: store).shown(ref) {
    case .event(let seqNum, let log):
      try showEvent(seqNum, eventlog: log, store: log === eventlog ? store : nil, global: global)
    case .commit(let commit, let log):
      try showCommit(commit, eventlog: log, global: global)
    }
  }

  func statePath(_ store: Store?) -> String? {
    guard let store, let schema = try? store.loadSchema() else { return nil }
    let path = store.statePath(for: schema)
    return FileManager.default.fileExists(atPath: path) ? path : nil
  }

  func showEvent(_ position: SeqNum, eventlog: Eventlog, store: Store?, global: GlobalOptions) throws {
    guard let record = try eventlog.event(at: position) else {
      throw StoreError.notFound("no event \(position) (head is \(try eventlog.head()))")
    }
    // As stored: a format-6 event's number carries its rebase generation.
    let seqNum = record.seqNum
    let commit = try eventlog.commit(containing: seqNum)
    let kept = try statePath(store).flatMap { try RowChanges.read(statePath: $0, seqNum: seqNum) }
    // A confirmed event's changeset is trimmed (as LiveStore does): its rows are derived by
    // replaying the eventlog up to it instead.
    var replayed = false
    var changes = kept
    if kept == nil, let store, let schema = try? store.loadSchema() {
      changes = try RowChanges.replayed(eventlogPath: store.eventlogPath, schema: schema, seqNum: seqNum, now: Clock.now())
      replayed = changes != nil
    }
    let backendHead = try eventlog.backendHead()
    let confirmed = !seqNum.isPending(backendHead: backendHead)
    let out = global.stdout
    if json {
      var writer = JSONWriter()
      // The event as log --json and export print it, then what show adds.
      try eventlog.forEach(after: position.justBefore, through: position) { row in
        EventJSON.write(row, commit: commit, into: &writer) { writer in
          writer.appendASCII(#","confirmed":"#)
          writer.appendASCII(confirmed ? "true" : "false")
          writer.appendASCII(#","changes":"#)
          writer.write(changes.map { .array($0.map(Self.changeJSON)) } ?? .null)
          writer.appendASCII(#","changesReplayed":"#)
          writer.appendASCII(replayed ? "true" : "false")
        }
        return false
      }
      out.line(writer.string)
      return
    }
    let style = global.style
    out.line(style.yellow("event \(seqNum)") + " (parent \(record.parentSeqNum))")
    out.line("Name:     \(style.bold(record.name))\(seqNum.isClientOnly ? " (client-only)" : "")")
    out.line("Client:   \(record.clientId)   Session: \(record.sessionId)")
    if let commit { out.line("Commit:   \(commit.id) \(commit.message.firstLine)") }
    let syncText = seqNum.isClientOnly ? "never (client-only)" : confirmed ? "confirmed \(record.syncMetadataJSON)" : "pending (not pushed)"
    out.line("Synced:   \(syncText)")
    out.line("Args:")
    let args = (try? JSONParser.parse(record.argsJSON))?.prettyText() ?? record.argsJSON
    for line in args.split(separator: "\n") { out.line("  \(line)") }
    out.line(replayed ? "Changes (derived by replaying the eventlog up to \(seqNum)):" : "Changes:")
    guard let changes else {
      out.line("  (not recorded: state keeps changesets only for events a backend has not confirmed; give a store to replay)")
      return
    }
    if changes.isEmpty { out.line("  (none)") }
    for change in changes { out.line("  " + Self.describe(change, style: style)) }
  }

  static func literal(_ value: SQLiteValue?) -> String {
    guard let value else { return "∅" }
    switch value {
    case .text(let text): return "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    default: return value.description
    }
  }

  static func describe(_ change: RowChange, style: Style) -> String {
    let key = change.key.map { "\($0.0)=\(literal($0.1))" }.joined(separator: ", ")
    switch change.operation {
    case .insert:
      return style.green("INSERT") + " \(change.table) (" + change.columns.map { "\($0.name)=\(literal($0.new))" }.joined(separator: ", ") + ")"
    case .delete:
      return style.red("DELETE") + " \(change.table) (" + change.columns.map { "\($0.name)=\(literal($0.old))" }.joined(separator: ", ") + ")"
    case .update:
      return style.cyan("UPDATE") + " \(change.table) [\(key)] " + change.columns.map { "\($0.name): \(literal($0.old)) → \(literal($0.new))" }.joined(separator: ", ")
    }
  }

  static func sqliteJSON(_ value: SQLiteValue?) -> JSONValue {
    switch value {
    case nil, .null?: return .null
    case .integer(let v)?: return .integer(v)
    case .real(let v)?: return .number(v)
    case .text(let v)?: return .string(v)
    case .blob(let bytes)?: return .string(bytes.map { String(format: "%02x", $0) }.joined())
    }
  }

  static func changeJSON(_ change: RowChange) -> JSONValue {
    var key = JSONObject()
    for (name, value) in change.key { key[name] = sqliteJSON(value) }
    var old = JSONObject()
    var new = JSONObject()
    for column in change.columns {
      if change.operation != .insert { old[column.name] = sqliteJSON(column.old) }
      if change.operation != .delete { new[column.name] = sqliteJSON(column.new) }
    }
    return ["table": .string(change.table), "operation": .string(change.operation.rawValue.lowercased()),
            "key": .object(key), "old": change.operation == .insert ? .null : .object(old),
            "new": change.operation == .delete ? .null : .object(new)]
  }

  func showCommit(_ commit: LStoreKit.Commit, eventlog: Eventlog, global: GlobalOptions) throws {
    let out = global.stdout
    let before = commit.first.client > 0 ? SeqNum(global: commit.first.global, client: commit.first.client - 1)
      : SeqNum(global: commit.first.global - 1, client: .max)
    if json {
      var writer = JSONWriter()
      var object = JSONObject()
      object["id"] = .string(commit.id)
      object["first"] = .string(commit.first.description)
      object["last"] = .string(commit.last.description)
      object["message"] = .string(commit.message)
      object["author"] = ["name": .string(commit.author.name), "email": .string(commit.author.email)]
      object["time"] = .string(commit.time)
      writer.write(.object(object))
      writer.bytes.removeLast()
      writer.appendASCII(#","events":["#)
      var first = true
      try eventlog.forEach(after: before, through: commit.last) { row in
        if !first { writer.appendASCII(",") }
        first = false
        EventJSON.write(row, commit: commit, into: &writer)
        return true
      }
      writer.appendASCII("]}")
      out.line(writer.string)
      return
    }
    let style = global.style
    out.line(style.yellow("commit \(commit.id)") + " (\(eventRange(commit.first, commit.last)))")
    out.line("Author: \(commit.author)")
    out.line("Date:   \(commit.time)")
    out.line()
    for line in commit.message.split(separator: "\n", omittingEmptySubsequences: false) { out.line("    \(line)") }
    out.line()
    try eventlog.forEach(after: before, through: commit.last) { row in
      out.line("\(style.yellow(row.seqNum.description)) \(row.name) \(EventJSON.argsOnOneLine(of: row))")
      return true
    }
  }
}
