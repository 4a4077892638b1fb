import ArgumentParser
import Foundation
import LStoreKit

struct LogCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "log",
    abstract: "Show history, newest first: commits, or every event with --events.",
    discussion: """
      Events that arrived without a commit (pulled from apps) are grouped into runs from \
      one client and session. --json prints one JSON object per event, newest first; the \
      format is stable (docs/output-formats.md):
        {"seqNum":"e3","parentSeqNum":"e2","name":…,"args":{…},"clientId":…,"sessionId":…,
         "schemaHash":…,"syncMetadata":{"_tag":"None"},"clientOnly":false,"commit":{"id":…,"message":…}|null}
      --oneline prints one line per commit (or per event with --events):
        <commit id, 16 hex> <first>..<last> <message>        (commits; '-' for no commit)
        <seqNum> <name> <args JSON>                          (events)
      """)

  @ParentCommand var root: LStoreCommand
  @OptionGroup var filter: EventFilterOptions

  @Flag(name: .long, help: "One line per commit, or per event with --events.")
  var oneline = false

  @Flag(name: .long, help: "List every event instead of commits.")
  var events = false

  @Flag(name: .long, help: "One JSON object per event (NDJSON), newest first.")
  var json = false

  @Flag(name: .long, help: "Oldest first.")
  var reverse = false

  @Option(name: [.customShort("n"), .customLong("max-count")], help: "Show at most this many commits (or events).")
  var maxCount: Int?

  func run() throws {
    let global = root.global
    let (eventlog, _) = try global.openEventlogForReading()
    let (after, through) = try filter.range()
    let out = global.stdout
    if json || events {
      try printEvents(eventlog, after: after, through: through, out: out, style: global.style)
    } else {
      try printCommits(eventlog, after: after, through: through, out: out, style: global.style)
    }
  }

  private var order: Eventlog.Order { reverse ? .ascending : .descending }

  func printEvents(_ eventlog: Eventlog, after: SeqNum, through: SeqNum?, out: OutputStream, style: Style) throws {
    let commits = try eventlog.commitCursor(after: after, through: through, order: order)
    var printed = 0
    var writer = JSONWriter(reservingCapacity: 512)
    try eventlog.forEach(after: after, through: through, order: order) { row in
      guard filter.matches(row) else { return true }
      if let maxCount, printed >= maxCount { return false }
      let seqNum = row.seqNum
      let commit = try commits.commit(for: seqNum, ascending: reverse)
      if json {
        writer.removeAll()
        EventJSON.write(row, commit: commit, into: &writer)
        writer.bytes.append(0x0A)
        out.write(bytes: writer.bytes)
      } else if oneline {
        out.write(style.yellow(seqNum.description))
        out.write(" ")
        out.write(row.name)
        out.write(" ")
        out.write(bytes: row.argsUTF8)
        out.write("\n")
      } else {
        out.line("\(style.yellow("event \(seqNum)")) (parent \(row.parentSeqNum))\(commit.map { "  commit \(String($0.id.prefix(8))) \($0.message)" } ?? "")")
        out.line("  \(style.bold(row.name)) \(row.argsJSON)")
        out.line("  client \(row.clientId), session \(row.sessionId)\(row.syncMetadataJSON == EventRecord.noSyncMetadata ? "" : ", synced")")
        out.line()
      }
      printed += 1
      return true
    }
  }

  /// A run of events shown as one entry: a commit, or consecutive uncommitted events of one
  /// client and session.
  private struct Group {
    var commit: Commit?
    var clientId: String
    var sessionId: String
    var newest: SeqNum
    var oldest: SeqNum
    var count: Int
    var matched: Bool
  }

  func printCommits(_ eventlog: Eventlog, after: SeqNum, through: SeqNum?, out: OutputStream, style: Style) throws {
    let commits = try eventlog.commitCursor(after: after, through: through, order: order)
    var group: Group? = nil
    var printed = 0
    func flush() {
      guard let current = group, current.matched else { return }
      if let maxCount, printed >= maxCount { return }
      render(current, out: out, style: style)
      printed += 1
    }
    try eventlog.forEach(after: after, through: through, order: order) { row in
      let seqNum = row.seqNum
      let commit = try commits.commit(for: seqNum, ascending: reverse)
      let matches = !filter.isActive || filter.matches(row)
      if var current = group, Self.sameGroup(current, commit: commit, row: row) {
        current.count += 1
        if reverse { current.newest = seqNum } else { current.oldest = seqNum }
        current.matched = current.matched || matches
        group = current
        return true
      }
      flush()
      if let maxCount, printed >= maxCount { group = nil; return false }
      group = Group(commit: commit, clientId: commit == nil ? row.clientId : "", sessionId: commit == nil ? row.sessionId : "",
                    newest: seqNum, oldest: seqNum, count: 1, matched: matches)
      return true
    }
    flush()
  }

  private static func sameGroup(_ group: Group, commit: Commit?, row: EventRow) -> Bool {
    if let commit { return group.commit?.id == commit.id }
    return group.commit == nil && group.clientId == row.clientId && group.sessionId == row.sessionId
  }

  private func render(_ group: Group, out: OutputStream, style: Style) {
    let range = group.oldest == group.newest ? group.oldest.description : "\(group.oldest)..\(group.newest)"
    let plural = group.count == 1 ? "event" : "events"
    if let commit = group.commit {
      if oneline {
        out.line("\(style.yellow(commit.id)) \(range) \(commit.message.firstLine)")
      } else {
        out.line(style.yellow("commit \(commit.id)") + " (\(range), \(group.count) \(plural))")
        out.line("Author: \(commit.author)")
        out.line("Date:   \(commit.time)")
        out.line()
        for line in commit.message.split(separator: "\n", omittingEmptySubsequences: false) { out.line("    \(line)") }
        out.line()
      }
    } else {
      if oneline {
        out.line("\(style.dim("-")) \(range) (\(group.count) \(plural) from \(group.clientId)/\(group.sessionId), no commit)")
      } else {
        out.line(style.yellow("events \(range)") + " (\(group.count) \(plural), no commit)")
        out.line("Client: \(group.clientId), session \(group.sessionId)")
        out.line()
      }
    }
  }
}

