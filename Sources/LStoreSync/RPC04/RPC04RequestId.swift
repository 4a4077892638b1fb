/// Effect RPC 0.75's request ids (LiveStore 0.4.0): the client sends a decimal string of a
/// BigInt counter; the server reads it with JavaScript's `BigInt(string)` and echoes
/// `String(bigint)`. So `"007"` is answered as `"7"`, and an Ack for `"7"` reaches the
/// request sent as `"007"`. This is that conversion, without JavaScript.
public enum RPC04RequestId {
  /// Longer ids are refused (JavaScript would accept any length; no client sends one).
  public static let maxLength = 256

  /// The canonical decimal form of `text` read as `BigInt(text)` does (StringToBigInt:
  /// surrounding whitespace, an optional sign before decimal digits, or a `0x`/`0o`/`0b`
  /// literal; an empty or all-whitespace string is 0); nil where `BigInt` throws.
  public static func canonical(_ text: String) -> String? {
    guard text.unicodeScalars.count <= maxLength else { return nil }
    var scalars = Substring(text).unicodeScalars[...]
    while let first = scalars.first, isJSWhitespace(first) { scalars.removeFirst() }
    while let last = scalars.last, isJSWhitespace(last) { scalars.removeLast() }
    var body = Array(scalars)
    guard !body.isEmpty else { return "0" }
    var negative = false
    var radix = 10
    if body.count > 2, body[0] == "0", let r = ["x": 16, "X": 16, "o": 8, "O": 8, "b": 2, "B": 2][Character(body[1])] {
      radix = r
      body.removeFirst(2)
    } else if body[0] == "+" || body[0] == "-" {
      negative = body[0] == "-"
      body.removeFirst()
    }
    guard !body.isEmpty else { return nil }
    // Decimal digits, least significant first, built by repeated multiply-add.
    var decimal: [UInt8] = [0]
    for scalar in body {
      guard let digit = Int(String(scalar), radix: radix), scalar.isASCII else { return nil }
      var carry = digit
      for index in decimal.indices {
        let value = Int(decimal[index]) * radix + carry
        decimal[index] = UInt8(value % 10)
        carry = value / 10
      }
      while carry > 0 {
        decimal.append(UInt8(carry % 10))
        carry /= 10
      }
    }
    while decimal.count > 1, decimal.last == 0 { decimal.removeLast() }
    let digits = String(decimal.reversed().map { Character(String($0)) })
    return negative && digits != "0" ? "-" + digits : digits
  }

  /// ECMAScript WhiteSpace and LineTerminator.
  static func isJSWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F,
      0x3000, 0xFEFF:
      return true
    default:
      return false
    }
  }
}
