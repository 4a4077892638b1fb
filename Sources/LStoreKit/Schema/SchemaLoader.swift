import Foundation
import Yams

/// Reads a schema file (YAML, or JSON, which YAML accepts) into a `Schema`.
///
/// The format is documented in docs/schema.md. Every error names the file, the table or
/// event, and the field, so a user can go straight to the line.
public enum SchemaLoader {
  public static func load(path: String) throws -> Schema {
    // A missing file is "not found" (exit 66), not a schema error: the fix is the path.
    guard FileManager.default.fileExists(atPath: path) else {
      throw SchemaError(file: path, location: "", reason: SchemaError.noSuchFile)
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw SchemaError(file: path, location: "", reason: "cannot read the schema file")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw SchemaError(file: path, location: "", reason: "the schema file is not UTF-8 text")
    }
    return try parse(text, file: path)
  }

  /// The most YAML nodes a schema may expand to, aliases counted at every use: far above
  /// any real schema, far below what nested aliases ("billion laughs") expand to.
  public static let maxNodes = 100_000

  public static func parse(_ text: String, file: String) throws -> Schema {
    let root: Node
    do {
      guard let node = try Yams.compose(yaml: text) else {
        throw SchemaError(file: file, location: "", reason: "the schema file is empty")
      }
      root = node
    } catch let error as SchemaError {
      throw error
    } catch {
      // Yams describes an error over several lines, the last two quoting the YAML line and
      // a caret under it: keep the description, on one line.
      var lines = "\(error)".split(separator: "\n", omittingEmptySubsequences: true).map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      if lines.count >= 3, let caret = lines.last, caret.allSatisfy({ $0 == "^" || $0 == " " }) { lines.removeLast(2) }
      let reason = lines.map { $0.hasSuffix(":") ? String($0.dropLast()) : $0 }.joined(separator: ": ")
      throw SchemaError(file: file, location: "", reason: "not valid YAML or JSON: \(reason)")
    }
    // Composing shares an anchored node among its aliases; reading walks every use, so a
    // few nested aliases would make it walk billions of nodes. Count first, with a cap.
    guard Reader.expandedNodeCount(root, limit: maxNodes) <= maxNodes else {
      throw SchemaError(file: file, location: "", reason: "the schema expands to more than \(maxNodes) YAML nodes (nested aliases?)")
    }
    var reader = Reader(file: file)
    let schema = try reader.readSchema(root)
    try SchemaSQLCheck.check(schema)
    return schema
  }

  /// A derived name LiveStore gives a client document's set event.
  public static func setEventName(forDocument table: String) -> String { "\(table)Set" }

  public static let rawSQLEventName = "livestore.RawSql"

  /// Parameter names a materializer may use besides the event's args.
  public static let contextParameters: Set<String> = [
    "_seqNum", "_seqNumGlobal", "_seqNumClient", "_clientId", "_sessionId", "_name",
  ]
}

private struct Reader {
  let file: String

  func fail(_ location: String, _ reason: String) -> SchemaError {
    SchemaError(file: file, location: location, reason: reason)
  }

  func mapping(_ node: Node, _ location: String) throws -> [(String, Node)] {
    guard case .mapping(let map) = node else { throw fail(location, "expected a mapping") }
    return try map.map { pair in
      guard case .scalar(let key) = pair.key else { throw fail(location, "keys must be plain names") }
      return (key.string, pair.value)
    }
  }

  func scalarString(_ node: Node, _ location: String) throws -> String {
    guard case .scalar(let scalar) = node else { throw fail(location, "expected a single value") }
    return scalar.string
  }

  func bool(_ node: Node, _ location: String) throws -> Bool {
    guard let value = node.bool else { throw fail(location, "expected true or false") }
    return value
  }

