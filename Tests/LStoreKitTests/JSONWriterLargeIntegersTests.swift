import XCTest
@testable import LStoreKit

/// Pending: fails until JSONWriter prints integral doubles above 2^53 with the shortest
/// round-trip digits (ECMAScript Number::toString), not their exact binary value.
final class JSONWriterLargeIntegersTests: XCTestCase {
  func testLargeIntegralDoublesUseShortestDigits() throws {
    // Expected values from Node.js: JSON.stringify(JSON.parse(input)).
    let vectors: [(String, String)] = [
      ("1152921504606846976", "1152921504606847000"),
      ("1234567890123456789", "1234567890123456800"),
      ("-1152921504606846976", "-1152921504606847000"),
      ("4611686018427387904", "4611686018427388000"),
      ("61860682946631313.0", "61860682946631310"),
      ("-8636305025461013635", "-8636305025461014000"),
    ]
    for (input, expected) in vectors {
      XCTAssertEqual(try JSONParser.parse(input).compactText, expected, input)
    }
    XCTAssertEqual(JSONValue.number(1_152_921_504_606_846_976).compactText, "1152921504606847000")
  }
}
