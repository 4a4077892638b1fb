import LStoreKit

/// Finds the `requestId` of a message that cannot be decoded (too deep, a wrong field), so
/// the `WSMessage.Error` answering it carries the id the client waits on. Reads only the
/// top-level object's keys and skips every other value without building it, so no nesting
/// depth or size stops it.
enum RequestIdScanner {
  /// The top-level `requestId` string, or the string `requestId` inside a top-level
  /// `requestId` object (a `PullRes`); nil when there is none or the text is not an object.
  static func scan(_ text: String) -> String? { scanValue(text)?.stringValue }

  /// As `scan`, as a JSON string value: a `.loneSurrogateString` for an id holding a lone
  /// surrogate, which the answer must echo exactly for the client to match it.
  static func scanValue(_ text: String) -> JSONValue? {
    let bytes = Array(text.utf8)
    var index = 0
    return requestId(in: bytes, at: &index, nested: false)
  }

  private static func requestId(in bytes: [UInt8], at index: inout Int, nested: Bool) -> JSONValue? {
    skipSpace(bytes, &index)
    guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
    index += 1
    while true {
      skipSpace(bytes, &index)
      guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
      let keyStart = index
      guard skipString(bytes, &index) else { return nil }
      let key = decodeString(bytes[keyStart..<index])?.stringValue
      skipSpace(bytes, &index)
      guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
      index += 1
      skipSpace(bytes, &index)
      guard index < bytes.count else { return nil }
      if key == "requestId" {
        if bytes[index] == UInt8(ascii: "\"") {
          let start = index
          guard skipString(bytes, &index) else { return nil }
          if let id = decodeString(bytes[start..<index]) { return id }
        } else if bytes[index] == UInt8(ascii: "{"), !nested {
          var inner = index
          if let id = requestId(in: bytes, at: &inner, nested: true) { return id }
        }
      }
      guard skipValue(bytes, &index) else { return nil }
      skipSpace(bytes, &index)
      guard index < bytes.count, bytes[index] == UInt8(ascii: ",") else { return nil }
      index += 1
    }
  }

  private static func decodeString(_ token: ArraySlice<UInt8>) -> JSONValue? {
    guard let value = try? JSONParser.parse(String(decoding: token, as: UTF8.self)), value.isString else { return nil }
    return value
  }

  private static func skipSpace(_ bytes: [UInt8], _ index: inout Int) {
    while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
  }

  /// Skips a string token starting at its quote; false when it never ends.
  private static func skipString(_ bytes: [UInt8], _ index: inout Int) -> Bool {
    index += 1
    while index < bytes.count {
      switch bytes[index] {
      case UInt8(ascii: "\\"): index += 2
      case UInt8(ascii: "\""): index += 1; return true
      default: index += 1
      }
    }
    return false
  }

  /// Skips one value of any depth (iteratively, counting brackets outside strings).
  private static func skipValue(_ bytes: [UInt8], _ index: inout Int) -> Bool {
    var depth = 0
    while index < bytes.count {
      let byte = bytes[index]
      switch byte {
      case UInt8(ascii: "\""):
        guard skipString(bytes, &index) else { return false }
        if depth == 0 { return true }
        continue
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        depth += 1
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        if depth == 0 { return true }  // the end of the enclosing object: a scalar ended
        depth -= 1
        if depth == 0 { index += 1; return true }
      case UInt8(ascii: ","):
        if depth == 0 { return true }
      default:
        break
      }
      index += 1
    }
    return depth == 0
  }
}
