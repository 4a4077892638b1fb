import XCTest
@testable import LStoreKit

/// JSON must round-trip byte for byte as JavaScript's `JSON.stringify(JSON.parse(text))`
/// does: LiveStore stores event args as that text. Expected outputs were produced by
/// Node.js (V8).
final class JSONTests: XCTestCase {
  private func roundTrip(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    try JSONParser.parse(text).compactText
  }

  private func assertRoundTrip(_ input: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(try roundTrip(input), expected, "JSON.stringify(JSON.parse(\(input)))", file: file, line: line)
  }

  // MARK: - Objects

  func testKeyOrderIsKept() {
    assertRoundTrip(#"{"z":1,"a":2,"m":{"y":true,"b":null}}"#, #"{"z":1,"a":2,"m":{"y":true,"b":null}}"#)
  }

  func testDuplicateKeysKeepFirstPositionAndLastValue() {
    assertRoundTrip(#"{"a":1,"b":2,"a":3}"#, #"{"a":3,"b":2}"#)
    assertRoundTrip(#"{"a":{"x":1},"b":2,"a":[1]}"#, #"{"a":[1],"b":2}"#)
  }

  /// JavaScript objects list array-index keys ("0" … "4294967294") first, in numeric
  /// order, whatever order they were written in; other keys keep their order.
  func testArrayIndexKeysComeFirstAsInJavaScript() {
    assertRoundTrip(#"{"b":1,"1":2,"a":3,"0":4}"#, #"{"0":4,"1":2,"b":1,"a":3}"#)
    assertRoundTrip(#"{"b":1,"4294967295":2,"4294967294":3,"01":4,"-1":5,"10":6,"9":7}"#,
                    #"{"9":7,"10":6,"4294967294":3,"b":1,"4294967295":2,"01":4,"-1":5}"#)
    assertRoundTrip(#"{"x":{"2":true,"y":false,"1":null}}"#, #"{"x":{"1":null,"2":true,"y":false}}"#)
    var object = JSONObject([("a", 1)])
    object["5"] = 2
    object["b"] = 3
    object["3"] = 4
    XCTAssertEqual(JSONValue.object(object).compactText, #"{"3":4,"5":2,"a":1,"b":3}"#)
    let literal: JSONValue = ["z": 1, "7": 2]
    XCTAssertEqual(literal.compactText, #"{"7":2,"z":1}"#)
  }

  func testWhitespaceIsDropped() {
    assertRoundTrip(" {\n\t\"a\" : [ 1 , 2 ] ,\r\n \"b\" : { } , \"c\" : [ ] } ", #"{"a":[1,2],"b":{},"c":[]}"#)
  }

  func testLiteralsAndNesting() {
    assertRoundTrip("[true,false,null,\"\",0,[[]],{}]", "[true,false,null,\"\",0,[[]],{}]")
    let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
    assertRoundTrip(deep, deep)
  }

  func testObjectSubscriptSetAppendsAndRemoves() {
    var object = JSONObject([("b", 1), ("a", 2)])
    object["c"] = "x"
    object["b"] = 5
    object["a"] = nil
    XCTAssertEqual(JSONValue.object(object).compactText, #"{"b":5,"c":"x"}"#)
  }

  // MARK: - Numbers (ECMAScript Number::toString)

  func testNumberFormattingMatchesJavaScript() {
    let vectors: [(String, String)] = [
      ("1.0", "1"), ("1.50", "1.5"), ("-2.0e0", "-2"), ("1E3", "1000"), ("123.456e2", "12345.6"),
      ("0.1", "0.1"), ("4.35", "4.35"), ("2.5e-3", "0.0025"), ("1e-6", "0.000001"), ("0.000001234", "0.000001234"),
      ("1e-7", "1e-7"), ("-1e-7", "-1e-7"), ("1.5e-7", "1.5e-7"), ("5e-324", "5e-324"),
      ("1e20", "100000000000000000000"), ("100000000000000000000", "100000000000000000000"),
      ("123456789012345680000", "123456789012345680000"), ("1e21", "1e+21"), ("1.5e21", "1.5e+21"),
      ("1.7976931348623157e308", "1.7976931348623157e+308"),
      ("-0", "0"), ("-0.0", "0"), ("0e10", "0"),
      ("9007199254740991", "9007199254740991"), ("9007199254740992", "9007199254740992"),
      ("9007199254740993", "9007199254740992"), ("9007199254740994", "9007199254740994"),
      ("-9007199254740993", "-9007199254740992"), ("9223372036854775807", "9223372036854776000"),
      ("18446744073709551616", "18446744073709552000"),
    ]
    for (input, expected) in vectors { assertRoundTrip(input, expected) }
  }

  func testDoublesWrittenDirectly() {
    XCTAssertEqual(JSONValue.number(1e21).compactText, "1e+21")
    XCTAssertEqual(JSONValue.number(1e-7).compactText, "1e-7")
    XCTAssertEqual(JSONValue.number(-0.0).compactText, "0")
    XCTAssertEqual(JSONValue.number(0.1 + 0.2).compactText, "0.30000000000000004")
    XCTAssertEqual(JSONValue.number(.infinity).compactText, "null")
    XCTAssertEqual(JSONValue.number(.nan).compactText, "null")
    XCTAssertEqual(JSONValue.number(from: 3.0), .integer(3))
    XCTAssertEqual(JSONValue.number(from: 3.5), .number(3.5))
  }

  func testIntegersStayExact() throws {
    XCTAssertEqual(try JSONParser.parse("9007199254740992"), .integer(9_007_199_254_740_992))
    XCTAssertEqual(try JSONParser.parse("-42"), .integer(-42))
    XCTAssertEqual(try JSONParser.parse("42.0"), .integer(42))
    if case .integer = try JSONParser.parse("-0") { XCTFail("-0 must stay a double") }
  }

  // MARK: - Strings

  func testStringEscapingMatchesJavaScript() {
    let text = "\u{1f}\u{0}\u{8}\u{c}\n\r\t\"\\/é😀\u{7f}\u{2028}"
    XCTAssertEqual(JSONValue.string(text).compactText,
                   "\"\\u001f\\u0000\\b\\f\\n\\r\\t\\\"\\\\/é😀\u{7f}\u{2028}\"")
    XCTAssertEqual(JSONValue.string("\u{1}\u{1a}\u{1b}").compactText, "\"\\u0001\\u001a\\u001b\"")
  }

  func testStringEscapesAreDecoded() {
    assertRoundTrip(#""\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\\u001F\u0041""#, "\"é😀/\\b\\f\\n\\r\\t\\\"\\\\\\u001fA\"")
    XCTAssertEqual(try JSONParser.parse(#""\u00E9""#), .string("é"))
  }

  func testNonASCIIPassesThroughRaw() {
    assertRoundTrip("\"日本語 ü 😀\"", "\"日本語 ü 😀\"")
    assertRoundTrip("{\"ключ\":\"значение\"}", "{\"ключ\":\"значение\"}")
  }

  // MARK: - Lone surrogates (issue 12)

  /// `JSON.stringify` keeps a lone surrogate as a lowercase `\udXXX` escape (ES2019), and
  /// `JSON.parse` gives it back as that code unit: an app's args can hold one, and lstore
  /// must keep it exactly (not U+FFFD). Expected outputs as Node.js writes them.
  func testLoneSurrogatesRoundTripExactly() {
    // High without low, low alone, a reversed pair, a high before a non-low escape.
    assertRoundTrip(#""\ud800""#, #""\ud800""#)
    assertRoundTrip(#""\udfff""#, #""\udfff""#)
    assertRoundTrip(#""\ude00\ud83d""#, #""\ude00\ud83d""#)
    assertRoundTrip(#""a\ud800b\u0041\ud800\u0042""#, #""a\ud800bA\ud800B""#)
    assertRoundTrip(#""\ud800\ud800\udc00""#, #""\ud800𐀀""#)
    assertRoundTrip(#""\ud800\n""#, #""\ud800\n""#)
    // Uppercase hex is read; JSON.stringify writes lowercase.
    assertRoundTrip(#""\uD800\uDBFF""#, #""\ud800\udbff""#)
    // With escapes, quotes and non-ASCII text around it, and a valid pair beside it.
    assertRoundTrip(#""é\"\n\ud83d\ude00\udc00😀\\""#, #""é\"\n😀\udc00😀\\""#)
    // A literal U+FFFD stays U+FFFD; only the escape is a surrogate.
    assertRoundTrip("\"\u{FFFD}\\ud800\u{FFFD}\"", "\"\u{FFFD}\\ud800\u{FFFD}\"")
    // Inside arrays and objects, in values and in keys.
    assertRoundTrip(#"["\ud800",{"k":"\udc00"}]"#, #"["\ud800",{"k":"\udc00"}]"#)
    assertRoundTrip(#"{"\ud800":1,"a\udc00":{"\ude00\ud83d":"\ud83d\ude00"}}"#,
                    #"{"\ud800":1,"a\udc00":{"\ude00\ud83d":"😀"}}"#)
  }

  func testValidPairsStillDecodeToOneScalar() throws {
    XCTAssertEqual(try JSONParser.parse(#""\ud83d\ude00""#), .string("😀"))
    XCTAssertEqual(try JSONParser.parse(#"{"\ud83d\ude00":"x"}"#)["😀"], .string("x"))
    XCTAssertEqual(JSONValue.string(utf16: [0xD83D, 0xDE00]), .string("😀"))
    assertRoundTrip(#"{"\ud83d\ude00":"\ud83d\ude00"}"#, #"{"😀":"😀"}"#)
  }

  func testLoneSurrogateStringValue() throws {
    let value = try JSONParser.parse(#""a\ud800""#)
    XCTAssertEqual(value, .loneSurrogateString([0x61, 0xD800]))
    XCTAssertNotEqual(value, .string("a\u{FFFD}"))
    XCTAssertNotEqual(value, try JSONParser.parse(#""a\ud801""#))
    XCTAssertNil(value.stringValue)
    XCTAssertTrue(value.isString)
    XCTAssertEqual(value.repairedStringValue, "a\u{FFFD}")
    XCTAssertEqual(JSONValue.string(utf16: [0x61, 0xD800]), value)
    XCTAssertEqual(value.kindName, "a string with a lone surrogate")
  }

  /// Keys are exact too: two lone surrogates are two keys (both show as U+FFFD), a repeated
  /// one is one key, and no String lookup reaches a lone-surrogate key.
  func testLoneSurrogateKeysStayDistinct() throws {
    assertRoundTrip(#"{"\ud800":1,"\ud801":2,"\ufffd":3,"\ud800":4}"#, "{\"\\ud800\":4,\"\\ud801\":2,\"\u{FFFD}\":3}")
    let object = try XCTUnwrap(try JSONParser.parse(#"{"\ud800":1,"\ufffd":3,"2":5}"#).objectValue)
    XCTAssertEqual(object.keys, ["2", "\u{FFFD}", "\u{FFFD}"])
    XCTAssertEqual(object["\u{FFFD}"], 3)
    XCTAssertEqual(object.loneSurrogateKey(at: 1), [0xD800])
    XCTAssertNil(object.loneSurrogateKey(at: 2))
    XCTAssertEqual(object.keyValue(at: 1), .loneSurrogateString([0xD800]))
    XCTAssertNotEqual(object, try XCTUnwrap(try JSONParser.parse(#"{"\ud801":1,"\ufffd":3,"2":5}"#).objectValue))
    // Editing by String keys keeps the lone-surrogate key where it is.
    var edited = object
    edited["1"] = 0
    edited["\u{FFFD}"] = nil
    edited["z"] = true
    XCTAssertEqual(JSONValue.object(edited).compactText, #"{"1":0,"2":5,"\ud800":1,"z":true}"#)
    // Array-index keys stay first, as in JavaScript.
    XCTAssertEqual(JSONValue.object(edited.movingToFront("z")).compactText, #"{"1":0,"2":5,"z":true,"\ud800":1}"#)
    XCTAssertEqual(JSONValue.object(object).prettyText(), "{\n  \"2\": 5,\n  \"\\ud800\": 1,\n  \"\u{FFFD}\": 3\n}")
  }

  /// What is escaped as text must still be counted by the args limits.
  func testLoneSurrogatesCountTowardsTheArgsSizeLimit() throws {
    let big = try JSONParser.parse("\"" + String(repeating: #"\ud800"#, count: EventLimits.maxArgsBytes / 6 + 1) + "\"")
    XCTAssertNotNil(EventLimits.violation(args: ["text": big]))
    XCTAssertNil(EventLimits.violation(args: ["text": try JSONParser.parse(#""\ud800""#)]))
  }

  // MARK: - Errors carry a byte offset

  private func assertRejected(_ input: String, offset: Int, reason: String? = nil,
                              file: StaticString = #filePath, line: UInt = #line) {
    assertRejected(Array(input.utf8), offset: offset, reason: reason, file: file, line: line)
  }

  private func assertRejected(_ bytes: [UInt8], offset: Int, reason: String? = nil,
                              file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try JSONParser.parse(bytes), "\(String(decoding: bytes, as: UTF8.self))", file: file, line: line) { error in
      guard let error = error as? JSONSyntaxError else { return XCTFail("not a JSONSyntaxError: \(error)", file: file, line: line) }
      XCTAssertEqual(error.offset, offset, "\(error)", file: file, line: line)
      XCTAssertTrue(error.description.contains("byte \(offset + 1)"), error.description, file: file, line: line)
      if let reason { XCTAssertTrue(error.reason.contains(reason), error.reason, file: file, line: line) }
    }
  }

  func testTrailingCommasAreRejected() {
    assertRejected("[1,]", offset: 3)
    assertRejected(#"{"a":1,}"#, offset: 7, reason: "key")
    assertRejected(#"{"a":1 "b":2}"#, offset: 7)
  }

  func testLeadingZerosAndBadNumbersAreRejected() {
    assertRejected("01", offset: 1, reason: "leading zero")
    assertRejected("[-01]", offset: 3, reason: "leading zero")
    assertRejected("1.", offset: 2)
    assertRejected(".5", offset: 0)
    assertRejected("1e", offset: 2)
    assertRejected("+1", offset: 0)
    assertRejected("-", offset: 1)
    assertRejected("NaN", offset: 0)
    assertRejected("Infinity", offset: 0)
    assertRejected("0x10", offset: 1)
  }

  func testControlCharactersInStringsAreRejected() {
    assertRejected("\"a\u{1}b\"", offset: 2, reason: "control")
    assertRejected("\"tab\there\"", offset: 4, reason: "control")
    assertRejected("\"line\nbreak\"", offset: 5, reason: "control")
    assertRejected("\"esc\\n\u{1f}\"", offset: 6, reason: "control")
  }

  func testBadEscapesAreRejected() {
    assertRejected(#""\x41""#, offset: 2, reason: "escape")
    assertRejected(#""ab\'""#, offset: 4, reason: "escape")
    assertRejected(#""\u12G4""#, offset: 5, reason: "hex")
    assertRejected(#""\u12""#, offset: 3)
  }

  func testInvalidUTF8IsRejected() {
    assertRejected([0x22, 0xFF, 0x22], offset: 1, reason: "UTF-8")
    assertRejected([0x22, 0x61, 0xC3, 0x28, 0x22], offset: 1, reason: "UTF-8")
    // Overlong encoding of "/" and a lone UTF-16 surrogate encoded in UTF-8.
    assertRejected([0x5B, 0x22, 0xC0, 0xAF, 0x22, 0x5D], offset: 2, reason: "UTF-8")
    assertRejected([0x22, 0xED, 0xA0, 0x80, 0x22], offset: 1, reason: "UTF-8")
    // In a key too, and after an escape (the slow path).
    assertRejected([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D], offset: 2, reason: "UTF-8")
    assertRejected([0x22, 0x5C, 0x6E, 0xFF, 0x22], offset: 1, reason: "UTF-8")
  }

  func testDeepNestingIsRejected() {
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    XCTAssertThrowsError(try JSONParser.parse(deep)) { error in
      XCTAssertTrue("\(error)".contains("nesting"), "\(error)")
    }
    let objects = String(repeating: #"{"a":"#, count: 600) + "1" + String(repeating: "}", count: 600)
    XCTAssertThrowsError(try JSONParser.parse(objects))
  }

  func testTruncatedAndTrailingInputIsRejected() {
    assertRejected("", offset: 0, reason: "end")
    assertRejected("   ", offset: 3, reason: "end")
    assertRejected(#"{"a":"#, offset: 5, reason: "end")
    assertRejected(#"{"a":1"#, offset: 6, reason: "end")
    assertRejected(#""abc"#, offset: 4, reason: "unterminated")
    assertRejected("tru", offset: 0)
    assertRejected("nul", offset: 0)
    assertRejected("truex", offset: 4, reason: "after")
    assertRejected("1 2", offset: 2, reason: "after")
    assertRejected("{} {}", offset: 3)
    assertRejected("{'a':1}", offset: 1)
    assertRejected("{a:1}", offset: 1)
  }

  func testPrettyTextIsJSONStringifyWithTwoSpaces() throws {
    let value = try JSONParser.parse(#"{"a":[1,{"b":null}],"c":{},"d":[]}"#)
    XCTAssertEqual(value.prettyText(), "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {},\n  \"d\": []\n}")
  }

  // MARK: - The compact check (export's verbatim copy)

  private func isCompact(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBufferPointer { JSONParser.isCompact($0) } }
  private func isCompact(_ text: String) -> Bool { isCompact(Array(text.utf8)) }

  func testCompactCheckAcceptsWhatJSONStringifyWrites() {
    for text in [#"{"id":"t1","text":"Buy milk"}"#, "{}", "[]", "0", "-0", "-12.5", "123456789012345678901234567890",
                 "true", "false", "null", #""""#, #"[1,[2,{"a":null,"b":[]}],{}]"#, #"{"a":{"b":{"c":[true,false]}}}"#,
                 #"{"s":"café \"q\" \\ \/ \b\f\n\r\t \ud800 \u00E9"}"#, #"{"é":"日本語 🎉"}"#,
                 #"{"a":1,"a":2}"#] {
      XCTAssertTrue(isCompact(text), text)
      XCTAssertNoThrow(try JSONParser.parse(text), text)
    }
  }

  func testCompactCheckRefusesWhitespaceAndInvalidJSON() {
    for text in ["", " {}", "{} ", #"{"a": 1}"#, "{\"a\":1,\n\"b\":2}", "[1,\t2]", "{\"a\":\"x\ny\"}",
                 #"{"id":"t1","#, "garbage", "{", "}", "[1,]", #"{"a":1,}"#, #"{"a"}"#, #"{"a":}"#, #"{1:2}"#,
                 "01", "-", "1.", ".5", "+1", "NaN", "[1 2]", "{}{}", "tru", "nul", #""\x41""#, #""\u12G4""#,
                 #""\u12""#, #""abc"#, "[1]]", "[1}", #"{"a":1]"#] {
      XCTAssertFalse(isCompact(text), text)
    }
    // Invalid UTF-8: a stray byte, a broken sequence, an overlong "/", a surrogate in UTF-8.
    for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0x61, 0xC3, 0x28, 0x22], [0x22, 0xC0, 0xAF, 0x22],
                           [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xE2, 0x82]] {
      XCTAssertFalse(isCompact(bytes), "\(bytes)")
    }
  }

  /// What the check leaves to the parser: valid, but not decided cheaply.
  func testCompactCheckLeavesExponentsAndDeepNestingToTheParser() {
    XCTAssertFalse(isCompact("1e5"))
    XCTAssertFalse(isCompact("[1E-7]"))
    XCTAssertFalse(isCompact(String(repeating: "1", count: 300)))
    XCTAssertTrue(isCompact(String(repeating: "[", count: 63) + String(repeating: "]", count: 63)))
    XCTAssertFalse(isCompact(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
  }

  /// Whatever the check accepts, the parser accepts, and its compact form has no byte
  /// below 0x21 outside strings: every single-byte change of some valid texts.
  func testCompactCheckNeverAcceptsWhatTheParserRefuses() {
    let seeds = [#"{"id":"t1","n":[1,-2.5,true,null],"o":{"é":"\u00e9\n"}}"#, #"[{"a":[]},{},"x",0]"#]
    let replacements: [UInt8] = [0x20, 0x0A, 0x22, 0x2C, 0x3A, 0x5B, 0x5D, 0x7B, 0x7D, 0x5C, 0x30, 0x2D, 0x2E, 0x65, 0x61, 0xC3, 0xFF]
    for seed in seeds {
      let bytes = Array(seed.utf8)
      for index in bytes.indices {
        for replacement in replacements {
          var mutated = bytes
          mutated[index] = replacement
          guard isCompact(mutated) else { continue }
          XCTAssertNoThrow(try JSONParser.parse(mutated), String(decoding: mutated, as: UTF8.self))
          XCTAssertFalse(mutated.contains(0x0A), String(decoding: mutated, as: UTF8.self))
        }
        var shorter = bytes
        shorter.remove(at: index)
        if isCompact(shorter) { XCTAssertNoThrow(try JSONParser.parse(shorter), String(decoding: shorter, as: UTF8.self)) }
      }
    }
  }
}