extension String {
  var firstLine: String { split(separator: "\n", maxSplits: 1).first.map(String.init) ?? "" }
}

/// The stable JSON form of an event, shared by log --json and show --json.
enum EventJSON {
  static func write(_ row: EventRow, commit: Commit?, into writer: inout JSONWriter) {
    let seqNum = row.seqNum
    writer.appendASCII(#"{"seqNum":"#)
    writer.writeString(seqNum.description)
    writer.appendASCII(#","parentSeqNum":"#)
    writer.writeString(row.parentSeqNum.description)
    writer.appendASCII(#","name":"#)
    writer.writeString(row.name)
    writer.appendASCII(#","args":"#)
    writer.writeRaw(row.argsUTF8)
    writer.appendASCII(#","clientId":"#)
    writer.writeString(row.clientId)
    writer.appendASCII(#","sessionId":"#)
    writer.writeString(row.sessionId)
    writer.appendASCII(#","schemaHash":"#)
    writer.writeInteger(row.schemaHash)
    writer.appendASCII(#","syncMetadata":"#)
    writer.writeRaw(row.syncMetadataUTF8)
    writer.appendASCII(#","clientOnly":"#)
    writer.appendASCII(seqNum.isClientOnly ? "true" : "false")
    writer.appendASCII(#","commit":"#)
    if let commit {
      writer.appendASCII(#"{"id":"#)
      writer.writeString(commit.id)
      writer.appendASCII(#","message":"#)
      writer.writeString(commit.message)
      writer.appendASCII("}")
    } else {
      writer.appendASCII("null")
    }
    writer.appendASCII("}")
  }
}
