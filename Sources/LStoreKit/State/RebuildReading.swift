import Foundation
import LStoreSQLite

/// What the reading half of a rebuild hands the writing half.
enum RebuildInput {
  /// First, before any event: what the rest of the rebuild needs to know about the eventlog,
  /// read in the same snapshot as the events.
  case opened(format: StorageFormat, backendHead: Int64, total: Int)
  case event(PreparedEvent)
}

/// One eventlog row made ready for its materializer: its definition found and its args
/// parsed and normalized, or why that failed (`ReplayError`), for the writer to report or
/// to skip as its rebuild decides.
///
/// A class: the writing thread reads the fields through one reference. As a value, every
/// copy out of a batch retained each string, the definition and the args (objects the
/// reading thread made): a fifth of a confirmed rebuild's writing thread.
final class PreparedEvent {
  let seqNum: SeqNum
  let name: String
  let argsJSON: String
  let clientId: String
  let sessionId: String
  /// The definition and the normalized args; nil, with `failure` set, when either could not be made.
  let definition: SharedDefinition?
  let args: JSONValue
  let failure: (any Error)?

  init(seqNum: SeqNum, name: String, argsJSON: String, clientId: String, sessionId: String,
       definition: SharedDefinition?, args: JSONValue, failure: (any Error)?) {
    self.seqNum = seqNum
    self.name = name
    self.argsJSON = argsJSON
    self.clientId = clientId
    self.sessionId = sessionId
    self.definition = definition
    self.args = args
    self.failure = failure
  }
}

/// One definition that many prepared events point to: copying the struct into each event
/// retained its name, args type and statements every time (the reading half's largest cost
/// after the JSON itself).
final class SharedDefinition {
  let definition: EventDefinition
  init(_ definition: EventDefinition) { self.definition = definition }
}

/// The reading half of a rebuild: its own read-only connection to the eventlog, one read
/// transaction (one snapshot, and the file's shared lock held as long as an attached read
/// held it), every row in order through `until`, with each row's definition lookup and args
/// parse and normalization, the part of a replay that needs no state. Run by a
/// `BackgroundProducer`, so the rebuild's writes to the state run beside it.
enum RebuildReading {
  static func producer(eventlogPath: String, schema: Schema, until: SeqNum?) -> BackgroundProducer<RebuildInput> {
    BackgroundProducer { sink in
      let connection = try Connection(path: "file:\(eventlogPath.addingPercentEncodingForURI)?mode=ro", mode: .readOnly)
      let eventlog = Eventlog(connection: connection)
      try connection.transaction(.deferred) {
        try eventlog.validate()
        try sink.emit(.opened(format: eventlog.format, backendHead: try eventlog.backendHead(), total: try eventlog.count()))
        try sink.flush()
        var names = RecentNames(schema: schema)
        var clientIds = RunCache<String>()
        var sessionIds = RunCache<String>()
        try eventlog.forEach(through: until) { row in
          let seqNum = row.seqNum
          // A few names, clients and sessions over and over are the rule: compare bytes
          // before building a String or looking the definition up again.
          let (name, definition) = names.lookup(row.nameUTF8)
          let argsJSON = row.argsJSON
          var args = JSONValue.null
          var failure: (any Error)? = nil
          if let definition {
            do {
              args = try EventReplayer.normalizedArgs(parsing: { try JSONParser.parse(row.argsUTF8) }, seqNum: seqNum,
                                                      name: name, argsJSON: argsJSON, definition: definition.definition)
            } catch {
              failure = error
            }
          } else {
            failure = ReplayError.unknownEvent(seqNum: seqNum, name: name, schema: schema.source)
          }
          let event = PreparedEvent(seqNum: seqNum, name: name, argsJSON: argsJSON,
                                    clientId: clientIds.value(for: row.clientIdUTF8) { row.clientId },
                                    sessionId: sessionIds.value(for: row.sessionIdUTF8) { row.sessionId },
                                    definition: failure == nil ? definition : nil, args: args, failure: failure)
          try sink.emit(.event(event), bytes: argsJSON.utf8.count)
          return true
        }
      }
    }
  }
}

/// The event names read last, with their definitions: a replay reads a few names over and
/// over, often alternating (a todo created, then completed), and comparing the bytes is
/// cheaper than building a String and hashing it for the schema's lookup.
private struct RecentNames {
  let schema: Schema
  private var entries: [(bytes: [UInt8], name: String, definition: SharedDefinition?)] = []

  init(schema: Schema) { self.schema = schema }

  mutating func lookup(_ utf8: UnsafeBufferPointer<UInt8>) -> (name: String, definition: SharedDefinition?) {
    // By index: iterating the entries would copy (and retain) each one it compares.
    for index in entries.indices where sameBytes(entries[index].bytes, utf8) {
      return (entries[index].name, entries[index].definition)
    }
    let name = String(decoding: utf8, as: UTF8.self)
    let definition = schema.event(named: name).map(SharedDefinition.init)
    if entries.count == 8 { entries.removeFirst() }
    entries.append((Array(utf8), name, definition))
    return (name, definition)
  }
}

private func sameBytes(_ bytes: [UInt8], _ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
  bytes.count == utf8.count
    && (utf8.isEmpty || bytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, utf8.baseAddress!, utf8.count) == 0 })
}

/// The last value made from a column's bytes, made again only when the bytes change.
private struct RunCache<Value> {
  private var bytes: [UInt8] = []
  private var last: Value?

  /// The value for `utf8`: the last one when the bytes are the same.
  mutating func value(for utf8: UnsafeBufferPointer<UInt8>, make: () -> Value) -> Value {
    if let last, sameBytes(bytes, utf8) { return last }
    let made = make()
    bytes = Array(utf8)
    last = made
    return made
  }
}
