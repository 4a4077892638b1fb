import XCTest
@testable import LStoreKit

/// LiveStore 0.3.1's syncstate test suite (`common/src/sync/syncstate.test.ts`), case for
/// case, against `SyncState.merge`. Scenario names follow LiveStore's; the fixture events are
/// LiveStore's (`e1_2` is `(1,2)`; `isLocal` there is `clientOnly` here). Where LiveStore
/// builds an expectation with `rebase_`, the number it yields is also spelled out, so a broken
/// `rebased(after:)` cannot agree with itself.
final class SyncStateMergeTests: XCTestCase {
  static func event(_ global: Int64, _ client: Int64, parent: SeqNum, _ payload: String = "a",
                    clientOnly: Bool) -> SyncEvent {
    SyncEvent(seqNum: SeqNum(global: global, client: client), parentSeqNum: parent, name: "a",
              argsJSON: "\"\(payload)\"", clientId: "static-local-id", sessionId: "static-session-id",
              clientOnly: clientOnly)
  }

  let e0_1 = event(0, 1, parent: .root, clientOnly: true)
  let e1_0 = event(1, 0, parent: .root, clientOnly: false)
  let e1_1 = event(1, 1, parent: SeqNum(global: 1), clientOnly: true)
  let e1_2 = event(1, 2, parent: SeqNum(global: 1, client: 1), clientOnly: true)
  let e1_3 = event(1, 3, parent: SeqNum(global: 1, client: 2), clientOnly: true)
  let e2_0 = event(2, 0, parent: SeqNum(global: 1), clientOnly: false)
  let e2_1 = event(2, 1, parent: SeqNum(global: 2), clientOnly: true)

  func seq(_ global: Int64, _ client: Int64 = 0) -> SeqNum { SeqNum(global: global, client: client) }

  // MARK: Result helpers

  struct WrongResult: Error, CustomStringConvertible {
    var expected: String
    var got: SyncState.MergeResult
    var description: String { "expected \(expected), got \(got)" }
  }

  struct Advance { var state: SyncState; var newEvents: [SyncEvent]; var confirmed: [SyncEvent] }
  struct Rebase { var state: SyncState; var newEvents: [SyncEvent]; var rollback: [SyncEvent] }

  func expectAdvance(_ result: SyncState.MergeResult) throws -> Advance {
    guard case .advance(let state, let newEvents, let confirmed) = result else {
      throw WrongResult(expected: "advance", got: result)
    }
    return Advance(state: state, newEvents: newEvents, confirmed: confirmed)
  }

  func expectRebase(_ result: SyncState.MergeResult) throws -> Rebase {
    guard case .rebase(let state, let newEvents, let rollback) = result else {
      throw WrongResult(expected: "rebase", got: result)
    }
    return Rebase(state: state, newEvents: newEvents, rollback: rollback)
  }

  func expectUnexpectedError(_ result: SyncState.MergeResult, file: StaticString = #filePath, line: UInt = #line) {
    guard case .unexpectedError = result else {
      return XCTFail("expected unexpected-error, got \(result)", file: file, line: line)
    }
  }

  // MARK: upstream-rebase

  func testUpstreamRebase_shouldRollbackUntilStart() throws {
    let state = SyncState(pending: [e2_0], upstreamHead: .root, localHead: e2_0.seqNum)
    let e1_0_e2_0 = e1_0.rebased(after: e2_0.seqNum)
    let e1_1_e2_1 = e1_1.rebased(after: e1_0_e2_0.seqNum)
    XCTAssertEqual([e1_0_e2_0.seqNum, e1_1_e2_1.seqNum], [seq(3), seq(3, 1)])
    let result = try state.merge(.upstreamRebase(rollbackEvents: [e1_0, e1_1], newEvents: [e1_0_e2_0, e1_1_e2_1]))
    let e2_0_e3_0 = e2_0.rebased(after: e1_0_e2_0.seqNum)
    XCTAssertEqual(e2_0_e3_0.seqNum, seq(4))
    XCTAssertEqual(e2_0_e3_0.parentSeqNum, seq(3))

    let rebase = try expectRebase(result)
    XCTAssertEqual(rebase.state.pending, [e2_0_e3_0])
    XCTAssertEqual(rebase.state.upstreamHead, e1_1_e2_1.seqNum)
    XCTAssertEqual(rebase.state.localHead, e2_0_e3_0.seqNum)
    XCTAssertEqual(rebase.newEvents, [e1_0_e2_0, e1_1_e2_1, e2_0_e3_0])
    XCTAssertEqual(rebase.rollback, [e1_0, e1_1, e2_0])
  }

