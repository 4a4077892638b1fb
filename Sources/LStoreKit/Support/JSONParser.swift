/// A JSON syntax error with the byte offset where it was found.
public struct JSONSyntaxError: Error, CustomStringConvertible, Sendable {
  public let offset: Int
  public let reason: String
  public var description: String { "invalid JSON at byte \(offset + 1): \(reason)" }
}

/// A strict JSON parser (RFC 8259) over UTF-8 bytes.
///
/// Hand-written because it sits on the hot path of import and materialize, where
/// Foundation's parser and its `Any` boxes cost several times more per event.
public struct JSONParser {
  /// Parses one JSON document; trailing non-whitespace is an error.
  public static func parse(_ text: String) throws -> JSONValue {
    var text = text
    return try text.withUTF8 { try parse($0) }
  }

  public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
    var parser = JSONParser(bytes: bytes)
    parser.skipWhitespace()
    let value = try parser.parseValue(depth: 0)
    parser.skipWhitespace()
    guard parser.position == bytes.count else { throw parser.error("unexpected text after the JSON value") }
    return value
  }

  /// Parses the one JSON value that starts exactly at `offset` (no whitespace skipped)
  /// and returns it with the offset just past it. `depth` is the nesting the value sits
  /// at, for the same depth limit as a whole document.
  public static func parseValue(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int, depth: Int = 0) throws -> (JSONValue, Int) {
    var parser = JSONParser(bytes: bytes)
    parser.position = offset
    let value = try parser.parseValue(depth: depth)
    return (value, parser.position)
  }

  public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
    try bytes.withUnsafeBufferPointer { try parse($0) }
  }

  private let bytes: UnsafeBufferPointer<UInt8>
  private var position = 0
  /// The deepest nesting any document may have (see `EventLimits.maxArgsDepth` for args).
  public static let maxDepth = 512

  private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

  private func error(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(offset: position, reason: reason) }

  @inline(__always) private mutating func skipWhitespace() {
    while position < bytes.count {
      switch bytes[position] {
      case 0x20, 0x0A, 0x0D, 0x09: position += 1
      default: return
      }
    }
  }

  private mutating func parseValue(depth: Int) throws -> JSONValue {
    guard position < bytes.count else { throw error("unexpected end of input") }
    guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth) levels") }
    switch bytes[position] {
    case UInt8(ascii: "{"): return try parseObject(depth: depth)
    case UInt8(ascii: "["): return try parseArray(depth: depth)
    case UInt8(ascii: "\""):
      let (text, units) = try parseString()
      if let units { return .loneSurrogateString(units) }
      return .string(text)
    case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
    case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
    case UInt8(ascii: "n"): try expectLiteral("null"); return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
    default: throw error("unexpected character '\(Character(Unicode.Scalar(bytes[position])))'")
    }
  }

  private mutating func expectLiteral(_ literal: StaticString) throws {
    let count = literal.utf8CodeUnitCount
    guard position + count <= bytes.count else { throw error("unexpected end of input") }
    let start = literal.utf8Start
    for i in 0..<count where bytes[position + i] != start[i] { throw error("invalid literal") }
    position += count
  }

  private mutating func parseObject(depth: Int) throws -> JSONValue {
    position += 1
    var entries: [(key: String, value: JSONValue)] = []
    // Allocated at the first key holding a lone surrogate: one slot per entry.
    var loneSurrogateKeys: [[UInt16]?]? = nil
    skipWhitespace()
    if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
      position += 1
      return .object(JSONObject(entries))
    }
    entries.reserveCapacity(8)
    while true {
      skipWhitespace()
      guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a string key") }
      let (key, keyUnits) = try parseString()
      skipWhitespace()
      guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':'") }
      position += 1
      skipWhitespace()
      let value = try parseValue(depth: depth + 1)
      // JSON.parse keeps the first position of a repeated key and its last value.
      // Keys are compared exactly: two lone surrogates are different keys, though both show
      // as U+FFFD.
      let existing = loneSurrogateKeys == nil && keyUnits == nil
        ? entries.firstIndex { $0.key == key }
        : entries.indices.first { entries[$0].key == key && (loneSurrogateKeys?[$0] ?? nil) == keyUnits }
      if let existing {
        entries[existing].value = value
      } else {
        if keyUnits != nil, loneSurrogateKeys == nil {
          loneSurrogateKeys = Array(repeating: nil, count: entries.count)
        }
        entries.append((key, value))
        loneSurrogateKeys?.append(keyUnits)
      }
      skipWhitespace()
      guard position < bytes.count else { throw error("unexpected end of input in an object") }
      if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
      if bytes[position] == UInt8(ascii: "}") {
        position += 1
        return .object(JSONObject(entries, loneSurrogateKeys: loneSurrogateKeys))
      }
      throw error("expected ',' or '}'")
    }
  }

  private mutating func parseArray(depth: Int) throws -> JSONValue {
    position += 1
    var elements: [JSONValue] = []
    skipWhitespace()
    if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
      position += 1
      return .array(elements)
    }
    while true {
      skipWhitespace()
      elements.append(try parseValue(depth: depth + 1))
      skipWhitespace()
      guard position < bytes.count else { throw error("unexpected end of input in an array") }
      if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
      if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
      throw error("expected ',' or ']'")
    }
  }

  /// Parses a string. Its text, and when it holds a lone surrogate (an escape such as
  /// `\ud800` that no valid pair completes, which `JSON.stringify` writes for one) also
  /// its exact UTF-16 code units: the text then has U+FFFD in place of each lone surrogate.
  private mutating func parseString() throws -> (String, [UInt16]?) {
    position += 1
    let start = position
    // Fast path: no escapes.
    var ascii = true
    while position < bytes.count {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
        position += 1
        // ASCII needs no validation; `String(decoding:)` takes its fast path for it.
        if ascii { return (String(decoding: slice, as: UTF8.self), nil) }
        return (try Self.validatedString(slice, offset: start), nil)
      }
      if byte == UInt8(ascii: "\\") { break }
      if byte < 0x20 { throw error("a control character must be escaped inside a string") }
      if byte >= 0x80 { ascii = false }
      position += 1
    }
    var buffer = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
    // Each lone surrogate: where its U+FFFD stand-in starts in `buffer`, and its code unit.
    var loneSurrogates: [(offset: Int, unit: UInt16)] = []
    while position < bytes.count {
      let byte = bytes[position]
      switch byte {
      case UInt8(ascii: "\""):
        position += 1
        let text = try buffer.withUnsafeBufferPointer { try Self.validatedString($0, offset: start) }
        if loneSurrogates.isEmpty { return (text, nil) }
        return (text, Self.utf16(text, replacing: loneSurrogates))
      case UInt8(ascii: "\\"):
        position += 1
        guard position < bytes.count else { throw error("unexpected end of input in a string") }
        let escape = bytes[position]
        position += 1
        switch escape {
        case UInt8(ascii: "\""): buffer.append(0x22)
        case UInt8(ascii: "\\"): buffer.append(0x5C)
        case UInt8(ascii: "/"): buffer.append(0x2F)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try parseHex4()
          if (0xD800..<0xDC00).contains(scalar), position + 6 <= bytes.count,
            bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
          {
            let save = position
            position += 2
            let low = try parseHex4()
            if (0xDC00..<0xE000).contains(low) {
              scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else {
              position = save
            }
          }
          if let unicode = Unicode.Scalar(scalar) {
            buffer.append(contentsOf: UTF8.encode(unicode)!)
          } else {
            // A lone surrogate cannot live in a Swift string: the text gets U+FFFD (so the
            // UTF-8 check of the whole buffer stays as it is) and the code unit is recorded.
            loneSurrogates.append((buffer.count, UInt16(scalar)))
            buffer.append(contentsOf: [0xEF, 0xBF, 0xBD])
          }
        default:
          throw JSONSyntaxError(offset: position - 1, reason: "invalid escape sequence")
        }
      default:
        if byte < 0x20 { throw error("a control character must be escaped inside a string") }
        buffer.append(byte)
        position += 1
      }
    }
    throw error("unterminated string")
  }

  /// The UTF-16 code units of `text` with the U+FFFD at each recorded UTF-8 offset
  /// replaced by its lone surrogate.
  private static func utf16(_ text: String, replacing loneSurrogates: [(offset: Int, unit: UInt16)]) -> [UInt16] {
    var units: [UInt16] = []
    units.reserveCapacity(text.utf16.count)
    var offset = 0
    var next = 0
    for scalar in text.unicodeScalars {
      if next < loneSurrogates.count, loneSurrogates[next].offset == offset {
        units.append(loneSurrogates[next].unit)
        next += 1
      } else {
        units.append(contentsOf: UTF16.encode(scalar)!)
      }
      offset += UTF8.width(scalar)
    }
    return units
  }

  /// The bytes as a String, or an error when they are not valid UTF-8. Repairing decoding
  /// changes the bytes exactly when they are invalid, which is cheaper to check than the
  /// generic `String(validating:as:)`.
  private static func validatedString(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int) throws -> String {
    let string = String(decoding: bytes, as: UTF8.self)
    guard string.utf8.elementsEqual(bytes) else {
      throw JSONSyntaxError(offset: offset, reason: "a string is not valid UTF-8")
    }
    return string
  }

  private mutating func parseHex4() throws -> UInt32 {
    guard position + 4 <= bytes.count else { throw error("unexpected end of input in \\u escape") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let byte = bytes[position]
      let digit: UInt32
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
      default: throw error("invalid hex digit in \\u escape")
      }
      value = value << 4 | digit
      position += 1
    }
    return value
  }

  private mutating func parseNumber() throws -> JSONValue {
    let start = position
    var negative = false
    if bytes[position] == UInt8(ascii: "-") {
      negative = true
      position += 1
    }
    guard position < bytes.count, isDigit(bytes[position]) else { throw error("invalid number") }
    var integer: Int64 = 0
    var overflow = false
    if bytes[position] == UInt8(ascii: "0") {
      position += 1
      if position < bytes.count, isDigit(bytes[position]) { throw error("leading zeros are not allowed") }
    } else {
      while position < bytes.count, isDigit(bytes[position]) {
        let (m, o1) = integer.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(Int64(bytes[position] - UInt8(ascii: "0")))
        overflow = overflow || o1 || o2
        integer = a
        position += 1
      }
    }
    var isIntegral = true
    if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
      isIntegral = false
      position += 1
      guard position < bytes.count, isDigit(bytes[position]) else { throw error("expected a digit after '.'") }
      while position < bytes.count, isDigit(bytes[position]) { position += 1 }
    }
    if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
      isIntegral = false
      position += 1
      if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
        position += 1
      }
      guard position < bytes.count, isDigit(bytes[position]) else { throw error("expected a digit in the exponent") }
      while position < bytes.count, isDigit(bytes[position]) { position += 1 }
    }
    if isIntegral, !overflow, integer <= JSONValue.maxSafeInteger {
      if negative && integer == 0 { return .number(-0.0) }
      return .integer(negative ? -integer : integer)
    }
    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    guard let double = Double(text), double.isFinite else {
      throw JSONSyntaxError(offset: start, reason: "number out of range")
    }
    return JSONValue.number(from: double)
  }

  @inline(__always) private func isDigit(_ byte: UInt8) -> Bool {
    byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
  }
}

