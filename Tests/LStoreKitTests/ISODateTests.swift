import XCTest
@testable import LStoreKit

/// Dates parse and print as JavaScript's `Date` does (`new Date(s).toISOString()`);
/// expected values were produced by Node.js. Invalid calendar dates, which V8's lenient
/// parser would roll over into the next month, are rejected.
final class ISODateTests: XCTestCase {
  private func iso(_ text: String) -> String? { ISODate.parse(text).map { ISODate.format(millis: $0) } }

  func testParsesToISOStringLikeJavaScript() {
    let vectors: [(String, String)] = [
      ("2025-06-06", "2025-06-06T00:00:00.000Z"),
      ("2025-06-06T10:00:00Z", "2025-06-06T10:00:00.000Z"),
      ("2025-06-06T10:00Z", "2025-06-06T10:00:00.000Z"),
      ("2025-06-06T10:00:00.123Z", "2025-06-06T10:00:00.123Z"),
      ("2025-06-06T10:00:00.1Z", "2025-06-06T10:00:00.100Z"),
      ("2025-06-06T10:00:00.12Z", "2025-06-06T10:00:00.120Z"),
      ("2025-06-06T10:00:00.123456Z", "2025-06-06T10:00:00.123Z"),
      ("2025-06-06 10:00:00Z", "2025-06-06T10:00:00.000Z"),
      ("2025-06-06T10:00:00+02:00", "2025-06-06T08:00:00.000Z"),
      ("2025-06-06T10:00:00+0530", "2025-06-06T04:30:00.000Z"),
      ("2025-06-06T10:00:00-08:00", "2025-06-06T18:00:00.000Z"),
      ("2025-06-06T23:30:00-01:00", "2025-06-07T00:30:00.000Z"),
      ("2025-01-01T00:30:00+01:00", "2024-12-31T23:30:00.000Z"),
      ("2025-06-06T24:00:00Z", "2025-06-07T00:00:00.000Z"),
      ("2024-02-29T12:00:00+05:30", "2024-02-29T06:30:00.000Z"),
      ("2000-02-29", "2000-02-29T00:00:00.000Z"),
      ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"),
      ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"),
      ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000Z"),
      ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
    ]
    for (input, expected) in vectors { XCTAssertEqual(iso(input), expected, input) }
  }

  func testEpochMilliseconds() {
    XCTAssertEqual(ISODate.parse("1970-01-01T00:00:00Z"), 0)
    XCTAssertEqual(ISODate.parse("2025-06-06T10:01:00Z"), 1_749_204_060_000)
    XCTAssertEqual(ISODate.parse("1969-12-31T23:59:59.999Z"), -1)
    XCTAssertEqual(ISODate.parse("2000-03-01"), 951_868_800_000)
  }

  func testFormatsLikeToISOString() {
    XCTAssertEqual(ISODate.format(millis: 0), "1970-01-01T00:00:00.000Z")
    XCTAssertEqual(ISODate.format(millis: -1), "1969-12-31T23:59:59.999Z")
    XCTAssertEqual(ISODate.format(millis: 1_749_204_060_007), "2025-06-06T10:01:00.007Z")
    XCTAssertEqual(ISODate.format(millis: 951_782_400_000), "2000-02-29T00:00:00.000Z")
    XCTAssertEqual(ISODate.format(millis: -62_167_219_200_000), "0000-01-01T00:00:00.000Z")
  }

  /// toISOString switches to six-digit signed years outside 0000–9999.
  func testFormatsExpandedYearsLikeToISOString() {
    XCTAssertEqual(ISODate.format(millis: 253_402_300_800_000), "+010000-01-01T00:00:00.000Z")
    XCTAssertEqual(ISODate.format(millis: -62_198_755_200_000), "-000001-01-01T00:00:00.000Z")
    XCTAssertEqual(ISODate.format(millis: -62_167_219_200_001), "-000001-12-31T23:59:59.999Z")
    XCTAssertEqual(ISODate.format(millis: 8_640_000_000_000_000), "+275760-09-13T00:00:00.000Z")
  }

  func testLeapYears() {
    XCTAssertNotNil(ISODate.parse("2024-02-29"))
    XCTAssertNotNil(ISODate.parse("2000-02-29"))
    XCTAssertNotNil(ISODate.parse("1600-02-29"))
    XCTAssertNil(ISODate.parse("2023-02-29"))
    XCTAssertNil(ISODate.parse("1900-02-29"))
    XCTAssertNil(ISODate.parse("2100-02-29T00:00:00Z"))
    XCTAssertNil(ISODate.parse("2024-02-30"))
  }

  func testEveryDayRoundTrips() {
    // Four centuries cover every leap-year rule.
    var millis = ISODate.parse("1800-01-01")!
    var previous = ""
    for _ in 0..<(146_097 + 400) {
      let text = ISODate.format(millis: millis)
      XCTAssertGreaterThan(text, previous)
      XCTAssertEqual(ISODate.parse(text), millis, text)
      previous = text
      millis += 86_400_000
    }
  }

  func testInvalidDatesAreRejected() {
    let invalid = [
      "", "2025", "2025-06", "2025-6-6", "25-06-06", "2025/06/06", "2025-13-01", "2025-00-10", "2025-04-31",
      "2025-06-00", "2025-06-32", "2025-06-06T", "2025-06-06T10", "2025-06-06T10:00:00", "2025-06-06T25:00:00Z",
      "2025-06-06T24:00:01Z", "2025-06-06T24:30:00Z", "2025-06-06T10:60:00Z", "2025-06-06T10:00:60Z",
      "2025-06-06T10:00:00.Z", "2025-06-06T10:00:00+2", "2025-06-06T10:00:00Zjunk", "2025-06-06junk",
      " 2025-06-06", "2025-06-06 ", "not a date", "2025-06-06T10:00:00+02:0",
    ]
    for text in invalid { XCTAssertNil(ISODate.parse(text), "'\(text)' must be rejected") }
  }
}