  func testUpstreamRebase_shouldRollbackOnlyToSpecifiedPoint() throws {
    let state = SyncState(pending: [e2_0], upstreamHead: .root, localHead: e2_0.seqNum)
    let e1_1_e2_0 = e1_1.rebased(after: e1_0.seqNum)
    XCTAssertEqual(e1_1_e2_0.seqNum, seq(1, 1))
    let result = try state.merge(.upstreamRebase(rollbackEvents: [e1_1], newEvents: [e1_1_e2_0]))
    let e2_0_e3_0 = e2_0.rebased(after: e1_1_e2_0.seqNum)
    XCTAssertEqual(e2_0_e3_0.seqNum, seq(2))
    XCTAssertEqual(e2_0_e3_0.parentSeqNum, seq(1))

    let rebase = try expectRebase(result)
    XCTAssertEqual(rebase.state.pending, [e2_0_e3_0])
    XCTAssertEqual(rebase.state.upstreamHead, e1_1_e2_0.seqNum)
    XCTAssertEqual(rebase.state.localHead, e2_0_e3_0.seqNum)
    XCTAssertEqual(rebase.newEvents, [e1_1_e2_0, e2_0_e3_0])
    XCTAssertEqual(rebase.rollback, [e1_1, e2_0])
  }

  func testUpstreamRebase_shouldWorkForEmptyPending() throws {
    let state = SyncState(pending: [], upstreamHead: .root, localHead: e1_0.seqNum)
    let result = try state.merge(.upstreamRebase(rollbackEvents: [e1_0], newEvents: [e2_0]))

    let rebase = try expectRebase(result)
    XCTAssertEqual(rebase.state.pending, [])
    XCTAssertEqual(rebase.state.upstreamHead, e2_0.seqNum)
    XCTAssertEqual(rebase.state.localHead, e2_0.seqNum)
    XCTAssertEqual(rebase.newEvents, [e2_0])
    // Not asserted by LiveStore, but implied: nothing was pending, so only the payload's
    // rollback list is undone.
    XCTAssertEqual(rebase.rollback, [e1_0])
  }

  // MARK: upstream-advance: advance

  func testUpstreamAdvance_shouldErrorIfNewEventsAreNotSortedAscending_client() throws {
    let state = SyncState(pending: [e1_0], upstreamHead: .root, localHead: e1_0.seqNum)
    expectUnexpectedError(try state.merge(.upstreamAdvance(newEvents: [e1_1, e1_0])))
  }

  func testUpstreamAdvance_shouldErrorIfNewEventsAreNotSortedAscending_global() throws {
    let state = SyncState(pending: [e1_0], upstreamHead: .root, localHead: e1_0.seqNum)
    expectUnexpectedError(try state.merge(.upstreamAdvance(newEvents: [e2_0, e1_0])))
  }

  func testUpstreamAdvance_shouldErrorIfIncomingEventIsBelowUpstreamHead() throws {
    let state = SyncState(pending: [], upstreamHead: e2_0.seqNum, localHead: e2_0.seqNum)
    expectUnexpectedError(try state.merge(.upstreamAdvance(newEvents: [e1_0])))
  }

  func testUpstreamAdvance_shouldErrorIfIncomingEventEqualsUpstreamHead() throws {
    let state = SyncState(pending: [], upstreamHead: e2_0.seqNum, localHead: e2_0.seqNum)
    expectUnexpectedError(try state.merge(.upstreamAdvance(newEvents: [e2_0])))
  }

  func testUpstreamAdvance_shouldConfirmPendingEventWhenReceivingMatchingEvent() throws {
    let state = SyncState(pending: [e1_0], upstreamHead: .root, localHead: e1_0.seqNum)
    let advance = try expectAdvance(try state.merge(.upstreamAdvance(newEvents: [e1_0])))
    XCTAssertEqual(advance.state.pending, [])
    XCTAssertEqual(advance.state.upstreamHead, e1_0.seqNum)
    XCTAssertEqual(advance.state.localHead, e1_0.seqNum)
    XCTAssertEqual(advance.newEvents, [])
    XCTAssertEqual(advance.confirmed, [e1_0])
  }

