/// Why an event's args do not match its definition.
public struct ArgsError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Where in the args: `text`, `value.filter`, `ids[2]`.
  public var path: String
  public var reason: String

  public var description: String { path.isEmpty ? reason : "field '\(path)': \(reason)" }
}

extension ArgType {
  /// Checks `value` against the type and returns it in its stored (encoded) form: object
  /// keys in declaration order, defaults filled in, dates in `toISOString` form.
  /// Unknown keys, missing required fields and wrong types are errors.
  /// Args over `EventLimits` (depth, size) are refused whatever the type says.
  public func normalize(_ value: JSONValue, path: String = "") throws -> JSONValue {
    if path.isEmpty, let violation = EventLimits.violation(args: value) { throw ArgsError(path: "", reason: violation) }
    return try normalizeChecked(value, path: path)
  }

  private func normalizeChecked(_ value: JSONValue, path: String) throws -> JSONValue {
    switch self {
    case .string:
      // A string with a lone surrogate is a string to JavaScript, and is kept exactly.
      guard value.isString else { throw mismatch(value, path) }
      return value
    case .number:
      switch value {
      case .integer, .number: return value
      default: throw mismatch(value, path)
      }
    case .integer:
      switch value {
      case .integer: return value
      case .number(let d) where d.rounded(.towardZero) == d: return value
      default: throw mismatch(value, path)
      }
    case .boolean:
      guard case .bool = value else { throw mismatch(value, path) }
      return value
    case .date:
      if case .loneSurrogateString = value {
        throw ArgsError(path: path, reason: "'\(value.repairedStringValue ?? "")' (with a lone surrogate) is not an ISO-8601 date")
      }
      guard case .string(let text) = value else { throw mismatch(value, path) }
      guard let millis = ISODate.parse(text) else {
        throw ArgsError(path: path, reason: "'\(text)' is not an ISO-8601 date")
      }
      return .string(ISODate.format(millis: millis))
    case .json:
      return value
    case .literal(let values):
      guard values.contains(value) else {
        throw ArgsError(path: path, reason: "expected \(displayName), got \(value.compactText)")
      }
      return value
    case .nullable(let inner):
      if value.isNull { return .null }
      do {
        return try inner.normalize(value, path: path)
      } catch let error as ArgsError where error.path == path && error.reason.hasPrefix("expected ") {
        throw ArgsError(path: path, reason: "expected \(displayName), got \(value.kindName)")
      }
    case .array(let item):
      guard case .array(let elements) = value else { throw mismatch(value, path) }
      return .array(try elements.enumerated().map { try item.normalize($1, path: "\(path)[\($0)]") })
    case .object(let fields):
      guard case .object(let object) = value else { throw mismatch(value, path) }
      // Already in stored form, as every event lstore or LiveStore wrote is: each declared
      // field in order, none missing, of a type whose values are their own stored form.
      // Checked in place, without building the object again (the common case of a replay).
      if object.count == fields.count, !object.hasLoneSurrogateKeys,
         fields.indices.allSatisfy({ fields[$0].type.keepsValues && object.entries[$0].key == fields[$0].name })
      {
        for (index, field) in fields.enumerated() {
          _ = try field.type.normalizeChecked(object.entries[index].value, path: join(path, field.name))
        }
        return value
      }
      // A key holding a lone surrogate is never a declared field name (no String equals it).
      for (index, key) in object.keys.enumerated()
      where object.loneSurrogateKey(at: index) != nil || !fields.contains(where: { $0.name == key }) {
        let allowed = fields.map(\.name).joined(separator: ", ")
        throw ArgsError(path: join(path, key), reason: "unknown field (expected \(allowed.isEmpty ? "no fields" : allowed))")
      }
      var result = JSONObject()
      for field in fields {
        let fieldPath = join(path, field.name)
        if let given = object[field.name] {
          result[field.name] = try field.type.normalize(given, path: fieldPath)
        } else if let defaultValue = field.defaultValue {
          result[field.name] = defaultValue
        } else if !field.optional {
          throw ArgsError(path: fieldPath, reason: "missing required field (\(field.type.displayName))")
        }
      }
      return .object(result)
    }
  }

  /// Whether `normalize` returns every value it accepts unchanged.
  var keepsValues: Bool {
    switch self {
    case .string, .number, .integer, .boolean, .json, .literal: return true
    case .nullable(let inner), .array(let inner): return inner.keepsValues
    case .date, .object: return false
    }
  }

  private func mismatch(_ value: JSONValue, _ path: String) -> ArgsError {
    ArgsError(path: path, reason: "expected \(displayName), got \(value.kindName)")
  }

  private func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

  /// The type with every field made optional (LiveStore's `Schema.partial`), used for
  /// partial client-document sets.
  public var partial: ArgType {
    guard case .object(let fields) = self else { return self }
    return .object(fields.map { ArgType.Field(name: $0.name, type: $0.type, optional: true, defaultValue: nil) })
  }
}
