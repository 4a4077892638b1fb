import CSQLite
import LStoreSQLite

/// Runs events' materializers against a state database (the connection's `main`).
///
/// Each event's SQL is prepared once and reused; parameters are bound straight from the
/// parsed args. When asked, the effect of an event is recorded as a session changeset
/// so it can be rolled back later (what LiveStore keeps for pending events), by a
/// `ChangesetRecorder` that writes the bytes `sqlite3session_changeset` would.
public final class MaterializerEngine {
  public let connection: Connection
  public let schema: Schema
  private var programs: [String: EventProgram] = [:]
  /// The programs of the schema's events by `EventDefinition.ordinal`: looked up once per
  /// applied event, where hashing the name cost more than binding the args.
  private var programsByOrdinal: [EventProgram?]
  private var rawStatements: [String: [Statement]] = [:]
  private var scratch = JSONWriter(reservingCapacity: 512)

  public init(connection: Connection, schema: Schema) throws {
    self.connection = connection
    self.schema = schema
    programsByOrdinal = Array(repeating: nil, count: schema.events.count)
    try MaterializerFunctions.register(on: connection)
  }

  /// Prepares every event's SQL now, so that an error in the schema shows up before any
  /// event is applied.
  public func compileAll() throws {
    for event in schema.events { _ = try program(for: event) }
  }

  /// Set for a replay that goes on past events that fail (`lstore replay`): a failed event
  /// then leaves no write behind. SQLite undoes a failed statement by itself; an event of
  /// several statements (or raw SQL) runs inside a savepoint, rolled back when one fails.
  /// Only events that need it get one: a savepoint per event costs about 1 µs, a third of a
  /// replay. Needs a rollback journal: under `journal_mode=OFF` SQLite undoes nothing.
  public var isolatesEvents = false

  /// Set by `countRowWrites()`: the rows each applied event wrote, per table (a failed
  /// event's are not counted).
  public private(set) var rowCounter: RowWriteCounter?

  /// Starts counting rows written per table. The counter owns the pre-update hook, so events
  /// are then applied without recording changesets.
  public func countRowWrites() -> RowWriteCounter {
    if let rowCounter { return rowCounter }
    let counter = RowWriteCounter(connection: connection)
    counter.start()
    rowCounter = counter
    return counter
  }

  /// Applies one event whose args are already validated and normalized. Returns the
  /// changeset when `recordChangeset` is set and the event changed something.
  @discardableResult
  public func apply(_ event: EventDefinition, args: JSONValue, context: EventContext, argsJSON: @autoclosure () -> String,
                    recordChangeset: Bool) throws -> [UInt8]? {
    precondition(!(recordChangeset && rowCounter != nil), "a changeset cannot be recorded while rows are counted")
    let recorder = recordChangeset ? changesetRecorder : nil
    try recorder?.begin()
    var recorded = false
    defer { if !recorded { recorder?.cancel() } }
    var savepoint = false
    do {
      switch event.materializer {
      case .sql:
        let program = try program(for: event)
        savepoint = isolatesEvents && program.statements.count > 1
        if savepoint { try savepointStatements.begin.execute() }
        try runProgram(program, args: args, context: context)
      case .clientDocumentSet(let table):
        try runDocumentSet(table: table, args: args)
      case .rawSQL:
        savepoint = isolatesEvents
        if savepoint { try savepointStatements.begin.execute() }
        try runRawSQL(args: args)
      }
      if savepoint { try savepointStatements.release.execute() }
      rowCounter?.keep()
    } catch {
      // (An `OR ROLLBACK` may have ended the whole transaction, savepoint and all.)
      if savepoint && connection.isInTransaction {
        try savepointStatements.rollback.execute()
        try savepointStatements.release.execute()
      }
      rowCounter?.discard()
      throw mapped(error, event: event, context: context, argsJSON: argsJSON())
    }
    recorded = true
    return try recorder?.finish()
  }