  func testUpstreamAdvance_shouldConfirmPartialPendingEventWhenReceivingMatchingEvent() throws {
    let state = SyncState(pending: [e1_0, e2_0], upstreamHead: .root, localHead: e2_0.seqNum)
    let advance = try expectAdvance(try state.merge(.upstreamAdvance(newEvents: [e1_0])))
    XCTAssertEqual(advance.state.pending, [e2_0])
    XCTAssertEqual(advance.state.upstreamHead, e1_0.seqNum)
    XCTAssertEqual(advance.state.localHead, e2_0.seqNum)
    XCTAssertEqual(advance.newEvents, [])
    XCTAssertEqual(advance.confirmed, [e1_0])
  }

  func testUpstreamAdvance_shouldConfirmPendingEventAndAddNewEvent() throws {
    let state = SyncState(pending: [e1_0], upstreamHead: .root, localHead: e1_0.seqNum)
    let advance = try expectAdvance(try state.merge(.upstreamAdvance(newEvents: [e1_0, e1_1])))
    XCTAssertEqual(advance.state.pending, [])
    XCTAssertEqual(advance.state.upstreamHead, e1_1.seqNum)
    XCTAssertEqual(advance.state.localHead, e1_1.seqNum)
    XCTAssertEqual(advance.newEvents, [e1_1])
    XCTAssertEqual(advance.confirmed, [e1_0])
  }

  func testUpstreamAdvance_shouldConfirmPendingEventAndAddMultipleNewEvents() throws {
    let state = SyncState(pending: [e1_1], upstreamHead: e1_0.seqNum, localHead: e1_1.seqNum)
    let advance = try expectAdvance(try state.merge(.upstreamAdvance(newEvents: [e1_1, e1_2, e1_3, e2_0, e2_1])))
    XCTAssertEqual(advance.state.pending, [])
    XCTAssertEqual(advance.state.upstreamHead, e2_1.seqNum)
    XCTAssertEqual(advance.state.localHead, e2_1.seqNum)
    XCTAssertEqual(advance.newEvents, [e1_2, e1_3, e2_0, e2_1])
    XCTAssertEqual(advance.confirmed, [e1_1])
  }

  func testUpstreamAdvance_shouldConfirmPendingGlobalEventWhileKeepingPendingClientEvents() throws {
    let state = SyncState(pending: [e1_0, e1_1], upstreamHead: .root, localHead: e1_1.seqNum)
    let advance = try expectAdvance(try state.merge(.upstreamAdvance(newEvents: [e1_0])))
    XCTAssertEqual(advance.state.pending, [e1_1])
    XCTAssertEqual(advance.state.upstreamHead, e1_0.seqNum)
    XCTAssertEqual(advance.state.localHead, e1_1.seqNum)
    XCTAssertEqual(advance.newEvents, [])
    XCTAssertEqual(advance.confirmed, [e1_0])
  }

  func testUpstreamAdvance_shouldIgnoreClientEvents_incomingIsSubsetOfPending() throws {
    let state = SyncState(pending: [e0_1, e1_0], upstreamHead: .root, localHead: e1_0.seqNum)
    let advance = try expectAdvance(try state.merge(.upstreamAdvance(newEvents: [e1_0]), ignoreClientEvents: true))
    XCTAssertEqual(advance.state.pending, [])
    XCTAssertEqual(advance.state.upstreamHead, e1_0.seqNum)
    XCTAssertEqual(advance.state.localHead, e1_0.seqNum)
    XCTAssertEqual(advance.newEvents, [])
    XCTAssertEqual(advance.confirmed, [e0_1, e1_0])
  }

