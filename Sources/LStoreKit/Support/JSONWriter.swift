/// Writes JSON exactly as JavaScript's `JSON.stringify` does (no whitespace).
public struct JSONWriter {
  public var bytes: [UInt8] = []

  public init(reservingCapacity capacity: Int = 256) { bytes.reserveCapacity(capacity) }

  public var string: String { String(decoding: bytes, as: UTF8.self) }

  public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

  public mutating func write(_ value: JSONValue) {
    switch value {
    case .null: appendASCII("null")
    case .bool(let b): appendASCII(b ? "true" : "false")
    case .integer(let v): writeInteger(v)
    case .number(let v): writeNumber(v)
    case .string(let s): writeString(s)
    case .loneSurrogateString(let units): writeString(utf16: units)
    case .array(let elements):
      bytes.append(UInt8(ascii: "["))
      for (i, element) in elements.enumerated() {
        if i > 0 { bytes.append(UInt8(ascii: ",")) }
        write(element)
      }
      bytes.append(UInt8(ascii: "]"))
    case .object(let object):
      bytes.append(UInt8(ascii: "{"))
      for (i, entry) in object.entries.enumerated() {
        if i > 0 { bytes.append(UInt8(ascii: ",")) }
        if let units = object.loneSurrogateKey(at: i) { writeString(utf16: units) } else { writeString(entry.key) }
        bytes.append(UInt8(ascii: ":"))
        write(entry.value)
      }
      bytes.append(UInt8(ascii: "}"))
    }
  }