  private lazy var savepointStatements: (begin: Statement, rollback: Statement, release: Statement) = {
    // Prepared here, outside the materializer authorizer (which refuses savepoints to
    // materializer SQL). `try!`: these three statements always prepare.
    (try! connection.prepare("SAVEPOINT lstore_event"), try! connection.prepare("ROLLBACK TO lstore_event"),
     try! connection.prepare("RELEASE lstore_event"))
  }()

  /// A failure of a materializer's SQL, named with its event.
  private func mapped(_ error: Error, event: EventDefinition, context: EventContext, argsJSON: String) -> Error {
    switch error {
    case let error as SQLiteError:
      return MaterializeError(seqNum: context.seqNum, eventName: event.name, argsJSON: argsJSON,
                              statement: error.sql, reason: error.message)
    case var error as MaterializeError:
      error.seqNum = context.seqNum
      error.argsJSON = argsJSON
      return error
    default:
      return error
    }
  }

  /// Records pending events' changesets: the session extension's bytes, without a
  /// session per event (whose SQL compilation cost several times the event itself).
  private lazy var changesetRecorder = ChangesetRecorder(connection: connection)

  // MARK: - Declared SQL materializers

  private struct BoundStatement {
    let statement: Statement
    /// For each parameter index (1-based, in order): where its value comes from.
    let sources: [ParameterSource]
  }

  private enum ParameterSource {
    case arg(String)
    case seqNum, seqNumGlobal, seqNumClient, clientId, sessionId, name
  }

  private final class EventProgram {
    let name: String
    let statements: [BoundStatement]
    init(name: String, statements: [BoundStatement]) {
      self.name = name
      self.statements = statements
    }
  }

  private func program(for event: EventDefinition) throws -> EventProgram {
    let ordinal = event.ordinal
    // The name check keeps a definition of another schema from taking this one's program
    // (the same string storage compares without reading the bytes).
    if ordinal >= 0 && ordinal < programsByOrdinal.count, let program = programsByOrdinal[ordinal], program.name == event.name {
      return program
    }
    let program = try namedProgram(for: event)
    if ordinal >= 0 && ordinal < programsByOrdinal.count && schema.events[ordinal].name == event.name {
      programsByOrdinal[ordinal] = program
    }
    return program
  }

  private func namedProgram(for event: EventDefinition) throws -> EventProgram {
    if let program = programs[event.name] { return program }
    var bound: [BoundStatement] = []
    for sql in event.materializer.statements {
      let statements: [Statement]
      do {
        statements = try connection.withAuthorizer(Self.allows) { try connection.prepareAll(sql) }
      } catch let error as SQLiteError {
        throw MaterializeError(seqNum: nil, eventName: event.name, argsJSON: "", statement: sql,
                               reason: error.message)
      }
      for statement in statements {
        var sources: [ParameterSource] = []
        for index in 1...max(1, statement.parameterCount) where statement.parameterCount > 0 {
          guard let rawName = statement.parameterName(index), rawName.count > 1 else {
            throw MaterializeError(seqNum: nil, eventName: event.name, argsJSON: "", statement: statement.sql,
                                   reason: "use named parameters ($name), not '?'")
          }
          let name = String(rawName.dropFirst())
          switch name {
          case "_seqNum": sources.append(.seqNum)
          case "_seqNumGlobal": sources.append(.seqNumGlobal)
          case "_seqNumClient": sources.append(.seqNumClient)
          case "_clientId": sources.append(.clientId)
          case "_sessionId": sources.append(.sessionId)
          case "_name": sources.append(.name)
          default:
            guard event.args.fields.contains(where: { $0.name == name }) else {
              let known = event.args.fields.map { "$" + $0.name }.joined(separator: ", ")
              throw MaterializeError(seqNum: nil, eventName: event.name, argsJSON: "", statement: statement.sql,
                                     reason: "parameter \(rawName) is not an arg of the event (args: \(known.isEmpty ? "none" : known); context: $_seqNum, $_seqNumGlobal, $_seqNumClient, $_clientId, $_sessionId, $_name)")
            }
            sources.append(.arg(name))
          }
        }
        bound.append(BoundStatement(statement: statement, sources: sources))
      }
    }
    let program = EventProgram(name: event.name, statements: bound)
    programs[event.name] = program
    return program
  }