  func checkKeys(_ entries: [(String, Node)], allowed: Set<String>, _ location: String) throws {
    for (key, _) in entries where !allowed.contains(key) {
      throw fail(location, "unknown key '\(key)' (expected one of: \(allowed.sorted().joined(separator: ", ")))")
    }
  }

  /// The nodes under `root`, each alias use counted again; stops counting past `limit`.
  static func expandedNodeCount(_ root: Node, limit: Int) -> Int {
    var count = 0
    var stack = [root]
    while let node = stack.popLast() {
      count += 1
      if count > limit { return count }
      switch node {
      case .scalar, .alias: break
      case .sequence(let sequence): stack.append(contentsOf: sequence)
      case .mapping(let mapping):
        for (key, value) in mapping {
          stack.append(key)
          stack.append(value)
        }
      }
    }
    return count
  }

  /// YAML → JSON, with YAML's own typing of plain scalars (`false`, `3`, `null`).
  func json(_ node: Node, _ location: String) throws -> JSONValue {
    switch node {
    case .scalar(let scalar):
      if scalar.style == .plain {
        if node.null != nil { return .null }
        if let b = node.bool { return .bool(b) }
        if let i = node.int { return .integer(Int64(i)) }
        if let d = node.float { return JSONValue.number(from: d) }
      }
      return .string(scalar.string)
    case .sequence(let sequence):
      return .array(try sequence.enumerated().map { try json($1, "\(location)[\($0)]") })
    case .mapping:
      return .object(JSONObject(try mapping(node, location).map { (key: $0.0, value: try json($0.1, "\(location).\($0.0)")) }))
    case .alias:
      throw fail(location, "YAML aliases are not supported")
    }
  }

  mutating func readSchema(_ root: Node) throws -> Schema {
    let top = try mapping(root, "")
    try checkKeys(top, allowed: ["tables", "clientDocuments", "events", "name", "description"], "top level")
    var tables: [TableDefinition] = []
    var events: [EventDefinition] = []
    for (key, node) in top {
      switch key {
      case "tables":
        for (name, tableNode) in try mapping(node, "tables") {
          tables.append(try readTable(name, tableNode))
        }
      case "clientDocuments":
        for (name, docNode) in try mapping(node, "clientDocuments") {
          tables.append(try readClientDocument(name, docNode))
        }
      case "events":
        for (name, eventNode) in try mapping(node, "events") {
          events.append(try readEvent(name, eventNode))
        }
      default: break
      }
    }
    var seen = Set<String>()
    for table in tables {
      guard seen.insert(table.name).inserted else { throw fail("table '\(table.name)'", "defined twice") }
      guard !table.name.hasPrefix("__livestore"), !table.name.hasPrefix("sqlite_") else {
        throw fail("table '\(table.name)'", "names starting with __livestore or sqlite_ are reserved")
      }
    }
    // Derived events, unless the schema defines one with the same name (as LiveStore does).
    for table in tables {
      guard let document = table.clientDocument else { continue }
      let name = SchemaLoader.setEventName(forDocument: table.name)
      if events.contains(where: { $0.name == name }) { continue }
      let valueType: ArgType = document.partialSet ? document.valueType.partial : document.valueType
      let args = ArgType.object([
        .init(name: "id", type: .string),
        .init(name: "value", type: valueType),
      ])
      events.append(EventDefinition(name: name, clientOnly: true, derived: true, args: args,
                                    materializer: .clientDocumentSet(table: table.name)))
    }
    if !events.contains(where: { $0.name == SchemaLoader.rawSQLEventName }) {
      let args = ArgType.object([
        .init(name: "sql", type: .string),
        .init(name: "bindValues", type: .json, optional: true),
        .init(name: "writeTables", type: .array(.string), optional: true),
      ])
      events.append(EventDefinition(name: SchemaLoader.rawSQLEventName, clientOnly: true, derived: true,
                                    args: args, materializer: .rawSQL))
    }
    return Schema(tables: tables, events: events, source: file)
  }

