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
  /// A string that JavaScript can hold but a Swift `String` cannot: its UTF-16 code units,
  /// holding at least one lone surrogate (a high surrogate without its low one, or a low one
  /// alone). `JSON.stringify` keeps such a surrogate as an escape (`"\ud800"`), so an app's
  /// args can carry one; it is kept exactly (and written back as that escape) so that no
  /// event is altered on its way through lstore. Build it with `string(utf16:)`, which
  /// gives `.string` for anything a `String` holds: the two cases never mean the same text.
  case loneSurrogateString([UInt16])
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

  /// A string from its UTF-16 code units: `.string` when they are valid UTF-16,
  /// `.loneSurrogateString` when they hold a lone surrogate.
  public static func string(utf16 units: [UInt16]) -> JSONValue {
    if let text = JSONUTF16.validString(units) { return .string(text) }
    return .loneSurrogateString(units)
  }

  public var objectValue: JSONObject? { if case .object(let o) = self { return o }; return nil }
  /// The string, or nil (also for a `.loneSurrogateString`, which no `String` holds exactly:
  /// see `repairedStringValue`).
  public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
  /// Whether the value is a string of either kind.
  public var isString: Bool {
    switch self {
    case .string, .loneSurrogateString: return true
    default: return false
    }
  }
  /// The string with each lone surrogate replaced by U+FFFD, for what can only hold valid
  /// Unicode (a SQLite TEXT value, a terminal); nil when the value is not a string.
  public var repairedStringValue: String? {
    switch self {
    case .string(let s): return s
    case .loneSurrogateString(let units): return JSONUTF16.repaired(units)
    default: return nil
    }
  }
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
    case .loneSurrogateString: return "a string with a lone surrogate"
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
///
/// A key holding a lone surrogate (see `JSONValue.loneSurrogateString`) is kept exactly:
/// its entry's `key` is the text with U+FFFD in place of each lone surrogate (for messages),
/// and `loneSurrogateKey(at:)` gives its exact UTF-16 code units. Such a key never matches a
/// `String` lookup, as no `String` is equal to it.
public struct JSONObject: Equatable, Sendable, Sequence {
  public private(set) var entries: [(key: String, value: JSONValue)]
  /// For each entry, the UTF-16 code units of its key when the key holds a lone surrogate;
  /// nil (no array at all) for nearly every object.
  private var loneSurrogateKeys: [[UInt16]?]?

  public init(_ entries: [(key: String, value: JSONValue)] = []) {
    self.init(entries, loneSurrogateKeys: nil)
  }

  /// An object whose keys are given as UTF-16 code units where they hold a lone surrogate:
  /// `loneSurrogateKeys[i]` is entry i's key, or nil when `entries[i].key` is the key.
  public init(_ entries: [(key: String, value: JSONValue)], loneSurrogateKeys: [[UInt16]?]?) {
    precondition(loneSurrogateKeys.map { $0.count == entries.count } ?? true, "one lone-surrogate slot per entry")
    self.entries = entries
    self.loneSurrogateKeys = loneSurrogateKeys?.contains(where: { $0 != nil }) == true ? loneSurrogateKeys : nil
    if entries.contains(where: { Self.arrayIndex($0.key) != nil }) {
      // Array-index keys are ASCII digits, so never a lone-surrogate key.
      let order = entries.indices.filter { Self.arrayIndex(entries[$0].key) != nil }
        .sorted { Self.arrayIndex(entries[$0].key)! < Self.arrayIndex(entries[$1].key)! }
        + entries.indices.filter { Self.arrayIndex(entries[$0].key) == nil }
      self.entries = order.map { entries[$0] }
      if let keys = self.loneSurrogateKeys { self.loneSurrogateKeys = order.map { keys[$0] } }
    }
  }

  /// The key of entry `index` as UTF-16 code units when it holds a lone surrogate, else nil.
  @inline(__always) public func loneSurrogateKey(at index: Int) -> [UInt16]? { loneSurrogateKeys?[index] }

  /// Whether any key holds a lone surrogate.
  public var hasLoneSurrogateKeys: Bool { loneSurrogateKeys != nil }

  /// The key of entry `index` as a JSON string value (`.loneSurrogateString` when it holds
  /// a lone surrogate).
  public func keyValue(at index: Int) -> JSONValue {
    if let units = loneSurrogateKey(at: index) { return .loneSurrogateString(units) }
    return .string(entries[index].key)
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
  /// The keys, with U+FFFD for each lone surrogate of a key that holds one.
  public var keys: [String] { entries.map(\.key) }

  /// The index of the entry whose key is exactly `key` (never a lone-surrogate key).
  @inline(__always) private func index(of key: String) -> Int? {
    guard let loneSurrogateKeys else { return entries.firstIndex { $0.key == key } }
    return entries.indices.first { entries[$0].key == key && loneSurrogateKeys[$0] == nil }
  }

  public subscript(key: String) -> JSONValue? {
    get {
      if loneSurrogateKeys == nil {
        for entry in entries where entry.key == key { return entry.value }
        return nil
      }
      return index(of: key).map { entries[$0].value }
    }
    set {
      if let index = index(of: key) {
        if let newValue {
          entries[index].value = newValue
        } else {
          entries.remove(at: index)
          loneSurrogateKeys?.remove(at: index)
          if loneSurrogateKeys?.contains(where: { $0 != nil }) == false { loneSurrogateKeys = nil }
        }
      } else if let newValue {
        if let index = Self.arrayIndex(key) {
          let position = entries.firstIndex { Self.arrayIndex($0.key).map { $0 > index } ?? true } ?? entries.count
          entries.insert((key, newValue), at: position)
          loneSurrogateKeys?.insert(nil, at: position)
        } else {
          entries.append((key, newValue))
          loneSurrogateKeys?.append(nil)
        }
      }
    }
  }

  /// The same object with the entry of `key` first after the array-index keys (which always
  /// come first), every key kept exactly.
  public func movingToFront(_ key: String) -> JSONObject {
    guard let index = index(of: key), index > 0 else { return self }
    let order = [index] + entries.indices.filter { $0 != index }
    return JSONObject(order.map { entries[$0] }, loneSurrogateKeys: loneSurrogateKeys.map { keys in order.map { keys[$0] } })
  }

  public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> { entries.makeIterator() }

  public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
    lhs.entries.count == rhs.entries.count && lhs.loneSurrogateKeys == rhs.loneSurrogateKeys
      && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
  }
}

/// UTF-16 helpers for strings that may hold lone surrogates.
public enum JSONUTF16 {
  /// The code units as a String when they are valid UTF-16 (no lone surrogate), else nil.
  public static func validString(_ units: [UInt16]) -> String? {
    guard units.contains(where: { $0 & 0xF800 == 0xD800 }) else { return String(decoding: units, as: UTF16.self) }
    let text = String(decoding: units, as: UTF16.self)
    return text.utf16.elementsEqual(units) ? text : nil
  }

  /// The code units as a String, each lone surrogate replaced by U+FFFD.
  public static func repaired(_ units: [UInt16]) -> String { String(decoding: units, as: UTF16.self) }
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
