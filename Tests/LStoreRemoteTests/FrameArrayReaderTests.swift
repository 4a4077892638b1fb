import Foundation
import XCTest
import LStoreKit
@testable import LStoreRemote

final class FrameArrayReaderTests: XCTestCase {
  struct Malformed: Error {}

  /// The frames of `text` read in chunks of `size` bytes.
  func frames(_ text: String, chunkSize size: Int) throws -> [String] {
    var rest = Data(text.utf8)
    var reader = FrameArrayReader(malformed: Malformed()) {
      guard !rest.isEmpty else { return nil }
      defer { rest = rest.dropFirst(size) }
      return Data(rest.prefix(size))
    }
    var seen: [String] = []
    try reader.forEachFrame { seen.append($0.compactText) }
    return seen
  }

  func testFramesSplitAtEveryByteReadTheSame() throws {
    let answer = #" [ {"_tag":"Chunk","requestId":"1","values":[{"batch":[],"backendId":"b"}]} ,{"_tag":"Exit","requestId":"1","exit":{"_tag":"Success","value":null}}] "#
    let whole = try frames(answer, chunkSize: answer.utf8.count)
    XCTAssertEqual(whole.count, 2)
    XCTAssertEqual(whole[1], #"{"_tag":"Exit","requestId":"1","exit":{"_tag":"Success","value":null}}"#)
    for size in 1...answer.utf8.count {
      XCTAssertEqual(try frames(answer, chunkSize: size), whole, "chunks of \(size) bytes")
    }
  }

  func testAnEmptyArrayHasNoFrames() throws {
    XCTAssertEqual(try frames("[]", chunkSize: 1), [])
    XCTAssertEqual(try frames(" [ ] ", chunkSize: 2), [])
  }

  func testTruncatedOrMalformedAnswersAreRefused() {
    for answer in ["", "{}", "[", #"[{"_tag":"Exit""#, #"[{"a":1}"#, #"[{"a":1} {"b":2}]"#, #"[{"a":1},]"#, "[1,"] {
      for size in [1, 3, 64] {
        XCTAssertThrowsError(try frames(answer, chunkSize: size), "\(answer) in chunks of \(size)")
      }
    }
  }
}
