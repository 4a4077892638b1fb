/// A LiveStore-style schema: state tables, client documents and events with their
/// materializers. Loaded from a YAML or JSON file by `SchemaLoader`.
public struct Schema: Sendable {
  /// User tables in declaration order (client-document tables included), without the
  /// LiveStore system tables.
  public var tables: [TableDefinition]
  /// Every event: declared ones, the derived `<doc>Set` events and `livestore.RawSql`.
  public private(set) var events: [EventDefinition]
  /// Where the schema came from, for messages.
  public var source: String

  private var eventIndex: [String: Int]

  public init(tables: [TableDefinition], events: [EventDefinition], source: String) {
    self.tables = tables
    self.source = source
    var numbered = events
    var index: [String: Int] = [:]
    for i in numbered.indices {
      numbered[i].ordinal = i
      index[numbered[i].name] = i
    }
    self.events = numbered
    self.eventIndex = index
  }

  public func event(named name: String) -> EventDefinition? { eventIndex[name].map { events[$0] } }

  public func table(named name: String) -> TableDefinition? { tables.first { $0.name == name } }

  /// LiveStore's state schema hash: it names the state database file, so changing any
  /// table gives a new file and a full rematerialization.
  public func stateHash(_ format: StorageFormat) -> Int64 { LiveStoreHash.stateHash(userTables: tables, format: format) }

  /// A hash of everything that decides what state an eventlog produces: tables, event
  /// args and materializer SQL. Used to notice that materializers changed under a
  /// state database that was built with older ones.
  public var materializationHash: Int64 {
    var writer = JSONWriter()
    // lstore's own hash, the same for both formats (format 4's table JSON), so that
    // converting a store does not look like a materializer change.
    for table in tables { writer.writeRaw(LiveStoreHash.tableJSON(table, format: .v4)) }
    for event in events {
      writer.writeString(event.name)
      writer.write(event.args.descriptor)
      for statement in event.materializer.statements { writer.writeString(statement) }
    }
    return LiveStoreHash.effectStringHash(writer.string)
  }
}

/// The eight LiveStore column types.
public enum ColumnType: String, CaseIterable, Sendable {
  case text, integer, real, blob, boolean, json, datetime, datetimeInteger

  /// The SQLite type the column is created with.
  public var sqlType: String {
    switch self {
    case .text, .json, .datetime: return "text"
    case .integer, .boolean, .datetimeInteger: return "integer"
    case .real: return "real"
    case .blob: return "blob"
    }
  }
}

public enum ColumnDefault: Equatable, Sendable {
  /// A value in the column's decoded domain (`false` for a boolean, an ISO string for a datetime).
  case value(JSONValue)
  /// Raw SQL, as in LiveStore's `{sql: '…'}` default.
  case sql(String)
}

public struct ColumnDefinition: Equatable, Sendable {
  public var name: String
  public var type: ColumnType
  public var primaryKey: Bool
  public var nullable: Bool
  public var defaultValue: ColumnDefault?

  public init(name: String, type: ColumnType, primaryKey: Bool = false, nullable: Bool = false,
              defaultValue: ColumnDefault? = nil)
  {
    self.name = name
    self.type = type
    self.primaryKey = primaryKey
    self.nullable = nullable
    self.defaultValue = defaultValue
  }
}

public struct IndexDefinition: Equatable, Sendable {
  public var name: String
  public var columns: [String]
  public var unique: Bool

  public init(name: String, columns: [String], unique: Bool = false) {
    self.name = name
    self.columns = columns
    self.unique = unique
  }
}

public struct TableDefinition: Equatable, Sendable {
  public var name: String
  public var columns: [ColumnDefinition]
  public var indexes: [IndexDefinition]
  /// Set for client-document tables (`id`, `value`), which get a derived `<name>Set` event.
  public var clientDocument: ClientDocument?

  public init(name: String, columns: [ColumnDefinition], indexes: [IndexDefinition] = [],
              clientDocument: ClientDocument? = nil)
  {
    self.name = name
    self.columns = columns
    self.indexes = indexes
    self.clientDocument = clientDocument
  }

  public var hasPrimaryKey: Bool { columns.contains { $0.primaryKey } }
}

/// A client document (LiveStore's `State.SQLite.clientDocument`).
public struct ClientDocument: Equatable, Sendable {
  public enum DefaultID: Equatable, Sendable {
    case none
    /// LiveStore's `SessionIdSymbol`: the committing session's id.
    case sessionId
    case fixed(String)
  }

  public var valueType: ArgType
  public var defaultValue: JSONValue
  public var defaultID: DefaultID
  /// When true (LiveStore's default) a set merges the given keys into the stored value.
  public var partialSet: Bool

  public init(valueType: ArgType, defaultValue: JSONValue, defaultID: DefaultID, partialSet: Bool) {
    self.valueType = valueType
    self.defaultValue = defaultValue
    self.defaultID = defaultID
    self.partialSet = partialSet
  }
}

public struct EventDefinition: Sendable {
  public var name: String
  /// Client-only events are never pushed and are numbered `(g, c+1)`.
  public var clientOnly: Bool
  /// Generated by lstore (client-document sets, `livestore.RawSql`), not declared.
  public var derived: Bool
  /// The args: always an object type.
  public var args: ArgType
  public var materializer: Materializer
  /// The value written to `eventlog.schemaHash` (see `LiveStoreHash.eventSchemaHash`).
  public var schemaHash: Int64
  /// Its position in its schema's `events`, set by `Schema` (-1 outside one): bulk work looks
  /// up what it prepared for an event by this, not by hashing the name.
  public internal(set) var ordinal = -1

  public init(name: String, clientOnly: Bool, derived: Bool, args: ArgType, materializer: Materializer) {
    self.name = name
    self.clientOnly = clientOnly
    self.derived = derived
    self.args = args
    self.materializer = materializer
    self.schemaHash = LiveStoreHash.eventSchemaHash(args)
  }
}

/// How an event changes state.
public enum Materializer: Equatable, Sendable {
  /// SQL statements run in order, with `$name` parameters bound from the args and the
  /// event context.
  case sql([String])
  /// LiveStore's derived client-document set: upsert with a partial JSON merge.
  case clientDocumentSet(table: String)
  /// `livestore.RawSql`: runs the SQL carried in the args.
  case rawSQL

  public var statements: [String] {
    if case .sql(let statements) = self { return statements }
    return []
  }
}