  func readTable(_ name: String, _ node: Node) throws -> TableDefinition {
    let location = "table '\(name)'"
    let entries = try mapping(node, location)
    try checkKeys(entries, allowed: ["columns", "indexes", "description"], location)
    guard let columnsNode = entries.first(where: { $0.0 == "columns" })?.1 else {
      throw fail(location, "missing 'columns'")
    }
    var columns: [ColumnDefinition] = []
    for (columnName, columnNode) in try mapping(columnsNode, location) {
      columns.append(try readColumn(columnName, columnNode, table: name))
    }
    guard !columns.isEmpty else { throw fail(location, "a table needs at least one column") }
    var indexes: [IndexDefinition] = []
    if let indexesNode = entries.first(where: { $0.0 == "indexes" })?.1 {
      guard case .sequence(let list) = indexesNode else { throw fail("\(location), indexes", "expected a list") }
      for (i, indexNode) in list.enumerated() {
        let indexLocation = "\(location), index \(i + 1)"
        let fields = try mapping(indexNode, indexLocation)
        try checkKeys(fields, allowed: ["name", "columns", "unique"], indexLocation)
        guard let nameNode = fields.first(where: { $0.0 == "name" })?.1 else { throw fail(indexLocation, "missing 'name'") }
        guard case .sequence(let cols)? = fields.first(where: { $0.0 == "columns" })?.1 else {
          throw fail(indexLocation, "missing 'columns' (a list of column names)")
        }
        let names = try cols.map { try scalarString($0, indexLocation) }
        for column in names where !columns.contains(where: { $0.name == column }) {
          throw fail(indexLocation, "unknown column '\(column)'")
        }
        let unique = try fields.first(where: { $0.0 == "unique" }).map { try bool($0.1, indexLocation) } ?? false
        indexes.append(IndexDefinition(name: try scalarString(nameNode, indexLocation), columns: names, unique: unique))
      }
    }
    return TableDefinition(name: name, columns: columns, indexes: indexes)
  }