extension JSONParser {
  /// Whether `bytes` is one JSON value with no whitespace outside its strings (so no raw
  /// control character anywhere) that `parse` accepts: text that can be copied as it is
  /// into compact, one-line JSON output.
  ///
  /// The check a verbatim copy needs, at a fraction of `parse`'s cost: it builds nothing and
  /// allocates nothing, which keeps `export` at its speed (a full parse of every event's args
  /// would cost about as much as the rest of an exported line). It is conservative: false
  /// also for some valid compact text it does not bother to decide (an exponent, which could
  /// overflow a Double; nesting deeper than 63 levels), which then goes to `parse` like text
  /// that is not compact, so a false costs time, never correctness.
  public static func isCompact(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let base = bytes.baseAddress, !bytes.isEmpty else { return false }
    var scan = CompactScan(bytes: base, count: bytes.count)
    return scan.value()
  }
}

/// `JSONParser.isCompact`'s scan: a pointer and a position, with no bounds checks of its
/// own beyond the ones it makes (the check runs on every exported event).
private struct CompactScan {
  let bytes: UnsafePointer<UInt8>
  let count: Int
  var i = 0

  init(bytes: UnsafePointer<UInt8>, count: Int) {
    self.bytes = bytes
    self.count = count
  }

  /// The whole text, from `i` = 0: one value and nothing after it.
  mutating func value() -> Bool {
    // One bit per open container, the innermost lowest: 1 for an object, 0 for an array.
    var containers: UInt64 = 0
    var depth = 0
    while true {
      // A value starts at `i`.
      guard i < count else { return false }
      switch bytes[i] {
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        let isObject = bytes[i] == UInt8(ascii: "{")
        guard depth < 63 else { return false }
        depth += 1
        containers = containers << 1 | (isObject ? 1 : 0)
        i += 1
        if i < count, bytes[i] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
          i += 1
          depth -= 1
          containers >>= 1
        } else if isObject {
          guard key() else { return false }
          continue
        } else {
          continue
        }
      case UInt8(ascii: "\""): guard string() else { return false }
      case UInt8(ascii: "t"): guard literal("true") else { return false }
      case UInt8(ascii: "f"): guard literal("false") else { return false }
      case UInt8(ascii: "n"): guard literal("null") else { return false }
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): guard number() else { return false }
      default: return false
      }
      // After a value: the end of the text, or a comma or the close of the container it is in.
      while true {
        if depth == 0 { return i == count }
        guard i < count else { return false }
        let inObject = containers & 1 == 1
        if bytes[i] == UInt8(ascii: ",") {
          i += 1
          if inObject { guard key() else { return false } }
          break
        }
        guard bytes[i] == (inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else { return false }
        i += 1
        depth -= 1
        containers >>= 1
      }
    }
  }

  @inline(__always) private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
  @inline(__always) private func isContinuation(_ at: Int) -> Bool { at < count && bytes[at] & 0xC0 == 0x80 }
  @inline(__always) private func inRange(_ at: Int, _ low: UInt8, _ high: UInt8) -> Bool {
    at < count && bytes[at] >= low && bytes[at] <= high
  }

  /// A key and its colon, after `{` or a comma.
  private mutating func key() -> Bool {
    guard i < count, bytes[i] == UInt8(ascii: "\""), string(), i < count, bytes[i] == UInt8(ascii: ":") else { return false }
    i += 1
    return true
  }

  /// A string from its opening quote to just past its closing one: valid escapes, no raw
  /// control character, valid UTF-8 (as `parse` requires).
  private mutating func string() -> Bool {
    i += 1
    while i < count {
      let byte = bytes[i]
      // Most bytes: printable ASCII other than the quote and the backslash.
      if byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
        i += 1
        continue
      }
      switch byte {
      case UInt8(ascii: "\""):
        i += 1
        return true
      case UInt8(ascii: "\\"):
        guard i + 1 < count else { return false }
        switch bytes[i + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
          i += 2
        case UInt8(ascii: "u"):
          // Any four hex digits: `parse` takes lone surrogates too.
          guard i + 6 <= count else { return false }
          for k in (i + 2)..<(i + 6) where !Self.isHexDigit(bytes[k]) { return false }
          i += 6
        default: return false
        }
      case 0x00..<0x20: return false
      // UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
      case 0xC2...0xDF:
        guard isContinuation(i + 1) else { return false }
        i += 2
      case 0xE0:
        guard inRange(i + 1, 0xA0, 0xBF), isContinuation(i + 2) else { return false }
        i += 3
      case 0xED:
        guard inRange(i + 1, 0x80, 0x9F), isContinuation(i + 2) else { return false }
        i += 3
      case 0xE1...0xEF:
        guard isContinuation(i + 1), isContinuation(i + 2) else { return false }
        i += 3
      case 0xF0:
        guard inRange(i + 1, 0x90, 0xBF), isContinuation(i + 2), isContinuation(i + 3) else { return false }
        i += 4
      case 0xF1...0xF3:
        guard isContinuation(i + 1), isContinuation(i + 2), isContinuation(i + 3) else { return false }
        i += 4
      case 0xF4:
        guard inRange(i + 1, 0x80, 0x8F), isContinuation(i + 2), isContinuation(i + 3) else { return false }
        i += 4
      default: return false
      }
    }
    return false
  }

  /// A number without an exponent, in RFC 8259's grammar. Fewer than 300 digits before the
  /// point, so that it is a finite Double, as `parse` requires.
  private mutating func number() -> Bool {
    if bytes[i] == UInt8(ascii: "-") { i += 1 }
    guard i < count, isDigit(bytes[i]) else { return false }
    if bytes[i] == UInt8(ascii: "0") {
      i += 1
    } else {
      let start = i
      while i < count, isDigit(bytes[i]) { i += 1 }
      guard i - start < 300 else { return false }
    }
    if i < count, bytes[i] == UInt8(ascii: ".") {
      i += 1
      guard i < count, isDigit(bytes[i]) else { return false }
      while i < count, isDigit(bytes[i]) { i += 1 }
    }
    return i == count || (bytes[i] != UInt8(ascii: "e") && bytes[i] != UInt8(ascii: "E") && !isDigit(bytes[i]))
  }

  private mutating func literal(_ text: StaticString) -> Bool {
    let n = text.utf8CodeUnitCount
    guard i + n <= count else { return false }
    for k in 0..<n where bytes[i + k] != text.utf8Start[k] { return false }
    i += n
    return true
  }

  private static func isHexDigit(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
  }
}
