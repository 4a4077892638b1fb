/// The type of an event argument (or of a client document's value).
public indirect enum ArgType: Equatable, Sendable {
  case string
  case number
  case integer
  case boolean
  /// An ISO-8601 date, stored as JavaScript's `toISOString()` form.
  case date
  /// Any JSON value.
  case json
  /// One of the listed values (LiveStore's `Schema.Literal` unions).
  case literal([JSONValue])
  case object([Field])
  case array(ArgType)
  case nullable(ArgType)

  public struct Field: Equatable, Sendable {
    public var name: String
    public var type: ArgType
    public var optional: Bool
    /// Filled in when the field is absent (LiveStore's `optionalWith({default})`).
    public var defaultValue: JSONValue?

    public init(name: String, type: ArgType, optional: Bool = false, defaultValue: JSONValue? = nil) {
      self.name = name
      self.type = type
      self.optional = optional
      self.defaultValue = defaultValue
    }
  }

  public var fields: [Field] {
    if case .object(let fields) = self { return fields }
    return []
  }

  /// A JSON description of the type: what the event schema hash is computed over.
  public var descriptor: JSONValue {
    switch self {
    case .string: return "string"
    case .number: return "number"
    case .integer: return "integer"
    case .boolean: return "boolean"
    case .date: return "date"
    case .json: return "json"
    case .literal(let values): return ["literal": .array(values)]
    case .array(let item): return ["array": item.descriptor]
    case .nullable(let inner): return ["nullable": inner.descriptor]
    case .object(let fields):
      var object = JSONObject()
      for field in fields {
        var entry = JSONObject([("type", field.type.descriptor)])
        if field.optional { entry["optional"] = .bool(true) }
        if let value = field.defaultValue { entry["default"] = value }
        object[field.name] = .object(entry)
      }
      return ["object": .object(object)]
    }
  }

  /// Human name used in error messages.
  public var displayName: String {
    switch self {
    case .string: return "a string"
    case .number: return "a number"
    case .integer: return "an integer"
    case .boolean: return "a boolean"
    case .date: return "an ISO-8601 date string"
    case .json: return "JSON"
    case .literal(let values): return "one of " + values.map(\.compactText).joined(separator: ", ")
    case .object: return "an object"
    case .array(let item): return "an array of \(item.displayName.droppingArticle)"
    case .nullable(let inner): return "\(inner.displayName) or null"
    }
  }
}

extension String {
  var droppingArticle: String {
    if hasPrefix("an ") { return String(dropFirst(3)) }
    if hasPrefix("a ") { return String(dropFirst(2)) }
    return self
  }
}
