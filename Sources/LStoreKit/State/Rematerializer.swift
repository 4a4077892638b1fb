import Foundation
import LStoreSQLite

/// What a rebuild of state did.
public struct MaterializeReport: Sendable {
  public var events: Int
  public var through: SeqNum
  public var seconds: Double
  public var statePath: String
  public var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : Double(events) }
}

/// Progress of a long operation, for a progress line on a terminal.
public struct Progress: Sendable {
  public var done: Int
  public var total: Int?
  public var label: String

  public init(done: Int, total: Int?, label: String) {
    self.done = done
    self.total = total
    self.label = label
  }
}

public typealias ProgressHandler = (Progress) -> Void

/// Hands the changesets of the events after `after` to `body` during a rebuild (revert reads
/// a pushed commit's row changes this way: confirmed events keep no changeset).
public struct ChangesetObserver {
  public var after: SeqNum
  public var body: (SeqNum, [UInt8]) throws -> Void
  public init(after: SeqNum, body: @escaping (SeqNum, [UInt8]) throws -> Void) {
    self.after = after
    self.body = body
  }
}

/// Rebuilds a state database from an eventlog, from scratch.
///
/// The new state is written to a temporary file beside the target and renamed over it
/// when complete, so a crash at any point leaves either the old state or the new one.
public enum Rematerializer {
  public static func rebuild(
    eventlogPath: String, statePath: String, schema: Schema, until: SeqNum? = nil,
    updatedAt: String, progress: ProgressHandler? = nil,
    observing observer: ChangesetObserver? = nil
  ) throws -> MaterializeReport {
    let started = DispatchTime.now()
    // A name of its own per process: two rebuilds at once must not share a scratch file.
    let temporaryPath = statePath + ".building-\(getpid())-\(Identifiers.nanoid(length: 6))"
    removeAbandonedScratchFiles(for: statePath)
    try? FileManager.default.removeItem(atPath: temporaryPath)
    try? FileManager.default.removeItem(atPath: temporaryPath + "-journal")
    var count = 0
    var through = SeqNum.root
    do {
      let connection = try Connection(path: temporaryPath, mode: .create)
      try connection.execute("PRAGMA page_size=8192")
      // The file is invisible until renamed, so a crash loses nothing: skip the journal.
      try connection.execute("PRAGMA journal_mode=OFF")
      try connection.execute("PRAGMA synchronous=OFF")
      try connection.execute("PRAGMA cache_size=-32768")
      try connection.execute("PRAGMA foreign_keys=ON")
      try connection.execute("ATTACH DATABASE ? AS log", [.text("file:\(eventlogPath.addingPercentEncodingForURI)?mode=ro")])
      let eventlog = Eventlog(connection: connection, schemaName: "log")
      try eventlog.validate()
      let engine = try MaterializerEngine(connection: connection, schema: schema)
      let backendHead = try eventlog.backendHead()
      let total = try eventlog.count()
      try connection.transaction {
        try StateDatabase.createTables(on: connection, schema: schema, updatedAt: updatedAt)
        try engine.compileAll()
        var lastName = ""
        var lastNameUTF8: [UInt8] = []
        var lastDefinition: EventDefinition? = nil
        try eventlog.forEach(through: until) { row in
          let seqNum = row.seqNum
          // Runs of one event name are common: compare bytes before building a String.
          if lastDefinition == nil || !row.nameUTF8.elementsEqual(lastNameUTF8) {
            let name = row.name
            guard let definition = schema.event(named: name) else {
              throw ReplayError.unknownEvent(seqNum: seqNum, name: name, schema: schema.source)
            }
            lastDefinition = definition
            lastName = name
            lastNameUTF8 = Array(row.nameUTF8)
          }
          let name = lastName
          let definition = lastDefinition!
          let args = try EventReplayer.normalizedArgs(parsing: { try JSONParser.parse(row.argsUTF8) }, seqNum: seqNum,
                                                      name: name, argsJSON: row.argsJSON, definition: definition)
          // Only events the backend has not confirmed can be rolled back by a rebase, so
          // only they need a changeset (LiveStore trims the others after every pull).
          let pending = seqNum.isPending(backendHead: backendHead)
          let observed = observer.map { seqNum > $0.after } ?? false
          let context = EventContext(seqNum: seqNum, name: name, clientId: row.clientId, sessionId: row.sessionId)
          let changeset = try engine.apply(definition, args: args, context: context, argsJSON: row.argsJSON,
                                           recordChangeset: pending || observed)
          if pending { try StateDatabase.insertChangeset(connection, seqNum: seqNum, changeset: changeset) }
          if observed, let changeset { try observer!.body(seqNum, changeset) }
          count += 1
          through = seqNum
          if let progress, count % 5_000 == 0 { progress(Progress(done: count, total: total, label: "materializing")) }
          return true
        }
        try StateDatabase.writeHead(connection, head: through)
      }
      try connection.execute("DETACH DATABASE log")
    } catch {
      try? FileManager.default.removeItem(atPath: temporaryPath)
      throw error
    }
    try FileSync.fsync(path: temporaryPath)
    // A journal a killed writer left beside the old file would be replayed into the new
    // one: roll it back (into the old file) before the new file takes its name.
    try Connection.recoverInterruptedTransaction(at: statePath)
    try FileSync.replace(temporaryPath, with: statePath)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
    return MaterializeReport(events: count, through: through, seconds: seconds, statePath: statePath)
  }
}

/// Scratch files of rebuilds whose process is gone (killed mid-rebuild).
private func removeAbandonedScratchFiles(for statePath: String) {
  let directory = (statePath as NSString).deletingLastPathComponent
  let prefix = (statePath as NSString).lastPathComponent + ".building-"
  for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(prefix) {
    guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0.isNumber }), kill(pid, 0) != 0, errno == ESRCH else { continue }
    try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name))
  }
}

/// The eventlog cannot be replayed with this schema.
public enum ReplayError: Error, Sendable, CustomStringConvertible {
  case unknownEvent(seqNum: SeqNum, name: String, schema: String)
  case invalidArgs(seqNum: SeqNum, name: String, argsJSON: String, reason: String)

  public var description: String {
    switch self {
    case .unknownEvent(let seqNum, let name, let schema):
      return "event \(seqNum) is '\(name)', which \(schema) does not define"
    case .invalidArgs(let seqNum, let name, let argsJSON, let reason):
      return "event \(seqNum) \(name) \(argsJSON) does not match the schema: \(reason)"
    }
  }
}

extension String {
  /// Percent-encodes the characters that would break a `file:` URI.
  var addingPercentEncodingForURI: String {
    var allowed = CharacterSet.urlPathAllowed
    allowed.remove(charactersIn: "?#%")
    return addingPercentEncoding(withAllowedCharacters: allowed) ?? self
  }
}