  func testUpstreamAdvance_shouldIgnoreClientEvents_incomingIsSubsetOfPendingCase2() throws {
    // LiveStore's state here has a stale local head (e1 while e2 is pending); merge must not care.
    let state = SyncState(pending: [e0_1, e1_0, e2_0], upstreamHead: .root, localHead: e1_0.seqNum)
    let advance = try expectAdvance(try state.merge(.upstreamAdvance(newEvents: [e1_0]), ignoreClientEvents: true))
    XCTAssertEqual(advance.state.pending, [e2_0])
    XCTAssertEqual(advance.state.upstreamHead, e1_0.seqNum)
    XCTAssertEqual(advance.state.localHead, e2_0.seqNum)
    XCTAssertEqual(advance.newEvents, [])
    XCTAssertEqual(advance.confirmed, [e0_1, e1_0])
  }

  func testUpstreamAdvance_shouldIgnoreClientEvents_incomingGoesBeyondPending() throws {
    let state = SyncState(pending: [e0_1, e1_0, e1_1], upstreamHead: .root, localHead: e1_1.seqNum)
    let advance = try expectAdvance(try state.merge(.upstreamAdvance(newEvents: [e1_0, e2_0]), ignoreClientEvents: true))
    XCTAssertEqual(advance.state.pending, [])
    XCTAssertEqual(advance.state.upstreamHead, e2_0.seqNum)
    XCTAssertEqual(advance.state.localHead, e2_0.seqNum)
    XCTAssertEqual(advance.newEvents, [e2_0])
    XCTAssertEqual(advance.confirmed, [e0_1, e1_0, e1_1])
  }

  func testUpstreamAdvance_shouldFailIfIncomingEventIsAtOrBelowLocalHead() throws {
    let state = SyncState(pending: [], upstreamHead: e2_0.seqNum, localHead: e2_0.seqNum)
    expectUnexpectedError(try state.merge(.upstreamAdvance(newEvents: [e1_0])))
  }

  // MARK: upstream-advance: rebase

  func testUpstreamAdvanceRebase_shouldRebaseSingleClientEventToEnd() throws {
    let state = SyncState(pending: [e1_0], upstreamHead: .root, localHead: e1_0.seqNum)
    let result = try state.merge(.upstreamAdvance(newEvents: [e1_1]))
    // LiveStore calls it e1_0_e1_2, but e1_0 is a synced event: it moves to (2,0).
    let e1_0_e1_2 = e1_0.rebased(after: e1_1.seqNum)
    XCTAssertEqual(e1_0_e1_2.seqNum, seq(2))
    XCTAssertEqual(e1_0_e1_2.parentSeqNum, seq(1))

    let rebase = try expectRebase(result)
    XCTAssertEqual(rebase.state.pending, [e1_0_e1_2])
    XCTAssertEqual(rebase.state.upstreamHead, e1_1.seqNum)
    XCTAssertEqual(rebase.state.localHead, e1_0_e1_2.seqNum)
    XCTAssertEqual(rebase.rollback, [e1_0])
    XCTAssertEqual(rebase.newEvents, [e1_1, e1_0_e1_2])
  }

  func testUpstreamAdvanceRebase_shouldRebaseDifferentEventWithSameId() throws {
    let e2_0_b = Self.event(1, 0, parent: e1_0.seqNum, "1_0_b", clientOnly: false)
    let state = SyncState(pending: [e2_0_b], upstreamHead: .root, localHead: e2_0_b.seqNum)
    let result = try state.merge(.upstreamAdvance(newEvents: [e2_0]))
    let e2_0_e3_0 = e2_0_b.rebased(after: e2_0.seqNum)
    XCTAssertEqual(e2_0_e3_0.seqNum, seq(3))
    XCTAssertEqual(e2_0_e3_0.argsJSON, "\"1_0_b\"")

    let rebase = try expectRebase(result)
    XCTAssertEqual(rebase.state.pending, [e2_0_e3_0])
    XCTAssertEqual(rebase.newEvents, [e2_0, e2_0_e3_0])
    XCTAssertEqual(rebase.rollback, [e2_0_b])
    XCTAssertEqual(rebase.state.upstreamHead, e2_0.seqNum)
    XCTAssertEqual(rebase.state.localHead, e2_0_e3_0.seqNum)
  }

