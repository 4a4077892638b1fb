import XCTest
@testable import LStoreKit

/// One limit on args depth and size, applied wherever args enter (commit and import
/// normalize them; the sync backend checks pushes against the same constants).
final class EventLimitsTests: XCTestCase {
  func nested(_ depth: Int) -> JSONValue {
    var value: JSONValue = .integer(1)
    for _ in 0..<depth { value = .array([value]) }
    return value
  }

  func testArgsDepthIsLimitedAndTheLimitLeavesRoomForEveryEnvelope() throws {
    XCTAssertNil(EventLimits.violation(args: nested(EventLimits.maxArgsDepth)))
    XCTAssertEqual(EventLimits.violation(args: nested(EventLimits.maxArgsDepth + 1)), "args nest deeper than 256 levels")
    XCTAssertLessThan(EventLimits.maxArgsDepth + 16, JSONParser.maxDepth)
    // Args at the limit, inside a pull page's envelope, still parse.
    let page = #"{"_tag":"WSMessage.PullRes","batch":[{"eventEncoded":{"name":"x","args":"# + nested(EventLimits.maxArgsDepth).compactText
      + #","seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"},"metadata":{"_tag":"None"}}],"requestId":{"context":"pull","requestId":"q"},"remaining":0}"#
    XCTAssertNoThrow(try JSONParser.parse(page))
  }

  func testCommitAndImportRefuseArgsOverTheLimitsThroughNormalize() throws {
    XCTAssertThrowsError(try ArgType.json.normalize(nested(300))) { error in
      XCTAssertEqual("\(error)", "args nest deeper than 256 levels")
    }
    let big: JSONValue = ["text": .string(String(repeating: "a", count: EventLimits.maxArgsBytes))]
    XCTAssertThrowsError(try ArgType.json.normalize(big)) { error in
      XCTAssertEqual("\(error)", "args are larger than 790000 bytes")
    }
    let fits: JSONValue = ["text": .string(String(repeating: "a", count: EventLimits.maxArgsBytes - 20))]
    XCTAssertNoThrow(try ArgType.json.normalize(fits))
    // Escapes count as written: 200,000 control characters are 1.2 MB of \u00XX.
    let escaped: JSONValue = .string(String(repeating: "\u{1}", count: 200_000))
    XCTAssertEqual(EventLimits.violation(args: escaped), "args are larger than 790000 bytes")
  }
}
