/// A JSON value that keeps object keys in their original order, as JavaScript does.
///
/// LiveStore stores event args as `JSON.stringify` output, so lstore must parse and
/// re-emit JSON exactly as JavaScript would: key order kept, numbers printed by the
/// ECMAScript rules, strings escaped like `JSON.stringify`. `JSONValue` plus
/// `JSONWriter` do that.
public enum JSONValue: Equatable, Sendable {
  case null
  case bool(Bool)
  /// An integral number that a JavaScript double holds exactly (|v| ≤ 2^53).
  case integer(Int64)
  /// Any other number.
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object(JSONObject)

  public static let maxSafeInteger: Int64 = 9_007_199_254_740_992

  /// A number, kept as `.integer` when JavaScript would hold it exactly.
  public static func number(from value: Double) -> JSONValue {
    if value.rounded(.towardZero) == value, abs(value) <= Double(maxSafeInteger), !(value == 0 && value.sign == .minus) {
      return .integer(Int64(value))
    }
    return .number(value)
  }

  public var objectValue: JSONObject? { if case .object(let o) = self { return o }; return nil }
  public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
  public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
  public var isNull: Bool { if case .null = self { return true }; return false }

  /// The value as a Double, for either number case.
  public var doubleValue: Double? {
    switch self {
    case .integer(let v): return Double(v)
    case .number(let v): return v
    default: return nil
    }
  }

  public subscript(key: String) -> JSONValue? { objectValue?[key] }

  /// A short name of the value's kind, for error messages.
  public var kindName: String {
    switch self {
    case .null: return "null"
    case .bool: return "a boolean"
    case .integer, .number: return "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
  }

  /// Compact JSON, byte-identical to JavaScript's `JSON.stringify`.
  public var compactText: String {
    var writer = JSONWriter()
    writer.write(self)
    return writer.string
  }
}

/// An ordered JSON object. Lookups are linear: event args have a handful of keys.
///
/// Keys keep their insertion order, except that array-index keys ("0" … "4294967294")
/// come first in numeric order: the property order of a JavaScript object, and so of
/// `JSON.stringify`.
public struct JSONObject: Equatable, Sendable, Sequence {
  public private(set) var entries: [(key: String, value: JSONValue)]

  public init(_ entries: [(key: String, value: JSONValue)] = []) {
    self.entries = entries
    if entries.contains(where: { Self.arrayIndex($0.key) != nil }) {
      let indexed = entries.compactMap { entry in Self.arrayIndex(entry.key).map { ($0, entry) } }
        .sorted { $0.0 < $1.0 }.map(\.1)
      self.entries = indexed + entries.filter { Self.arrayIndex($0.key) == nil }
    }
  }

  /// The key's value as a JavaScript array index (a canonical decimal below 2^32 - 1), or nil.
  @inline(__always) static func arrayIndex(_ key: String) -> UInt32? {
    let utf8 = key.utf8
    guard let first = utf8.first, first >= 0x30, first <= 0x39, utf8.count <= 10 else { return nil }
    if first == 0x30 { return utf8.count == 1 ? 0 : nil }
    var value: UInt64 = 0
    for byte in utf8 {
      guard byte >= 0x30, byte <= 0x39 else { return nil }
      value = value * 10 + UInt64(byte - 0x30)
    }
    return value < 4_294_967_295 ? UInt32(value) : nil
  }

  public var count: Int { entries.count }
  public var isEmpty: Bool { entries.isEmpty }
  public var keys: [String] { entries.map(\.key) }

  public subscript(key: String) -> JSONValue? {
    get {
      for entry in entries where entry.key == key { return entry.value }
      return nil
    }
    set {
      if let index = entries.firstIndex(where: { $0.key == key }) {
        if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
      } else if let newValue {
        if let index = Self.arrayIndex(key) {
          let position = entries.firstIndex { Self.arrayIndex($0.key).map { $0 > index } ?? true } ?? entries.count
          entries.insert((key, newValue), at: position)
        } else {
          entries.append((key, newValue))
        }
      }
    }
  }

  public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> { entries.makeIterator() }

  public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
    lhs.entries.count == rhs.entries.count
      && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
  }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
  ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
  public init(stringLiteral value: String) { self = .string(value) }
  public init(integerLiteral value: Int64) { self = .integer(value) }
  public init(floatLiteral value: Double) { self = JSONValue.number(from: value) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
  }
  public init(nilLiteral: ()) { self = .null }
}