  func testUpstreamAdvanceRebase_shouldRebaseSingleClientEventToEnd_moreIncomingEvents() throws {
    let state = SyncState(pending: [e1_0], upstreamHead: .root, localHead: e1_0.seqNum)
    let result = try state.merge(.upstreamAdvance(newEvents: [e1_1, e1_2, e1_3, e2_0]))
    let e1_0_e3_0 = e1_0.rebased(after: e2_0.seqNum)
    XCTAssertEqual(e1_0_e3_0.seqNum, seq(3))

    let rebase = try expectRebase(result)
    XCTAssertEqual(rebase.state.pending, [e1_0_e3_0])
    XCTAssertEqual(rebase.state.upstreamHead, e2_0.seqNum)
    XCTAssertEqual(rebase.state.localHead, e1_0_e3_0.seqNum)
    // LiveStore stops here; what follows is implied by the rules (§6.4).
    XCTAssertEqual(rebase.rollback, [e1_0])
    XCTAssertEqual(rebase.newEvents, [e1_1, e1_2, e1_3, e2_0, e1_0_e3_0])
  }

  func testUpstreamAdvanceRebase_shouldOnlyRebaseDivergentEventsWhenFirstEventMatches() throws {
    // Stale local head again (e1 while e1+1 is pending), as in LiveStore's case.
    let state = SyncState(pending: [e1_0, e1_1], upstreamHead: .root, localHead: e1_0.seqNum)
    let result = try state.merge(.upstreamAdvance(newEvents: [e1_0, e1_2, e1_3, e2_0]))
    let e1_1_e2_1 = e1_1.rebased(after: e2_0.seqNum)
    XCTAssertEqual(e1_1_e2_1.seqNum, seq(2, 1))
    XCTAssertEqual(e1_1_e2_1.parentSeqNum, seq(2))

    let rebase = try expectRebase(result)
    XCTAssertEqual(rebase.state.pending, [e1_1_e2_1])
    XCTAssertEqual(rebase.rollback, [e1_1])
    XCTAssertEqual(rebase.newEvents, [e1_2, e1_3, e2_0, e1_1_e2_1])
    XCTAssertEqual(rebase.state.upstreamHead, e2_0.seqNum)
    XCTAssertEqual(rebase.state.localHead, e1_1_e2_1.seqNum)
  }

  func testUpstreamAdvanceRebase_shouldRebaseAllClientEventsWhenIncomingChainStartsDifferently() throws {
    let state = SyncState(pending: [e1_0, e1_1], upstreamHead: .root, localHead: e1_1.seqNum)
    let result = try state.merge(.upstreamAdvance(newEvents: [e1_1, e1_2, e1_3, e2_0]))
    let e1_0_e2_1 = e1_0.rebased(after: e2_0.seqNum)
    let e1_1_e2_2 = e1_1.rebased(after: e1_0_e2_1.seqNum)
    XCTAssertEqual([e1_0_e2_1.seqNum, e1_1_e2_2.seqNum], [seq(3), seq(3, 1)])

    let rebase = try expectRebase(result)
    XCTAssertEqual(rebase.state.pending, [e1_0_e2_1, e1_1_e2_2])
    XCTAssertEqual(rebase.newEvents, [e1_1, e1_2, e1_3, e2_0, e1_0_e2_1, e1_1_e2_2])
    XCTAssertEqual(rebase.rollback, [e1_0, e1_1])
    XCTAssertEqual(rebase.state.upstreamHead, e2_0.seqNum)
    XCTAssertEqual(rebase.state.localHead, e1_1_e2_2.seqNum)
  }

  // MARK: local-push

  func testLocalPush_shouldAdvanceWithNewEvents() throws {
    let state = SyncState(pending: [e1_0], upstreamHead: .root, localHead: e1_0.seqNum)
    let advance = try expectAdvance(try state.merge(.localPush(newEvents: [e1_1, e1_2, e1_3])))
    XCTAssertEqual(advance.state.pending, [e1_0, e1_1, e1_2, e1_3])
    XCTAssertEqual(advance.state.upstreamHead, .root)
    XCTAssertEqual(advance.state.localHead, e1_3.seqNum)
    XCTAssertEqual(advance.newEvents, [e1_1, e1_2, e1_3])
    XCTAssertEqual(advance.confirmed, [])
  }

  func testLocalPush_shouldRejectWhenNewEventsAreNotAfterLocalHead() throws {
    // LiveStore's title: "should reject when new events are greater than pending events".
    let state = SyncState(pending: [e1_0, e1_1], upstreamHead: .root, localHead: e1_1.seqNum)
    let result = try state.merge(.localPush(newEvents: [e1_1, e1_2]))
    XCTAssertEqual(result, .reject(expectedMinimum: e1_2.seqNum))
  }