  private func runProgram(_ program: EventProgram, args: JSONValue, context: EventContext) throws {
    let object = args.objectValue
    for bound in program.statements {
      let statement = bound.statement
      for (offset, source) in bound.sources.enumerated() {
        let index = Int32(offset + 1)
        switch source {
        case .arg(let name): bind(object?[name] ?? .null, to: statement, at: index)
        case .seqNum: statement.bind(context.seqNum.description, at: index)
        case .seqNumGlobal: statement.bind(context.seqNum.global, at: index)
        case .seqNumClient: statement.bind(context.seqNum.client, at: index)
        case .clientId: statement.bind(context.clientId, at: index)
        case .sessionId: statement.bind(context.sessionId, at: index)
        case .name: statement.bind(context.name, at: index)
        }
      }
      defer { statement.reset() }
      while try statement.step() {}
    }
  }

  /// Binds a JSON value the way LiveStore's SQLite binding does: strings as TEXT,
  /// integers as INTEGER, other numbers as REAL, booleans as 0/1, objects and arrays as
  /// their JSON text.
  private func bind(_ value: JSONValue, to statement: Statement, at index: Int32) {
    switch value {
    case .null: statement.bindNull(at: index)
    case .bool(let b): statement.bind(Int64(b ? 1 : 0), at: index)
    case .integer(let v): statement.bind(v, at: index)
    case .number(let v): statement.bind(v, at: index)
    case .string(let s): statement.bind(s, at: index)
    // SQLite TEXT holds valid UTF-8 only: the column gets U+FFFD for each lone surrogate
    // (the eventlog keeps the args exactly, as their `\udXXX` escape).
    case .loneSurrogateString: statement.bind(value.repairedStringValue ?? "", at: index)
    case .array, .object:
      scratch.removeAll()
      scratch.write(value)
      scratch.bytes.withUnsafeBufferPointer { statement.bind(utf8: $0, at: index) }
    }
  }

  // MARK: - Client documents

  /// What a client document's set needs, looked up once per table rather than per event.
  private final class DocumentProgram {
    let document: ClientDocument
    let quotedTable: String
    /// Partial-set upserts by the number of keys given (the SQL depends only on that).
    var partial: [Statement?] = []
    var full: Statement?
    init(document: ClientDocument, quotedTable: String) {
      self.document = document
      self.quotedTable = quotedTable
    }
  }
  private var documentPrograms: [String: DocumentProgram] = [:]

  private func documentProgram(table: String) throws -> DocumentProgram {
    if let program = documentPrograms[table] { return program }
    guard let definition = schema.table(named: table), let document = definition.clientDocument else {
      throw MaterializeError(seqNum: nil, eventName: "\(table)Set", argsJSON: "", statement: nil,
                             reason: "no client document '\(table)' in the schema")
    }
    let program = DocumentProgram(document: document,
                                  quotedTable: "'" + table.replacingOccurrences(of: "'", with: "''") + "'")
    documentPrograms[table] = program
    return program
  }