  /// Appends bytes that are already valid JSON (a stored `argsJson`, say).
  public mutating func writeRaw(_ raw: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: raw) }

  public mutating func writeRaw(_ raw: String) { bytes.append(contentsOf: raw.utf8) }

  public mutating func appendASCII(_ text: StaticString) {
    bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
  }

  public mutating func writeInteger(_ value: Int64) {
    if value == 0 { bytes.append(UInt8(ascii: "0")); return }
    var magnitude = value.magnitude
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                 UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
      (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    withUnsafeMutableBytes(of: &digits) { buffer in
      while magnitude > 0 {
        buffer[count] = UInt8(magnitude % 10) + UInt8(ascii: "0")
        magnitude /= 10
        count += 1
      }
    }
    if value < 0 { bytes.append(UInt8(ascii: "-")) }
    withUnsafeBytes(of: &digits) { buffer in
      for i in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[i]) }
    }
  }

  /// ECMAScript Number::toString(10): shortest round-trip digits, exponent form only
  /// outside 1e-7 ..< 1e21.
  public mutating func writeNumber(_ value: Double) {
    guard value.isFinite else { appendASCII("null"); return }
    if value == 0 { bytes.append(UInt8(ascii: "0")); return }
    if value.rounded(.towardZero) == value, abs(value) <= 9_007_199_254_740_992 {
      writeInteger(Int64(value))
      return
    }
    // Swift's description also gives the shortest round-trip digits; only the layout differs.
    let (digits, exponent) = Self.decimalDigits(of: abs(value))
    if value < 0 { bytes.append(UInt8(ascii: "-")) }
    let k = digits.count
    let n = exponent  // value = 0.d1d2…dk × 10^n
    if k <= n && n <= 21 {
      bytes.append(contentsOf: digits)
      for _ in 0..<(n - k) { bytes.append(UInt8(ascii: "0")) }
    } else if 0 < n && n <= 21 {
      bytes.append(contentsOf: digits[0..<n])
      bytes.append(UInt8(ascii: "."))
      bytes.append(contentsOf: digits[n...])
    } else if -6 < n && n <= 0 {
      bytes.append(UInt8(ascii: "0"))
      bytes.append(UInt8(ascii: "."))
      for _ in 0..<(-n) { bytes.append(UInt8(ascii: "0")) }
      bytes.append(contentsOf: digits)
    } else {
      bytes.append(digits[0])
      if k > 1 {
        bytes.append(UInt8(ascii: "."))
        bytes.append(contentsOf: digits[1...])
      }
      bytes.append(UInt8(ascii: "e"))
      let e = n - 1
      bytes.append(e < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
      writeInteger(Int64(abs(e)))
    }
  }

  /// The significant digits of a positive finite double and the exponent `n` such that
  /// value = 0.digits × 10^n.
  static func decimalDigits(of value: Double) -> ([UInt8], Int) {
    let text = Array(value.description.utf8)
    var mantissa: [UInt8] = []
    var pointIndex: Int? = nil
    var exponent = 0
    var i = 0
    while i < text.count {
      let c = text[i]
      if c == UInt8(ascii: ".") {
        pointIndex = mantissa.count
      } else if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
        exponent = Int(String(decoding: text[(i + 1)...], as: UTF8.self).replacingPlus()) ?? 0
        break
      } else {
        mantissa.append(c)
      }
      i += 1
    }
    var n = (pointIndex ?? mantissa.count) + exponent
    while let first = mantissa.first, first == UInt8(ascii: "0") {
      mantissa.removeFirst()
      n -= 1
    }
    while let last = mantissa.last, last == UInt8(ascii: "0") { mantissa.removeLast() }
    return (mantissa, n)
  }

  private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

  public mutating func writeString(_ string: String) {
    var string = string
    string.withUTF8 { writeStringUTF8($0) }
  }

  /// Writes UTF-8 bytes (a TEXT column, say) as a JSON string, exactly as `writeString`
  /// writes the String decoded from them: invalid UTF-8 goes through that String, so it
  /// is repaired the same way.
  public mutating func writeString(utf8: UnsafeBufferPointer<UInt8>) {
    if !utf8.allSatisfy({ $0 < 0x80 }) {
      let string = String(decoding: utf8, as: UTF8.self)
      if !string.utf8.elementsEqual(utf8) {
        writeString(string)
        return
      }
    }
    writeStringUTF8(utf8)
  }

  /// Appends UTF-8 bytes as plain text (not a JSON string), with invalid UTF-8 repaired
  /// as `String(decoding:as:)` repairs it.
  public mutating func writeText(_ utf8: UnsafeBufferPointer<UInt8>) {
    if utf8.allSatisfy({ $0 < 0x80 }) {
      bytes.append(contentsOf: utf8)
    } else {
      bytes.append(contentsOf: String(decoding: utf8, as: UTF8.self).utf8)
    }
  }

  /// A sequence number as `e5` or `e5+2`, without building a String.
  public mutating func writeSeqNum(_ seqNum: SeqNum) {
    bytes.append(UInt8(ascii: "e"))
    writeInteger(seqNum.global)
    if seqNum.client != 0 {
      bytes.append(UInt8(ascii: "+"))
      writeInteger(seqNum.client)
    }
    if seqNum.rebaseGeneration != 0 {
      bytes.append(UInt8(ascii: "r"))
      writeInteger(seqNum.rebaseGeneration)
    }
  }

  /// Writes UTF-16 code units as a JSON string as `JSON.stringify` does (ES2019): valid
  /// text as `writeString` writes it, each lone surrogate as a lowercase `\udXXX` escape.
  public mutating func writeString(utf16 units: [UInt16]) {
    bytes.append(UInt8(ascii: "\""))
    var runStart = 0
    var i = 0
    func flush(to end: Int) {
      guard runStart < end else { return }
      var text = String(decoding: units[runStart..<end], as: UTF16.self)
      text.withUTF8 { appendEscaped($0) }
    }
    while i < units.count {
      let unit = units[i]
      if unit & 0xF800 == 0xD800 {
        if unit < 0xDC00, i + 1 < units.count, units[i + 1] & 0xFC00 == 0xDC00 {
          i += 2  // a valid pair: part of the run
          continue
        }
        flush(to: i)
        bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), Self.hex[Int(unit >> 12)],
                                  Self.hex[Int(unit >> 8 & 0xF)], Self.hex[Int(unit >> 4 & 0xF)], Self.hex[Int(unit & 0xF)]])
        runStart = i + 1
      }
      i += 1
    }
    flush(to: units.count)
    bytes.append(UInt8(ascii: "\""))
  }

  private mutating func writeStringUTF8(_ utf8: UnsafeBufferPointer<UInt8>) {
    bytes.append(UInt8(ascii: "\""))
    appendEscaped(utf8)
    bytes.append(UInt8(ascii: "\""))
  }

  /// Appends valid UTF-8 escaped for the inside of a JSON string (no quotes).
  private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
    do {
      var runStart = 0
      for (i, byte) in utf8.enumerated() {
        guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
        runStart = i + 1
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case 0x22: bytes.append(0x22)
        case 0x5C: bytes.append(0x5C)
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        default:
          bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                    Self.hex[Int(byte >> 4)], Self.hex[Int(byte & 0xF)]])
        }
      }
      bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
    }
  }
}

extension String {
  fileprivate func replacingPlus() -> String { hasPrefix("+") ? String(dropFirst()) : self }
}