  // MARK: Beyond LiveStore's suite

  func testEmptyPayloadsChangeNothing() throws {
    let state = SyncState(pending: [e1_0, e1_1], upstreamHead: .root, localHead: e1_1.seqNum)
    XCTAssertEqual(try state.merge(.localPush(newEvents: [])), .advance(newState: state, newEvents: [], confirmedEvents: []))
    XCTAssertEqual(try state.merge(.upstreamAdvance(newEvents: []), ignoreClientEvents: true),
                   .advance(newState: state, newEvents: [], confirmedEvents: []))
  }

  /// The §6.4 worked example: a different event at the same number.
  func testWorkedExampleFromSpec() throws {
    let mine = Self.event(1, 0, parent: .root, "mine", clientOnly: false)
    let theirs = Self.event(1, 0, parent: .root, "theirs", clientOnly: false)
    let result = try SyncState(pending: [mine], localHead: mine.seqNum).merge(.upstreamAdvance(newEvents: [theirs]),
                                                                                 ignoreClientEvents: true)
    let moved = Self.event(2, 0, parent: seq(1), "mine", clientOnly: false)
    XCTAssertEqual(result, .rebase(newState: SyncState(pending: [moved], upstreamHead: seq(1), localHead: seq(2)),
                                   newEvents: [theirs, moved], rollbackEvents: [mine]))
  }

  /// Pins the divergence-index quirk documented on `SyncState.divergenceIndex`: a client-only
  /// event before the mismatching synced one is rolled back and renumbered with it.
  func testIgnoreClientEventsDivergenceAfterClientEventRollsItBackToo() throws {
    let mine = Self.event(1, 0, parent: .root, "mine", clientOnly: false)
    let theirs = Self.event(1, 0, parent: .root, "theirs", clientOnly: false)
    let state = SyncState(pending: [e0_1, mine], localHead: mine.seqNum)
    let rebase = try expectRebase(try state.merge(.upstreamAdvance(newEvents: [theirs]), ignoreClientEvents: true))
    XCTAssertEqual(rebase.rollback, [e0_1, mine])
    XCTAssertEqual(rebase.state.pending.map(\.seqNum), [seq(1, 1), seq(2)])
    XCTAssertEqual(rebase.newEvents.map(\.seqNum), [seq(1), seq(1, 1), seq(2)])
  }

  func testIncomingDuplicatesPassTheOrderCheckAsInLiveStore() throws {
    let state = SyncState(pending: [e1_0], localHead: e1_0.seqNum)
    let advance = try expectAdvance(try state.merge(.upstreamAdvance(newEvents: [e1_0, e1_0])))
    XCTAssertEqual(advance.confirmed, [e1_0])
    XCTAssertEqual(advance.newEvents, [])
  }

  func testBrokenInputChainIsAnInvariantViolation() {
    let unordered = SyncState(pending: [e2_0, e1_0], localHead: e2_0.seqNum)
    XCTAssertThrowsError(try unordered.merge(.localPush(newEvents: [])))
    let clientOpeningGlobal = SyncState(pending: [e1_0, e2_1], localHead: e2_1.seqNum)
    XCTAssertThrowsError(try clientOpeningGlobal.merge(.localPush(newEvents: [])))
    let brokenParent = SyncState(pending: [e1_0, e1_2], localHead: e1_2.seqNum)
    XCTAssertThrowsError(try brokenParent.merge(.localPush(newEvents: [])))
  }

  func testPostConditionsAreChecked() {
    // A push that breaks the chain is accepted by LiveStore's rules but leaves an invalid state.
    let state = SyncState(pending: [e1_0], localHead: e1_0.seqNum)
    XCTAssertThrowsError(try state.merge(.localPush(newEvents: [e1_2]))) { error in
      XCTAssertTrue("\(error)".contains("parent"), "\(error)")
    }
    // An upstream rebase whose new head is behind the old one moves the upstream head back.
    let ahead = SyncState(pending: [], upstreamHead: seq(2), localHead: seq(2))
    XCTAssertThrowsError(try ahead.merge(.upstreamRebase(rollbackEvents: [], newEvents: [e1_0])))
  }
}