  /// LiveStore's derived `<doc>Set` materializer (format spec §4): a full upsert, or, for
  /// partial sets of an object value, an insert of the merged default and a `json_set`
  /// per given key on conflict.
  ///
  /// The JSON texts are written into one scratch buffer and bound from it (SQLite copies
  /// them), so an event allocates no Strings here.
  private func runDocumentSet(table: String, args: JSONValue) throws {
    let program = try documentProgram(table: table)
    let document = program.document
    let object = args.objectValue
    let id = object?["id"]
    let value = object?["value"] ?? .null
    if document.partialSet, case .object(let defaults) = document.defaultValue, case .object(let given) = value {
      let keyCount = given.count
      if program.partial.count <= keyCount { program.partial += Array(repeating: nil, count: keyCount + 1 - program.partial.count) }
      let statement: Statement
      if let cached = program.partial[keyCount] {
        statement = cached
      } else {
        var sql = "INSERT INTO \(program.quotedTable) (id, value) VALUES (?, ?) ON CONFLICT (id) "
        if keyCount == 0 {
          sql += "DO NOTHING"
        } else {
          var expression = "value"
          for _ in 0..<keyCount { expression = "json_set(\(expression), ?, json(?))" }
          sql += "DO UPDATE SET value = \(expression)"
        }
        statement = try connection.prepare(sql)
        program.partial[keyCount] = statement
      }
      bindText(id, to: statement, at: 1)
      // The default with the given (non-null) fields merged in, in the default's key order.
      scratch.removeAll()
      scratch.bytes.append(UInt8(ascii: "{"))
      for (offset, entry) in defaults.entries.enumerated() {
        if offset > 0 { scratch.bytes.append(UInt8(ascii: ",")) }
        scratch.writeString(entry.key)
        scratch.bytes.append(UInt8(ascii: ":"))
        if let field = given[entry.key], !field.isNull { scratch.write(field) } else { scratch.write(entry.value) }
      }
      scratch.bytes.append(UInt8(ascii: "}"))
      scratch.bytes.withUnsafeBufferPointer { statement.bind(utf8: $0, at: 2) }
      var index: Int32 = 3
      for (key, field) in given {
        scratch.removeAll()
        scratch.appendASCII("$.")
        scratch.writeRaw(key)
        scratch.bytes.withUnsafeBufferPointer { statement.bind(utf8: $0, at: index) }
        scratch.removeAll()
        scratch.write(field)
        scratch.bytes.withUnsafeBufferPointer { statement.bind(utf8: $0, at: index + 1) }
        index += 2
      }
      defer { statement.reset() }
      while try statement.step() {}
    } else {
      let statement: Statement
      if let cached = program.full {
        statement = cached
      } else {
        statement = try connection.prepare(
          "INSERT INTO \(program.quotedTable) (id, value) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET value = ?")
        program.full = statement
      }
      let stored = value.isNull ? document.defaultValue : value
      bindText(id, to: statement, at: 1)
      scratch.removeAll()
      scratch.write(stored)
      scratch.bytes.withUnsafeBufferPointer { statement.bind(utf8: $0, at: 2) }
      scratch.removeAll()
      scratch.write(value)
      scratch.bytes.withUnsafeBufferPointer { statement.bind(utf8: $0, at: 3) }
      defer { statement.reset() }
      while try statement.step() {}
    }
  }

  /// The document id as TEXT: its string, or "" when it is not a string.
  private func bindText(_ value: JSONValue?, to statement: Statement, at index: Int32) {
    statement.bind(value?.repairedStringValue ?? "", at: index)
  }

  // MARK: - livestore.RawSql

  private func runRawSQL(args: JSONValue) throws {
    guard let sql = args["sql"]?.repairedStringValue else { return }
    let statements: [Statement]
    if let cached = rawStatements[sql] {
      statements = cached
    } else {
      statements = try connection.withAuthorizer(Self.allows) { try connection.prepareAll(sql) }
      if rawStatements.count > 256 { rawStatements.removeAll() }
      rawStatements[sql] = statements
    }
    let bindValues = args["bindValues"]
    for statement in statements {
      let count = statement.parameterCount
      if count > 0 {
        for index in 1...count {
          var value: JSONValue = .null
          switch bindValues {
          case .array(let list)?:
            if Int(index) <= list.count { value = list[Int(index) - 1] }
          case .object(let object)?:
            if let name = statement.parameterName(index) { value = object[String(name.dropFirst())] ?? .null }
          default: break
          }
          bind(value, to: statement, at: index)
        }
      }
      defer { statement.reset() }
      while try statement.step() {}
    }
  }
}

