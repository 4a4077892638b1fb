import Foundation

public struct ImportReport: Sendable {
  public var events: Int
  public var commits: Int
  public var head: SeqNum
  public var seconds: Double
  public var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : Double(events) }
}

/// Reads the export format into a store, in one transaction: the parent chain, every
/// event's args and the trailer's checksum are verified, and any problem (a truncated or
/// altered file, a wrong schema, a failing materializer) leaves the store as it was.
public enum Importer {
  public static func run(_ reader: LineReader, into replica: Replica, storeId: String,
                         progress: ProgressHandler? = nil) throws -> ImportReport {
    let started = DispatchTime.now()
    var header: ExportHeader?
    var crc = CRC32()
    try readLine(reader, crc: &crc) { line in header = try parseHeader(line, lineNumber: reader.lineNumber) }
    guard let header else { throw ExportFormatError(line: nil, reason: "the file is empty") }

    let eventlog = replica.eventlog
    let schema = replica.schema
    var events = 0
    var commits = 0
    var sawTrailer = false
    var head = SeqNum.root

    try replica.connection.transaction(.immediate) {
      head = try eventlog.head()
      guard head == header.firstParent else {
        throw ImportError(line: 1, reason: head == .root
          ? "the export continues from \(header.firstParent), but this store is empty; export from the start (without --from)"
          : "the export continues from \(header.firstParent), but this store's head is \(head)",
          isHeadMismatch: true)
      }
      let stateHead = try replica.stateHead()
      guard stateHead == head else { throw StoreError.stateBehind(state: stateHead, eventlog: head) }
      var backendHead = try eventlog.backendHead()
      // Confirmed events stay confirmed only when they come from the same store (the same backend).
      if header.storeId == storeId, header.backendHead > backendHead {
        backendHead = min(header.backendHead, header.head.global)
        try eventlog.setBackendHead(backendHead)
      }
      var pendingCommit: (Commit, Int)? = nil
      var lastDefinition: EventDefinition? = nil

      while true {
        var done = false
        let more = try reader.next { line, terminated in
          let lineNumber = reader.lineNumber
          if sawTrailer {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { return }
            throw ExportFormatError(line: lineNumber, reason: "text after the end line")
          }
          let value: JSONValue
          do {
            value = try JSONParser.parse(line)
          } catch {
            throw ExportFormatError(line: lineNumber, reason: "\(error)")
          }
          guard case .object(let object) = value else {
            throw ExportFormatError(line: lineNumber, reason: "expected a JSON object")
          }
          if let end = object["end"] {
            try checkTrailer(end, crc: crc, events: events, commits: commits, header: header, lineNumber: lineNumber)
            guard pendingCommit == nil else {
              throw ExportFormatError(line: lineNumber, reason: "a commit line has no events after it")
            }
            guard terminated else { throw ExportFormatError(line: lineNumber, reason: "the end line is truncated") }
            sawTrailer = true
            return
          }
          // Everything before the trailer is covered by its checksum.
          crc.update(UnsafeRawBufferPointer(line))
          var newline: UInt8 = 0x0A
          if terminated { withUnsafeBytes(of: &newline) { crc.update($0) } }

          if let commitValue = object["commit"] {
            guard pendingCommit == nil else {
              throw ExportFormatError(line: lineNumber, reason: "two commit lines in a row")
            }
            pendingCommit = (try parseCommit(commitValue, lineNumber: lineNumber), lineNumber)
            return
          }
          let record = try parseEvent(object, lineNumber: lineNumber)
          let clientOnly = record.seqNum.client > 0
          let expected = head.next(clientOnly: clientOnly)
          guard record.seqNum == expected, record.parentSeqNum == head.parentForNext(clientOnly: clientOnly) else {
            throw ExportFormatError(line: lineNumber, reason: "broken parent chain: event \(record.seqNum) with parent \(record.parentSeqNum) cannot follow \(head) (expected \(expected) with parent \(head.parentForNext(clientOnly: clientOnly)))")
          }
          let definition: EventDefinition
          if let cached = lastDefinition, cached.name == record.name {
            definition = cached
          } else {
            guard let found = schema.event(named: record.name) else {
              throw ImportError(line: lineNumber, reason: "event \(record.seqNum) is '\(record.name)', which \(schema.source) does not define",
                                isHeadMismatch: false)
            }
            definition = found
            lastDefinition = found
          }
          guard definition.clientOnly == clientOnly else {
            throw ImportError(line: lineNumber, reason: "event \(record.seqNum) \(record.name) is numbered as \(clientOnly ? "client-only" : "synced") but the schema defines it as \(definition.clientOnly ? "client-only" : "synced")",
                              isHeadMismatch: false)
          }
          let args: JSONValue
          do {
            args = try definition.args.normalize(object["args"] ?? .object(JSONObject()))
          } catch let error as ArgsError {
            throw ImportError(line: lineNumber, reason: "event \(record.seqNum) \(record.name): \(error)", isHeadMismatch: false)
          }
          if let (commit, commitLine) = pendingCommit {
            guard commit.first == record.seqNum else {
              throw ExportFormatError(line: commitLine, reason: "commit \(commit.id) starts at \(commit.first) but is followed by \(record.seqNum)")
            }
            pendingCommit = nil
            try eventlog.insert(commit)
            commits += 1
          }
          let pending = record.seqNum > SeqNum(global: backendHead, client: 0)
          try replica.apply(record, definition: definition, args: args, pending: pending)
          head = record.seqNum
          events += 1
          if let progress, events % 50_000 == 0 { progress(Progress(done: events, total: header.events, label: "importing")) }
        }
        if !more { done = true }
        if done { break }
      }
      guard sawTrailer else {
        throw ExportFormatError(line: nil, reason: "the file is truncated (no end line after \(events) of \(header.events) events); nothing was imported")
      }
      try StateDatabase.writeHead(replica.connection, head: head)
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
    return ImportReport(events: events, commits: commits, head: head, seconds: seconds)
  }

  private static func readLine(_ reader: LineReader, crc: inout CRC32, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
    var captured: [UInt8]? = nil
    var wasTerminated = false
    _ = try reader.next { line, terminated in
      captured = Array(line)
      wasTerminated = terminated
    }
    guard let line = captured else { return }
    guard wasTerminated else { throw ExportFormatError(line: 1, reason: "the file is truncated (only a partial header line)") }
    try line.withUnsafeBufferPointer { pointer in
      try body(pointer)
      if let header = try? JSONParser.parse(pointer) { ExportFormat.checksum(header: header, into: &crc) }
    }
  }

  static func parseHeader(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws -> ExportHeader {
    let value: JSONValue
    do {
      value = try JSONParser.parse(line)
    } catch {
      throw ExportFormatError(line: lineNumber, reason: "not an lstore export (\(error))")
    }
    guard value["lstore"]?.stringValue == "export" else {
      throw ExportFormatError(line: lineNumber, reason: "not an lstore export (the first line is not an export header)")
    }
    guard case .integer(let version)? = value["version"] else { throw ExportFormatError(line: lineNumber, reason: "the header has no version") }
    guard version <= ExportFormat.version else {
      throw ExportFormatError(line: lineNumber, reason: "export format version \(version) is newer than this lstore reads (\(ExportFormat.version)); upgrade lstore")
    }
    func seq(_ key: String) throws -> SeqNum {
      guard let text = value[key]?.stringValue, let seq = SeqNum(text) else {
        throw ExportFormatError(line: lineNumber, reason: "the header's '\(key)' is missing or not a sequence number")
      }
      return seq
    }
    func int(_ key: String) throws -> Int64 {
      guard case .integer(let v)? = value[key], v >= 0 else {
        throw ExportFormatError(line: lineNumber, reason: "the header's '\(key)' is missing or not a count")
      }
      return v
    }
    guard let storeId = value["storeId"]?.stringValue else {
      throw ExportFormatError(line: lineNumber, reason: "the header has no storeId")
    }
    return ExportHeader(storeId: storeId, firstParent: try seq("firstParent"), head: try seq("head"),
                        events: Int(try int("events")), commits: Int(try int("commits")),
                        backendHead: try int("backendHead"), exportedAt: value["exportedAt"]?.stringValue ?? "")
  }

  static func parseEvent(_ object: JSONObject, lineNumber: Int) throws -> EventRecord {
    func string(_ key: String) throws -> String {
      guard let text = object[key]?.stringValue else {
        throw ExportFormatError(line: lineNumber, reason: "the event has no '\(key)' string")
      }
      return text
    }
    func seq(_ key: String) throws -> SeqNum {
      guard let seq = SeqNum(try string(key)) else {
        throw ExportFormatError(line: lineNumber, reason: "'\(key)' is not a sequence number like e3 or e3+1")
      }
      return seq
    }
    for key in object.keys where !eventKeys.contains(key) {
      throw ExportFormatError(line: lineNumber, reason: "unknown key '\(key)' in an event line")
    }
    guard case .integer(let schemaHash)? = object["schemaHash"] else {
      throw ExportFormatError(line: lineNumber, reason: "the event has no integer 'schemaHash'")
    }
    guard case .object(let metadata)? = object["syncMetadata"],
          metadata["_tag"] == "None" || metadata["_tag"] == "Some" else {
      throw ExportFormatError(line: lineNumber, reason: "'syncMetadata' must be {\"_tag\":\"None\"} or {\"_tag\":\"Some\",\"value\":…}")
    }
    let args = object["args"] ?? .object(JSONObject())
    return EventRecord(seqNum: try seq("seqNum"), parentSeqNum: try seq("parentSeqNum"), name: try string("name"),
                       argsJSON: args.isNull ? "{}" : args.compactText, clientId: try string("clientId"),
                       sessionId: try string("sessionId"), schemaHash: schemaHash,
                       syncMetadataJSON: JSONValue.object(metadata).compactText)
  }

  static let eventKeys: Set<String> = ["seqNum", "parentSeqNum", "name", "args", "clientId", "sessionId", "schemaHash", "syncMetadata"]

  static func parseCommit(_ value: JSONValue, lineNumber: Int) throws -> Commit {
    func string(_ v: JSONValue?, _ key: String) throws -> String {
      guard let text = v?.stringValue else { throw ExportFormatError(line: lineNumber, reason: "the commit has no '\(key)'") }
      return text
    }
    guard let first = SeqNum(try string(value["first"], "first")), let last = SeqNum(try string(value["last"], "last")), first <= last else {
      throw ExportFormatError(line: lineNumber, reason: "the commit's first/last are not an ascending range")
    }
    let id = try string(value["id"], "id")
    guard !id.isEmpty, id.count <= 64 else { throw ExportFormatError(line: lineNumber, reason: "invalid commit id") }
    return Commit(id: id, first: first, last: last, message: try string(value["message"], "message"),
                  author: Author(name: try string(value["author"]?["name"], "author.name"),
                                 email: value["author"]?["email"]?.stringValue ?? ""),
                  time: try string(value["time"], "time"))
  }

  static func checkTrailer(_ end: JSONValue, crc: CRC32, events: Int, commits: Int, header: ExportHeader, lineNumber: Int) throws {
    guard let expected = end["crc32"]?.stringValue else {
      throw ExportFormatError(line: lineNumber, reason: "the end line has no crc32")
    }
    guard expected == crc.hex else {
      throw ExportFormatError(line: lineNumber, reason: "checksum mismatch (the file says \(expected), its content gives \(crc.hex)): the file was altered or damaged")
    }
    guard case .integer(let count)? = end["events"], count == events, events == header.events else {
      throw ExportFormatError(line: lineNumber, reason: "the file holds \(events) events but its header says \(header.events)")
    }
    guard commits == header.commits else {
      throw ExportFormatError(line: lineNumber, reason: "the file holds \(commits) commits but its header says \(header.commits)")
    }
  }
}