  func readColumn(_ name: String, _ node: Node, table: String) throws -> ColumnDefinition {
    let location = "table '\(table)', column '\(name)'"
    func type(_ text: String) throws -> ColumnType {
      guard let type = ColumnType(rawValue: text) else {
        throw fail(location, "unknown column type '\(text)' (expected one of: \(ColumnType.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
      return type
    }
    if case .scalar = node { return ColumnDefinition(name: name, type: try type(try scalarString(node, location))) }
    let entries = try mapping(node, location)
    try checkKeys(entries, allowed: ["type", "primaryKey", "nullable", "default", "description"], location)
    guard let typeNode = entries.first(where: { $0.0 == "type" })?.1 else { throw fail(location, "missing 'type'") }
    var column = ColumnDefinition(name: name, type: try type(try scalarString(typeNode, location)))
    for (key, value) in entries {
      switch key {
      case "primaryKey": column.primaryKey = try bool(value, location)
      case "nullable": column.nullable = try bool(value, location)
      case "default":
        if case .mapping = value {
          let fields = try mapping(value, location)
          // A json column's default may itself be an object (LiveStore's json({default: {…}})).
          if column.type == .json, !(fields.count == 1 && fields[0].0 == "sql") {
            column.defaultValue = .value(try json(value, location))
            continue
          }
          guard fields.count == 1, fields[0].0 == "sql" else {
            throw fail(location, "a default is a value or {sql: \"…\"}")
          }
          column.defaultValue = .sql(try scalarString(fields[0].1, location))
        } else {
          column.defaultValue = .value(try json(value, location))
        }
      default: break
      }
    }
    if case .value(.null)? = column.defaultValue, !column.nullable {
      throw fail(location, "default null needs nullable: true")
    }
    if case .value(let value)? = column.defaultValue, !value.isNull {
      try checkDefault(value, column.type, location)
    }
    return column
  }

  func checkDefault(_ value: JSONValue, _ type: ColumnType, _ location: String) throws {
    let ok: Bool
    switch type {
    case .text: ok = value.stringValue != nil
    case .integer: if case .integer = value { ok = true } else { ok = false }
    case .real: ok = value.doubleValue != nil
    case .boolean: if case .bool = value { ok = true } else { ok = false }
    case .json, .blob: ok = true
    case .datetime, .datetimeInteger: ok = value.stringValue.flatMap(ISODate.parse) != nil
    }
    if !ok { throw fail(location, "default \(value.compactText) does not fit a \(type.rawValue) column") }
  }

  func readClientDocument(_ name: String, _ node: Node) throws -> TableDefinition {
    let location = "client document '\(name)'"
    let entries = try mapping(node, location)
    try checkKeys(entries, allowed: ["value", "default", "partialSet", "description"], location)
    guard let valueNode = entries.first(where: { $0.0 == "value" })?.1 else {
      throw fail(location, "missing 'value' (the type of the document's value)")
    }
    let (valueType, _, _) = try readType(valueNode, "\(location), value")
    var defaultValue: JSONValue = .null
    var defaultID: ClientDocument.DefaultID = .none
    if let defaultNode = entries.first(where: { $0.0 == "default" })?.1 {
      let fields = try mapping(defaultNode, "\(location), default")
      try checkKeys(fields, allowed: ["id", "value"], "\(location), default")
      for (key, value) in fields {
        if key == "id" {
          let id = try scalarString(value, "\(location), default.id")
          defaultID = id == "$sessionId" ? .sessionId : .fixed(id)
        } else {
          defaultValue = try json(value, "\(location), default.value")
        }
      }
    }
    do {
      defaultValue = try valueType.normalize(defaultValue)
    } catch let error as ArgsError {
      throw fail("\(location), default.value", error.description)
    }
    let partialSet = try entries.first(where: { $0.0 == "partialSet" }).map { try bool($0.1, location) } ?? true
    let document = ClientDocument(valueType: valueType, defaultValue: defaultValue, defaultID: defaultID,
                                  partialSet: partialSet)
    return TableDefinition(
      name: name,
      columns: [ColumnDefinition(name: "id", type: .text, primaryKey: true),
                ColumnDefinition(name: "value", type: .json)],
      clientDocument: document)
  }

  func readEvent(_ name: String, _ node: Node) throws -> EventDefinition {
    let location = "event '\(name)'"
    let entries = try mapping(node, location)
    try checkKeys(entries, allowed: ["args", "materializer", "clientOnly", "description"], location)
    var args = ArgType.object([])
    var clientOnly = false
    var statements: [String]? = nil
    for (key, value) in entries {
      switch key {
      case "args":
        let (type, _, _) = try readType(value, "\(location), args")
        guard case .object = type else { throw fail("\(location), args", "args must be a mapping of field names to types") }
        args = type
      case "clientOnly": clientOnly = try bool(value, location)
      case "materializer":
        switch value {
        case .scalar: statements = [try scalarString(value, "\(location), materializer")]
        case .sequence(let list): statements = try list.map { try scalarString($0, "\(location), materializer") }
        default: throw fail("\(location), materializer", "expected SQL text or a list of SQL statements")
        }
      default: break
      }
    }
    guard let statements else {
      throw fail(location, "missing 'materializer' (SQL; use [] for an event that changes no state)")
    }
    if let blank = statements.firstIndex(where: { $0.allSatisfy(\.isWhitespace) }) {
      let which = statements.count == 1 ? "" : "[\(blank)]"
      throw fail("\(location), materializer\(which)", "the SQL is empty (use [] for an event that changes no state)")
    }
    for field in args.fields where SchemaLoader.contextParameters.contains(field.name) {
      throw fail("\(location), field '\(field.name)'", "the name is reserved for the event context")
    }
    return EventDefinition(name: name, clientOnly: clientOnly, derived: false, args: args,
                           materializer: .sql(statements))
  }

  /// A type: `string`, `integer?`, `date[]`, or a mapping (`{type: …, optional, default,
  /// nullable}`, `{literal: [...]}`, `{object: {...}}`, `{array: …}`, or a plain mapping of
  /// field names, which is an object). Returns the type, whether it is optional, and its default.
  func readType(_ node: Node, _ location: String) throws -> (ArgType, Bool, JSONValue?) {
    if case .scalar = node {
      var text = try scalarString(node, location).trimmingCharacters(in: .whitespaces)
      var optional = false
      if text.hasSuffix("?") {
        optional = true
        text.removeLast()
      }
      var arrayDepth = 0
      while text.hasSuffix("[]") {
        arrayDepth += 1
        text.removeLast(2)
      }
      var type = try baseType(text, location)
      for _ in 0..<arrayDepth { type = .array(type) }
      return (type, optional, nil)
    }
    if case .sequence = node {
      throw fail(location, "expected a type name or a mapping, not a list (use {literal: [...]} for a union of values)")
    }
    let entries = try mapping(node, location)
    let typeKeys: Set<String> = ["type", "literal", "object", "array", "fields", "items", "values"]
    let modifierKeys: Set<String> = ["optional", "default", "nullable", "description"]
    guard entries.contains(where: { typeKeys.contains($0.0) }) else {
      // A plain mapping of field names: an object.
      return (try objectType(entries, location), false, nil)
    }
    try checkKeys(entries, allowed: typeKeys.union(modifierKeys), location)
    var type: ArgType
    let value = { (key: String) in entries.first(where: { $0.0 == key })?.1 }
    if let literal = value("literal") ?? value("values") {
      guard case .sequence(let list) = literal, !list.isEmpty else { throw fail(location, "literal needs a non-empty list of values") }
      type = .literal(try list.map { try json($0, location) })
    } else if let object = value("object") ?? value("fields") {
      type = try objectType(try mapping(object, location), location)
    } else if let items = value("array") ?? value("items") {
      type = .array(try readType(items, "\(location)[]").0)
    } else if let typeNode = value("type") {
      let name = try scalarString(typeNode, location)
      switch name {
      case "literal", "object", "array": throw fail(location, "type '\(name)' needs '\(name == "literal" ? "values" : name == "object" ? "fields" : "items")'")
      default: type = try baseType(name, location)
      }
    } else {
      throw fail(location, "missing a type")
    }
    if let nullable = value("nullable"), try bool(nullable, location) { type = .nullable(type) }
    let optional = try value("optional").map { try bool($0, location) } ?? false
    var defaultValue: JSONValue? = nil
    if let defaultNode = value("default") {
      let raw = try json(defaultNode, "\(location), default")
      do {
        defaultValue = try type.normalize(raw)
      } catch let error as ArgsError {
        throw fail("\(location), default", error.description)
      }
    }
    return (type, optional || defaultValue != nil, defaultValue)
  }

  func objectType(_ entries: [(String, Node)], _ location: String) throws -> ArgType {
    var fields: [ArgType.Field] = []
    for (name, node) in entries {
      let (type, optional, defaultValue) = try readType(node, "\(location == "" ? "" : location + ", ")field '\(name)'".replacingOccurrences(of: ", args, field", with: ", field"))
      fields.append(ArgType.Field(name: name, type: type, optional: optional, defaultValue: defaultValue))
    }
    return .object(fields)
  }

  func baseType(_ name: String, _ location: String) throws -> ArgType {
    switch name {
    case "string", "text": return .string
    case "number": return .number
    case "integer", "int": return .integer
    case "boolean", "bool": return .boolean
    case "date", "datetime": return .date
    case "json", "any": return .json
    default:
      throw fail(location, "unknown type '\(name)' (expected string, number, integer, boolean, date, json, or a mapping)")
    }
  }
}