extension MaterializerEngine {
  /// What materializer SQL (declared, or carried by a `livestore.RawSql` event) may do. It
  /// runs inside lstore's own transaction on a connection that also holds the eventlog, so
  /// it must not end that transaction, reach the eventlog, or rewrite LiveStore's or lstore's
  /// bookkeeping: that would break the all-or-nothing promise of a commit, import or pull.
  static func allows(_ request: AuthorizerRequest) -> Bool {
    switch request.action {
    case .transaction, .savepoint, .attach, .detach, .pragma: return false
    default: break
    }
    if let database = request.database, database != "main" && database != "temp" { return false }
    guard let table = request.table?.lowercased() else { return true }
    let reserved = table.hasPrefix("__livestore") || table.hasPrefix("lstore_") || table.hasPrefix("sqlite_")
    switch request.action {
    case .read, .other: return true
    default: return !reserved
    }
  }
}

/// SQL functions available to materializers. All are deterministic, so replaying an
/// eventlog always yields the same state.
enum MaterializerFunctions {
  static func register(on connection: Connection) throws {
    // An ISO-8601 date (as `date` args are stored) to epoch milliseconds, the storage of
    // LiveStore's `datetimeInteger` columns.
    // Registered straight on the C API: it runs once per deleted todo, and the generic
    // Swift bridge builds an argument array and a String per call.
    let code = sqlite3_create_function_v2(
      connection.handle, "epoch_ms", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nil,
      { context, _, argv in
        let argument = argv?[0]
        switch sqlite3_value_type(argument) {
        case SQLITE_INTEGER: sqlite3_result_int64(context, sqlite3_value_int64(argument))
        case SQLITE_TEXT:
          let count = Int(sqlite3_value_bytes(argument))
          let text = sqlite3_value_text(argument).map { UnsafeBufferPointer(start: $0, count: count) }
            ?? UnsafeBufferPointer(start: nil, count: 0)
          if let millis = MaterializerFunctions.epochMillis(text) {
            sqlite3_result_int64(context, millis)
          } else {
            sqlite3_result_null(context)
          }
        default: sqlite3_result_null(context)
        }
      }, nil, nil, nil)
    guard code == SQLITE_OK else { throw SQLiteError(code: code, message: "could not register epoch_ms()") }
    // Epoch milliseconds to the ISO form LiveStore's `datetime` columns store.
    try connection.createFunction("iso_date", argumentCount: 1) { arguments in
      switch arguments[0] {
      case .integer(let v): return .text(ISODate.format(millis: v))
      case .real(let v): return .text(ISODate.format(millis: Int64(v)))
      case .text(let text): return ISODate.parse(text).map { .text(ISODate.format(millis: $0)) } ?? .null
      default: return .null
      }
    }
    // Materializers must be deterministic: replays on other machines must give the same
    // state. These shadow SQLite's non-deterministic built-ins with a clear error.
    for name in ["random", "randomblob", "changes", "total_changes", "last_insert_rowid"] {
      let argumentCount: Int32 = name == "randomblob" ? 1 : 0
      try connection.createFunction(name, argumentCount: argumentCount) { _ in
        throw DeterminismError(function: name)
      }
    }
  }

  /// `ISODate.parse` of the text. The form `toISOString` writes (and args are stored in),
  /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, is read here without building a String when its fields
  /// are plainly in range; anything else goes through `ISODate.parse`.
  static func epochMillis(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
    if b.count == 24, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54, b[13] == 0x3A, b[16] == 0x3A, b[19] == 0x2E, b[23] == 0x5A {
      func digits(_ start: Int, _ count: Int) -> Int64? {
        var value: Int64 = 0
        for i in start..<(start + count) {
          let c = b[i]
          guard c >= 0x30 && c <= 0x39 else { return nil }
          value = value * 10 + Int64(c - 0x30)
        }
        return value
      }
      if let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2), let hour = digits(11, 2),
         let minute = digits(14, 2), let second = digits(17, 2), let millis = digits(20, 3),
         (1...12).contains(month), (1...28).contains(day), hour < 24, minute < 60, second < 60
      {
        let days = ISODate.daysFromCivil(year: year, month: month, day: day)
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
      }
    }
    return ISODate.parse(String(decoding: b, as: UTF8.self))
  }

  struct DeterminismError: Error, CustomStringConvertible {
    var function: String
    var description: String { "\(function)() is not deterministic and cannot be used in a materializer" }
  }
}
