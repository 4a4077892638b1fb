import XCTest
@testable import LStoreKit

/// LiveStore's EventSequenceNumber rules (format spec §3.2–3.3).
final class SeqNumTests: XCTestCase {
  private func seq(_ g: Int64, _ c: Int64 = 0) -> SeqNum { SeqNum(global: g, client: c) }

  func testSyncedEventFollowsTheLastSyncedEvent() {
    XCTAssertEqual(SeqNum.root.next(clientOnly: false), seq(1))
    XCTAssertEqual(SeqNum.root.parentForNext(clientOnly: false), seq(0))
    XCTAssertEqual(seq(5).next(clientOnly: false), seq(6))
    XCTAssertEqual(seq(5).parentForNext(clientOnly: false), seq(5))
    // Even after client-only events, a synced event's parent is (g, 0).
    XCTAssertEqual(seq(5, 3).next(clientOnly: false), seq(6))
    XCTAssertEqual(seq(5, 3).parentForNext(clientOnly: false), seq(5))
  }

  func testClientOnlyEventChainsOnTheLastEvent() {
    XCTAssertEqual(SeqNum.root.next(clientOnly: true), seq(0, 1))
    XCTAssertEqual(SeqNum.root.parentForNext(clientOnly: true), seq(0))
    XCTAssertEqual(seq(5).next(clientOnly: true), seq(5, 1))
    XCTAssertEqual(seq(5).parentForNext(clientOnly: true), seq(5))
    XCTAssertEqual(seq(5, 1).next(clientOnly: true), seq(5, 2))
    XCTAssertEqual(seq(5, 1).parentForNext(clientOnly: true), seq(5, 1))
  }

  /// The spec's example chain: e1 (e0), e1+1 (e1), e1+2 (e1+1), e2 (e1), e2+1 (e2).
  func testSpecExampleChain() {
    var head = SeqNum.root
    var chain: [String] = []
    for clientOnly in [false, true, true, false, true] {
      let next = head.next(clientOnly: clientOnly)
      chain.append("\(next) (\(head.parentForNext(clientOnly: clientOnly)))")
      head = next
    }
    XCTAssertEqual(chain, ["e1 (e0)", "e1+1 (e1)", "e1+2 (e1+1)", "e2 (e1)", "e2+1 (e2)"])
  }

  func testOrderingComparesGlobalThenClient() {
    let sorted = [seq(2), seq(1, 5), seq(0, 1), seq(1), SeqNum.root, seq(2, 1), seq(10)].sorted()
    XCTAssertEqual(sorted.map(\.description), ["e0", "e0+1", "e1", "e1+5", "e2", "e2+1", "e10"])
    XCTAssertFalse(seq(3).isClientOnly)
    XCTAssertTrue(seq(3, 1).isClientOnly)
  }

  func testStringForms() {
    XCTAssertEqual(seq(0).description, "e0")
    XCTAssertEqual(seq(5).description, "e5")
    XCTAssertEqual(seq(5, 2).description, "e5+2")
    XCTAssertEqual(seq(1_000_000, 10).description, "e1000000+10")
  }

  func testParsing() {
    XCTAssertEqual(SeqNum("e5"), seq(5))
    XCTAssertEqual(SeqNum("e5+2"), seq(5, 2))
    XCTAssertEqual(SeqNum("5"), seq(5))
    XCTAssertEqual(SeqNum("5+1"), seq(5, 1))
    XCTAssertEqual(SeqNum("E7"), seq(7))
    XCTAssertEqual(SeqNum("e0"), SeqNum.root)
    XCTAssertEqual(SeqNum("e5+0"), seq(5))
    for bad in ["", "e", "e-1", "e5+", "e5+-1", "e5+1+2", "x5", "e 5", "e5.0", "ee5", "e5+a", "+1",
                "e99999999999999999999"] {
      XCTAssertNil(SeqNum(bad), "'\(bad)' must not parse")
    }
    for value in [seq(0), seq(3), seq(3, 4), seq(123_456, 789)] {
      XCTAssertEqual(SeqNum(value.description), value)
    }
  }
}
