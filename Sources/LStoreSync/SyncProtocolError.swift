import LStoreKit

/// A message that is not valid JSON or not a valid `WSMessage.*` shape.
public struct SyncProtocolError: Error, CustomStringConvertible, Sendable, Equatable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Typed access to the fields of a JSON object, with errors that name the field.
struct JSONFields {
  let object: JSONObject
  let what: String

  init(_ value: JSONValue, what: String) throws {
    guard let object = value.objectValue else { throw SyncProtocolError("\(what) must be an object, got \(value.kindName)") }
    self.object = object
    self.what = what
  }

  func raw(_ key: String) -> JSONValue? { object[key] }

  func required(_ key: String) throws -> JSONValue {
    guard let value = object[key] else { throw SyncProtocolError("\(what) is missing \"\(key)\"") }
    return value
  }

  func string(_ key: String) throws -> String {
    let value = try required(key)
    guard let string = value.stringValue else {
      // Only args are kept exactly with a lone surrogate (an app's data); an id or an event
      // name with one is refused rather than changed.
      if case .loneSurrogateString = value {
        throw SyncProtocolError("\(what).\(key) holds a lone surrogate (only args may)")
      }
      throw SyncProtocolError("\(what).\(key) must be a string, got \(value.kindName)")
    }
    return string
  }

  func integer(_ key: String) throws -> Int64 {
    let value = try required(key)
    guard let number = Self.integer(value) else {
      throw SyncProtocolError("\(what).\(key) must be an integer, got \(value.kindName)")
    }
    return number
  }

  func optionalInteger(_ key: String) throws -> Int64? {
    guard let value = object[key] else { return nil }
    guard let number = Self.integer(value) else {
      throw SyncProtocolError("\(what).\(key) must be an integer, got \(value.kindName)")
    }
    return number
  }

  func array(_ key: String) throws -> [JSONValue] {
    let value = try required(key)
    guard let array = value.arrayValue else {
      throw SyncProtocolError("\(what).\(key) must be an array, got \(value.kindName)")
    }
    return array
  }

  static func integer(_ value: JSONValue) -> Int64? {
    switch value {
    case .integer(let v): return v
    case .number(let d) where d.rounded(.towardZero) == d && abs(d) <= Double(JSONValue.maxSafeInteger): return Int64(d)
    default: return nil
    }
  }
}
