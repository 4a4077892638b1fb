import Foundation

public struct ImportReport: Sendable {
  public var events: Int
  public var commits: Int
  public var head: SeqNum
  public var seconds: Double
  /// The export's store id, when it is another store's whose backend had confirmed some of
  /// the events: those are pending here (another store, another backend).
  public var confirmedElsewhere: (storeId: String, events: Int64)? = nil
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
      if let expected = header.firstParentEvent, head != .root {
        guard let local = try eventlog.event(at: head), ExportFormat.identity(of: local) == expected else {
          throw ImportError(line: 1, reason: "the export continues from \(header.firstParent) \(expected["name"]?.stringValue ?? ""), but this store's \(head) is a different event: the two histories diverged",
                            isHeadMismatch: true)
        }
      }
      let stateHead = try replica.stateHead()
      guard stateHead == head else { throw StoreError.stateBehind(state: stateHead, eventlog: head) }
      var backendHead = try eventlog.backendHead()
      // Confirmed events stay confirmed only when they come from the same store (the same backend).
      if header.storeId == storeId, header.backendHead > backendHead {
        backendHead = min(header.backendHead, header.head.global)
        try eventlog.setBackendHead(backendHead)
      }

      // Reading, decompressing, checksumming, parsing and validating the lines runs on a
      // second thread (ReadStage); this thread only writes: commits, state and eventlog
      // rows. Items arrive in file order and a failure comes after the items before it,
      // so the first problem in the file is the one reported, exactly as when reading inline.
      let stage = ReadStage(reader: reader, schema: schema, header: header, crc: crc, head: head)
      let reading = BackgroundProducer<Item> { try stage.readAll(into: $0) }
      reading.start()
      defer { reading.cancel() }
      let commitRows = eventlog.batchedCommits()
      // Definitions by position (`CheckedEvent.ordinal`), looked up on this thread.
      let definitions = schema.events
      try replica.replayer.bulk {
        reading: while let batch = try reading.next() {
          for item in batch {
            switch item {
            case .commits(let run):
              for offset in run.offsets { try commitRows.add(PackedCommit(run: run, offset: offset)) }
              commits += run.count
            case .event(let event):
              try replica.apply(event.record, definition: definitions[event.ordinal], args: event.args,
                                pending: event.record.seqNum.isPending(backendHead: backendHead))
              head = event.record.seqNum
              events += 1
              if let progress, events % 5_000 == 0 { progress(Progress(done: events, total: header.events, label: "importing")) }
            case .finished(let trailer):
              sawTrailer = trailer
              break reading
            }
          }
        }
        try commitRows.flush()
      }
      guard sawTrailer else {
        throw ExportFormatError(line: nil, reason: "the file is truncated (no end line after \(events) of \(header.events) events); nothing was imported")
      }
      try StateDatabase.writeHead(replica.connection, head: head)
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
    var report = ImportReport(events: events, commits: commits, head: head, seconds: seconds)
    let confirmedInExport = min(header.backendHead, header.head.global) - header.firstParent.global
    if header.storeId != storeId, confirmedInExport > 0 { report.confirmedElsewhere = (header.storeId, confirmedInExport) }
    return report
  }

  /// One checked line's worth of work for the writing thread.
  enum Item {
    case event(CheckedEvent)
    /// Commits of events sent before, packed in a run sorted for `lstore_commit`'s id index
    /// (`CommitRun`): written in arrival order, their random ids cost the writer a sixth of
    /// its time. Packing and sorting them is this thread's work, not the writer's.
    case commits(CommitRun)
    /// The end of the input; true when the end line was there and matched.
    case finished(Bool)
  }

  /// An event with its definition's position in the schema's events and its normalized
  /// args. A class, as `PreparedEvent` is: the writing thread reads it through one
  /// reference. The position, not the definition: a definition handed over retained its
  /// name, args type and statements on both threads for every event.
  final class CheckedEvent {
    let record: EventRecord
    let ordinal: Int
    let args: JSONValue

    init(record: EventRecord, ordinal: Int, args: JSONValue) {
      self.record = record
      self.ordinal = ordinal
      self.args = args
    }
  }

  /// The reading half of an import, run by a `BackgroundProducer`: every check that needs
  /// only the file and the schema (checksum, format, parent chain, names, args), in the
  /// order the lines come.
  final class ReadStage: @unchecked Sendable {
    private let reader: LineReader
    private let schema: Schema
    private let header: ExportHeader
    private var crc: CRC32
    private var head: SeqNum

    init(reader: LineReader, schema: Schema, header: ExportHeader, crc: CRC32, head: SeqNum) {
      self.reader = reader
      self.schema = schema
      self.header = header
      self.crc = crc
      self.head = head
    }

    /// Reads every line after the header into `sink`, then `.finished`.
    func readAll(into sink: BackgroundProducer<Item>.Sink) throws {
      let sawTrailer = try readAll { try sink.emit($0, bytes: $1) }
      try sink.emit(.finished(sawTrailer))
    }

    /// Reads every line after the header; returns whether the end line was seen.
    private func readAll(_ emit: (Item, Int) throws -> Void) throws -> Bool {
      var sawTrailer = false
      var events = 0
      var commits = 0
      var pendingCommit: (Commit, Int)? = nil
      // The commit whose first event has come but not yet its last: (its last event, id,
      // first event, line). Commits come in order and never overlap, so at most one is open,
      // and checking each commit's events while they stream by holds nothing else.
      var openCommit: (last: SeqNum, id: String, first: SeqNum, line: Int)? = nil
      // The last event of the commit before, for the overlap check.
      var previousCommitLast: SeqNum? = nil
      var commitRuns = CommitRunBuilder()
      var lastDefinition: EventDefinition? = nil
      var scratch = JSONWriter(reservingCapacity: 512)

      /// The checks `Importer` makes on an event before writing it, in the same order.
      func checkEvent(_ record: EventRecord, rawArgs: JSONValue, lineNumber: Int) throws {
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
          args = try definition.args.normalize(rawArgs)
        } catch let error as ArgsError {
          throw ImportError(line: lineNumber, reason: "event \(record.seqNum) \(record.name): \(error)", isHeadMismatch: false)
        }
        if let open = openCommit, record.seqNum >= open.last {
          // Events come in order: the commit's last event is this one, or there is none.
          guard record.seqNum == open.last else {
            throw ExportFormatError(line: open.line, reason: "commit \(open.id) (\(open.first)..\(open.last)) names an event the export does not hold: \(open.last) is not there (the events go from \(head) to \(record.seqNum))")
          }
          openCommit = nil
        }
        var run: CommitRun? = nil
        if let (pending, commitLine) = pendingCommit {
          guard pending.first == record.seqNum else {
            throw ExportFormatError(line: commitLine, reason: "commit \(pending.id) starts at \(pending.first) but is followed by \(record.seqNum)")
          }
          pendingCommit = nil
          if pending.last != record.seqNum { openCommit = (pending.last, pending.id, pending.first, commitLine) }
          run = commitRuns.add(pending)
          commits += 1
        }
        head = record.seqNum
        events += 1
        try emit(.event(CheckedEvent(record: record, ordinal: definition.ordinal, args: args)), record.argsJSON.utf8.count)
        if let run { try emit(.commits(run), run.bytes.count) }
      }

      /// What a commit line can be checked for before its events come: its range, inside the
      /// export's and after the previous commit's.
      func checkCommitRange(_ commit: Commit, lineNumber: Int) throws {
        let range = "commit \(commit.id) (\(commit.first)..\(commit.last))"
        guard commit.first > header.firstParent, commit.last <= header.head else {
          throw ExportFormatError(line: lineNumber, reason: "\(range) is outside the exported events (after \(header.firstParent), through \(header.head))")
        }
        if let previous = previousCommitLast, commit.first <= previous {
          throw ExportFormatError(line: lineNumber, reason: "\(range) overlaps the commit before it, which ends at \(previous)")
        }
        // A commit still open here lacks its last event; the next event, checked for its
        // parent first, reports it.
        previousCommitLast = commit.last
      }

      while true {
        let more = try reader.next { line, terminated in
          let lineNumber = reader.lineNumber
          if sawTrailer {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { return }
            throw ExportFormatError(line: lineNumber, reason: "text after the end line")
          }
          // Event lines as the exporter writes them take a fast path; it gives the same
          // record as the general path below, which reads (and reports errors in) any other line.
          if let (record, rawArgs) = parseExportedEvent(line, scratch: &scratch) {
            crc.update(UnsafeRawBufferPointer(line))
            var newline: UInt8 = 0x0A
            if terminated { withUnsafeBytes(of: &newline) { crc.update($0) } }
            try checkEvent(record, rawArgs: rawArgs, lineNumber: lineNumber)
            return
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
            if let open = openCommit {
              throw ExportFormatError(line: open.line, reason: "commit \(open.id) (\(open.first)..\(open.last)) ends after the last event in the export, \(head)")
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
            let commit = try parseCommit(commitValue, lineNumber: lineNumber)
            try checkCommitRange(commit, lineNumber: lineNumber)
            pendingCommit = (commit, lineNumber)
            return
          }
          let record = try parseEvent(object, lineNumber: lineNumber)
          try checkEvent(record, rawArgs: object["args"] ?? .object(JSONObject()), lineNumber: lineNumber)
        }
        if !more {
          if let rest = commitRuns.takeRun() { try emit(.commits(rest), rest.bytes.count) }
          return sawTrailer
        }
      }
    }
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
                        backendHead: try int("backendHead"), exportedAt: value["exportedAt"]?.stringValue ?? "",
                        firstParentEvent: value["firstParentEvent"])
  }

  static func parseEvent(_ object: JSONObject, lineNumber: Int) throws -> EventRecord {
    func string(_ key: String) throws -> String {
      guard let text = object[key]?.stringValue else {
        if case .loneSurrogateString? = object[key] {
          throw ExportFormatError(line: lineNumber, reason: "the event's '\(key)' holds a lone surrogate (only args may)")
        }
        throw ExportFormatError(line: lineNumber, reason: "the event has no '\(key)' string")
      }
      return text
    }
    func seq(_ key: String) throws -> SeqNum {
      guard let seq = parseSeqNum(try string(key)) else {
        throw ExportFormatError(line: lineNumber, reason: "'\(key)' is not a sequence number like e3 or e3+1")
      }
      return seq
    }
    for entry in object.entries {
      switch entry.key {
      case "seqNum", "parentSeqNum", "name", "args", "clientId", "sessionId", "schemaHash", "syncMetadata": continue
      default: throw ExportFormatError(line: lineNumber, reason: "unknown key '\(entry.key)' in an event line")
      }
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
                       syncMetadataJSON: isNone(metadata) ? EventRecord.noSyncMetadata : JSONValue.object(metadata).compactText)
  }

  /// `{"_tag":"None"}`, by far the most common sync metadata, without writing it out.
  private static func isNone(_ metadata: JSONObject) -> Bool {
    metadata.count == 1 && metadata.entries[0].key == "_tag" && metadata.entries[0].value == "None"
  }

  /// `SeqNum(text)`, with the usual form (`e12`, `e12+3`) read straight from the bytes.
  static func parseSeqNum(_ text: String) -> SeqNum? {
    var text = text
    let fast: SeqNum?? = text.withUTF8 { b -> SeqNum?? in
      guard b.count >= 2, b.count <= 40, b[0] == UInt8(ascii: "e") else { return .none }
      var global: Int64 = 0
      var client: Int64 = 0
      var digits = 0
      var i = 1
      while i < b.count, b[i] >= 0x30, b[i] <= 0x39, digits < 18 {
        global = global * 10 + Int64(b[i] - 0x30)
        digits += 1
        i += 1
      }
      guard digits > 0 else { return .none }
      if i == b.count { return .some(SeqNum(global: global, client: 0)) }
      guard b[i] == UInt8(ascii: "+") else { return .none }
      i += 1
      digits = 0
      while i < b.count, b[i] >= 0x30, b[i] <= 0x39, digits < 18 {
        client = client * 10 + Int64(b[i] - 0x30)
        digits += 1
        i += 1
      }
      guard digits > 0, i == b.count else { return .none }
      return .some(SeqNum(global: global, client: client))
    }
    if let fast { return fast }
    return SeqNum(text)
  }

  /// Reads an event line in exactly the form `Exporter` writes (keys in its order, no
  /// whitespace, ASCII names and ids, `{"_tag":"None"}` sync metadata) straight from the
  /// bytes, building only the record and the args. Returns nil for any other line: the
  /// general path reads those, so this one never has to report an error.
  static func parseExportedEvent(_ line: UnsafeBufferPointer<UInt8>, scratch: inout JSONWriter)
    -> (EventRecord, JSONValue)?
  {
    var i = 0
    let count = line.count
    func literal(_ text: StaticString) -> Bool {
      let n = text.utf8CodeUnitCount
      guard i + n <= count, memcmp(line.baseAddress! + i, text.utf8Start, n) == 0 else { return false }
      i += n
      return true
    }
    func digits(_ value: inout Int64) -> Bool {
      var n = 0
      value = 0
      while i < count, line[i] >= 0x30, line[i] <= 0x39, n < 18 {
        value = value * 10 + Int64(line[i] - 0x30)
        n += 1
        i += 1
      }
      return n > 0
    }
    /// `e12` or `e12+3`, up to the closing quote (consumed).
    func seqNum() -> SeqNum? {
      guard i < count, line[i] == UInt8(ascii: "e") else { return nil }
      i += 1
      var global: Int64 = 0
      var client: Int64 = 0
      guard digits(&global) else { return nil }
      if i < count, line[i] == UInt8(ascii: "+") {
        i += 1
        guard digits(&client) else { return nil }
      }
      guard i < count, line[i] == UInt8(ascii: "\"") else { return nil }
      i += 1
      return SeqNum(global: global, client: client)
    }
    /// An ASCII string without escapes, up to the closing quote (consumed).
    func plainString() -> String? {
      let start = i
      while i < count {
        let byte = line[i]
        if byte == UInt8(ascii: "\"") {
          let text = String(decoding: UnsafeBufferPointer(rebasing: line[start..<i]), as: UTF8.self)
          i += 1
          return text
        }
        guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
        i += 1
      }
      return nil
    }
    guard literal(#"{"seqNum":""#), let seq = seqNum(),
          literal(#","parentSeqNum":""#), let parent = seqNum(),
          literal(#","name":""#), let name = plainString(),
          literal(#","args":"#) else { return nil }
    guard let (args, end) = try? JSONParser.parseValue(line, at: i, depth: 1), !args.isNull else { return nil }
    i = end
    guard literal(#","clientId":""#), let clientId = plainString(),
          literal(#","sessionId":""#), let sessionId = plainString(),
          literal(#","schemaHash":"#) else { return nil }
    // An integer as JSONParser reads it into `.integer`: no leading zeros, no "-0".
    var negative = false
    if i < count, line[i] == UInt8(ascii: "-") {
      negative = true
      i += 1
    }
    let hashStart = i
    var hash: Int64 = 0
    guard digits(&hash), !(line[hashStart] == 0x30 && (i - hashStart > 1 || negative)),
          hash <= JSONValue.maxSafeInteger else { return nil }
    if negative { hash = -hash }
    guard literal(#","syncMetadata":{"_tag":"None"}}"#), i == count else { return nil }
    scratch.removeAll()
    scratch.write(args)
    let record = EventRecord(seqNum: seq, parentSeqNum: parent, name: name,
                             argsJSON: String(decoding: scratch.bytes, as: UTF8.self), clientId: clientId,
                             sessionId: sessionId, schemaHash: hash, syncMetadataJSON: EventRecord.noSyncMetadata)
    return (record, args)
  }

  static let eventKeys: Set<String> = ["seqNum", "parentSeqNum", "name", "args", "clientId", "sessionId", "schemaHash", "syncMetadata"]

  static func parseCommit(_ value: JSONValue, lineNumber: Int) throws -> Commit {
    func string(_ v: JSONValue?, _ key: String) throws -> String {
      guard let text = v?.stringValue else { throw ExportFormatError(line: lineNumber, reason: "the commit has no '\(key)'") }
      return text
    }
    guard let first = parseSeqNum(try string(value["first"], "first")), let last = parseSeqNum(try string(value["last"], "last")), first <= last else {
      throw ExportFormatError(line: lineNumber, reason: "the commit's first/last are not an ascending range")
    }
    let id = try string(value["id"], "id")
    guard !id.isEmpty, id.utf8.count <= 64 || id.count <= 64 else { throw ExportFormatError(line: lineNumber, reason: "invalid commit id") }
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
    // The end line is not covered by its own checksum: every key in it is checked instead.
    guard case .integer(let commitCount)? = end["commits"], commitCount == commits else {
      throw ExportFormatError(line: lineNumber, reason: "the end line's commit count does not match the \(commits) commits in the file")
    }
    if let keys = end.objectValue?.keys, let unknown = keys.first(where: { !["events", "commits", "crc32"].contains($0) }) {
      throw ExportFormatError(line: lineNumber, reason: "unknown key '\(unknown)' in the end line")
    }
  }
}
