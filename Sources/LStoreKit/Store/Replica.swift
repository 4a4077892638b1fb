import Foundation
import LStoreSQLite

/// A branch's eventlog and state open on one connection (state as `main`, the eventlog
/// attached as `log`), so that appending events and applying them commit in a single
/// SQLite transaction across both files: a process killed at any instant leaves both or
/// neither.
public final class Replica {
  public let connection: Connection
  public let eventlog: Eventlog
  public let schema: Schema
  public let engine: MaterializerEngine
  public let eventlogPath: String
  public let statePath: String
  /// Set when opening had to rebuild the state.
  public private(set) var rebuild: MaterializeReport?
  /// The replay engine every head move of this replica goes through.
  public private(set) lazy var replayer = EventReplayer(replica: self)

  private init(eventlogPath: String, statePath: String, schema: Schema) throws {
    self.eventlogPath = eventlogPath
    self.statePath = statePath
    self.schema = schema
    connection = try Connection(path: statePath, mode: .readWrite)
    try connection.execute("PRAGMA foreign_keys=ON")
    try connection.execute("PRAGMA cache_size=-16384")
    try connection.attach(path: eventlogPath, as: "log")
    // The eventlog is appended to at its right edge and read in order: 4 MiB is as fast as
    // 16 for an import of 1M pending events, and peaks 13 MB lower (106 -> 93 MB; measured).
    try connection.execute("PRAGMA log.cache_size=-4096")
    eventlog = Eventlog(connection: connection, schemaName: "log")
    do {
      try eventlog.validate()
    } catch let error as SQLiteError where error.isDamagedFile {
      throw StoreError.damagedEventlog(path: eventlogPath, reason: error.message)
    }
    // An eventlog LiveStore wrote, put into a store by hand, has none of lstore's own tables
    // (commits, meta): add them beside LiveStore's, as a store's eventlog always has them.
    let connection = self.connection
    if !eventlog.hasLStoreRecords {
      try connection.transaction(.immediate) {
        for statement in LStoreRecords.ddl {
          try connection.execute(statement.replacingOccurrences(of: "IF NOT EXISTS ", with: "IF NOT EXISTS log."))
        }
      }
    }
    engine = try MaterializerEngine(connection: connection, schema: schema)
  }

  public static func open(eventlogPath: String, statePath: String, schema: Schema, now: String,
                          progress: ProgressHandler? = nil) throws -> Replica {
    var report: MaterializeReport? = nil
    if try needsRebuild(eventlogPath: eventlogPath, statePath: statePath, schema: schema) {
      report = try Rematerializer.rebuild(eventlogPath: eventlogPath, statePath: statePath, schema: schema,
                                          updatedAt: now, progress: progress)
    }
    let replica = try Replica(eventlogPath: eventlogPath, statePath: statePath, schema: schema)
    replica.rebuild = report
    return replica
  }

  /// A state file must be rebuilt when it is missing, was not built by lstore (or is not a
  /// database at all any more: it is derived, the eventlog rebuilds it), or was built with
  /// other materializers. A state that is merely behind (`materialize --until`) is left as
  /// it is.
  static func needsRebuild(eventlogPath: String, statePath: String, schema: Schema) throws -> Bool {
    guard FileManager.default.fileExists(atPath: statePath) else { return true }
    let state: (head: SeqNum, materializationHash: Int64)?
    do {
      state = try StateDatabase.readHead(try Connection(path: statePath, mode: .readOnly))
    } catch let error as SQLiteError where error.isDamagedFile {
      return true
    }
    guard let state else { return true }
    if state.materializationHash != schema.materializationHash { return true }
    let head: SeqNum
    do {
      head = try Eventlog(connection: try Connection(path: eventlogPath, mode: .readOnly)).head()
    } catch let error as SQLiteError where error.isDamagedFile {
      throw StoreError.damagedEventlog(path: eventlogPath, reason: error.message)
    }
    return state.head > head
  }

  /// The event the state is materialized through.
  public func stateHead() throws -> SeqNum { try StateDatabase.readHead(connection)?.head ?? .root }

  // MARK: - Committing

  /// What a commit appended.
  public struct CommitResult: Sendable {
    public var commit: Commit?
    public var events: [EventRecord]
  }

  public struct Identity: Sendable {
    public var clientId: String
    public var sessionId: String
    public init(clientId: String, sessionId: String) {
      self.clientId = clientId
      self.sessionId = sessionId
    }
  }

  /// Validates `inputs` against the schema, then appends and materializes them as one
  /// commit in one transaction: all of them are kept, or none. The same path as a streamed
  /// commit (`commit(streaming:)`), for inputs already in memory.
  public func commit(_ inputs: [EventInput], message: String?, author: Author, time: String,
                     identity: Identity) throws -> CommitResult {
    guard !inputs.isEmpty else { throw StoreError.empty("nothing to commit: no events given") }
    var index = 0
    let result = try commit(streaming: {
      defer { index += 1 }
      return index < inputs.count ? inputs[index] : nil
    }, message: { _ in message }, author: author, time: time, identity: identity)
    var records: [EventRecord] = []
    try eventlog.forEach(after: try eventlog.lastEvent(before: result.first) ?? .root, through: result.last) { row in
      records.append(row.record)
      return true
    }
    return CommitResult(commit: result.commit, events: records)
  }

  /// Checks an event against the schema and returns its definition and normalized args.
  public func validate(_ input: EventInput, sessionId: String) throws -> (EventDefinition, JSONValue) {
    try Self.validate(input, schema: schema, sessionId: sessionId)
  }

  /// The check itself, which needs only the schema (a streamed commit runs it on its
  /// reading thread).
  static func validate(_ input: EventInput, schema: Schema, sessionId: String) throws -> (EventDefinition, JSONValue) {
    guard let definition = schema.event(named: input.name) else {
      throw StoreError.unknownEvent(name: input.name, origin: input.origin,
                                    known: schema.events.filter { !$0.derived || $0.materializer != .rawSQL }.map(\.name))
    }
    var args = input.args
    if args.isNull { args = .object(JSONObject()) }
    // A client-document set may leave out the id: LiveStore fills in the default id,
    // the session id for `SessionIdSymbol`.
    if case .clientDocumentSet(let table) = definition.materializer, case .object(var object) = args, object["id"] == nil,
       let document = schema.table(named: table)?.clientDocument
    {
      switch document.defaultID {
      case .sessionId: object["id"] = .string(sessionId)
      case .fixed(let id): object["id"] = .string(id)
      case .none: break  // left missing: validation reports it
      }
      if object["id"] != nil {
        args = .object(object.movingToFront("id"))
      }
    }
    do {
      return (definition, try definition.args.normalize(args))
    } catch let error as ArgsError {
      throw StoreError.invalidArgs(name: input.name, origin: input.origin, reason: error.description)
    }
  }

  /// Materializes one event and appends it: the state change, its changeset (for pending
  /// events) and the eventlog row. Must run inside a transaction.
  public func apply(_ record: EventRecord, definition: EventDefinition, args: JSONValue, pending: Bool) throws {
    try replayer.apply(record, definition: definition, args: args, pending: pending)
  }
}
