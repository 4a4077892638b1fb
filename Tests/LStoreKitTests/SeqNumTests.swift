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
    // LiveStore's own notation, and format 6's rebase generation.
    XCTAssertEqual(SeqNum("e5.2"), seq(5, 2))
    XCTAssertEqual(SeqNum("e5.0"), seq(5))
    XCTAssertEqual(SeqNum("e5r1")?.rebaseGeneration, 1)
    XCTAssertEqual(SeqNum("e5+2r3").map { [$0.global, $0.client, $0.rebaseGeneration] }, [5, 2, 3])
    XCTAssertEqual(SeqNum("e5.2r3").map { [$0.global, $0.client, $0.rebaseGeneration] }, [5, 2, 3])
    for bad in ["", "e", "e-1", "e5+", "e5+-1", "e5+1+2", "e5.1.2", "e5+1.2", "x5", "e 5", "ee5", "e5+a", "+1",
                "e99999999999999999999", "e5r", "e5r-1", "e5rr1", "e5r1+2", "r1"] {
      XCTAssertNil(SeqNum(bad), "'\(bad)' must not parse")
    }
    for value in [seq(0), seq(3), seq(3, 4), seq(123_456, 789), SeqNum(global: 3, client: 4, rebaseGeneration: 2)] {
      XCTAssertEqual(SeqNum(value.description), value)
      XCTAssertEqual(SeqNum(value.description)?.rebaseGeneration, value.rebaseGeneration)
    }
  }

  /// A generation is shown but is not part of the position: one eventlog never holds two
  /// events at the same (global, client), and LiveStore matches events by that pair.
  func testTheRebaseGenerationIsShownButDoesNotChangeThePosition() {
    let rebased = SeqNum(global: 5, client: 0, rebaseGeneration: 1)
    XCTAssertEqual(rebased.description, "e5r1")
    XCTAssertEqual(SeqNum(global: 5, client: 2, rebaseGeneration: 1).description, "e5+2r1")
    XCTAssertEqual(rebased, seq(5))
    XCTAssertEqual(Set([rebased, seq(5)]).count, 1)
    XCTAssertFalse(rebased < seq(5) || seq(5) < rebased)
    XCTAssertLessThan(rebased, seq(5, 1))
    // The next number keeps the generation (LiveStore's nextPair).
    XCTAssertEqual(rebased.next(clientOnly: false).description, "e6r1")
    XCTAssertEqual(rebased.next(clientOnly: true).description, "e5+1r1")
  }

  /// LiveStore 0.4's `nextPair`: the next number keeps the base's generation unless one is
  /// given (a rebase); the parent keeps the generation of the event it points to.
  func testNextAndRenumberCarryRebaseGenerations() {
    let head = SeqNum(global: 4, rebaseGeneration: 1)
    XCTAssertEqual(head.next(clientOnly: false).description, "e5r1")
    XCTAssertEqual(head.next(clientOnly: true).description, "e4+1r1")
    XCTAssertEqual(head.next(clientOnly: false, rebaseGeneration: 2).description, "e5r2")
    let event = EventRecord(seqNum: SeqNum(global: 2), parentSeqNum: SeqNum(global: 1), name: "a", argsJSON: "{}",
                            clientId: "c", sessionId: "s", schemaHash: 0)
    let moved = event.renumbered(after: head, rebaseGeneration: 2)
    XCTAssertEqual("\(moved.seqNum) \(moved.parentSeqNum)", "e5r2 e4r1")
    let followed = event.renumbered(after: head)
    XCTAssertEqual("\(followed.seqNum) \(followed.parentSeqNum)", "e5r1 e4r1")
  }
}
