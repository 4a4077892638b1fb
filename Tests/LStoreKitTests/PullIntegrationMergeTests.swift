import Foundation
import XCTest
@testable import LStoreKit

/// Cross-checks `PullIntegration` (what `lstore pull` does to a real eventlog) against
/// `SyncState.merge` with `ignoreClientEvents: true` (what a LiveStore leader does with a
/// pull), for the upstream-advance cases of LiveStore's syncstate suite.
///
/// Each test builds the case's pending events in a real store and its incoming events in a
/// backend store, asks `SyncState.merge` what should happen, pulls, and checks the eventlog
/// is exactly the predicted one: the old eventlog without the rolled-back events, plus the
/// merge's new events, in sequence-number order.
///
/// Fixture mapping (TodoMVC schema): LiveStore's synced fixture events become
/// `v1.TodoCreated` (one todo id per event, so different events differ in args), its
/// client-only ones `uiStateSet`. Events of "another client" are `v1.TodoCreated` by client
/// `O`, pushed to the backend directly.
///
/// Not reproducible through a store, and left to `SyncStateMergeTests`:
/// - every case whose incoming events include client-only events (`e1_1`, `e1_2`, `e1_3`,
///   `e2_1`): a backend only ever holds synced events, numbered by a single integer. That is
///   "not sorted (client)", "confirm pending event and add new event", "confirm pending
///   event and add multiple new events", "rebase single client event to end" (both),
///   "only rebase divergent events when first event matches" and "rebase all client events
///   when incoming chain starts differently". For the last three the analog with synced
///   incoming events is tested instead;
/// - "rebase different event with same id": its incoming `e2` follows the upstream head `e0`
///   with a gap, which a contiguous backend never sends (the same-number case it is named
///   after is covered as the §6.4 worked example);
/// - the upstream-rebase and local-push cases: those payloads never come from a backend.
///
/// One known disagreement: when a client-only pending event sits before the first pending
/// synced event that differs (pending [e0+1 uiStateSet, e1 mine], incoming [e1 theirs]),
/// LiveStore's divergence index lands on the client-only event and rolls it back and
/// renumbers it too (e0+1 → e1+1, e1 → e2); a pull leaves it at e0+1 and moves only e1 → e2.
/// A pull executes `SyncState.merge` with `DivergenceRule.firstDifference`; the cases where
/// the two rules differ are checked against that rule at the end of this file.
final class PullIntegrationMergeTests: SyncStoresTestCase {
  // MARK: Building stores (makeStore comes from SyncStoresTestCase)

  /// A local store (client `L`) and an empty backend store.
  func makeLocalAndBackend() throws -> (Replica, LocalStoreTransport) {
    let (backendStore, _) = try makeStore("backend", client: "server")
    let (_, local) = try makeStore("local", client: "L")
    return (local, try LocalStoreTransport(path: backendStore.workDirectory, now: "now"))
  }

  func created(_ id: String) -> EventInput {
    EventInput(name: "v1.TodoCreated", args: ["id": .string(id), "text": "x"])
  }

  func uiStateSet(_ filter: String) -> EventInput {
    EventInput(name: "uiStateSet", args: ["value": ["filter": .string(filter)]])
  }

  /// Commits each input as its own commit, like a user working event by event.
  func commitLocally(_ replica: Replica, _ inputs: [EventInput]) throws {
    for input in inputs {
      _ = try replica.commit([input], message: input.name, author: Author(name: "L", email: ""), time: "t",
                             identity: .init(clientId: "L", sessionId: "s-L"))
    }
  }

  /// Puts the local store's own pending synced event `global` into the backend, as if its push
  /// had reached the backend but the acknowledgement never came back.
  func pushOwnEventToBackend(_ replica: Replica, global: Int64, _ backend: LocalStoreTransport) async throws {
    var record: EventRecord?
    try replica.eventlog.forEach { row in
      if row.seqNum == SeqNum(global: global) { record = row.record }
      return record == nil
    }
    let outcome = try await backend.push([try SyncClient.remoteEvent(try XCTUnwrap(record))])
    XCTAssertEqual(outcome, .accepted(metadata: nil))
  }

  /// Another client's `v1.TodoCreated` at backend position `global`.
  func pushOtherEventToBackend(_ id: String, global: Int64, _ backend: LocalStoreTransport) async throws {
    let event = RemoteEvent(seqNum: global, parentSeqNum: global - 1, name: "v1.TodoCreated",
                            args: ["id": .string(id), "text": "x"], clientId: "O", sessionId: "s-O")
    let outcome = try await backend.push([event])
    XCTAssertEqual(outcome, .accepted(metadata: nil))
  }

  // MARK: Prediction

  struct LogLine: Equatable, CustomStringConvertible {
    var seqNum: SeqNum
    var parentSeqNum: SeqNum
    var name: String
    var argsJSON: String
    var clientId: String
    var description: String { "\(seqNum)←\(parentSeqNum) \(name) \(argsJSON) \(clientId)" }
  }

  func line(_ event: SyncEvent) -> LogLine {
    LogLine(seqNum: event.seqNum, parentSeqNum: event.parentSeqNum, name: event.name, argsJSON: event.argsJSON,
            clientId: event.clientId)
  }

  func eventlog(_ replica: Replica) throws -> [LogLine] {
    var lines: [LogLine] = []
    try replica.eventlog.forEach { row in
      lines.append(LogLine(seqNum: row.seqNum, parentSeqNum: row.parentSeqNum, name: row.name,
                           argsJSON: row.argsJSON, clientId: row.clientId))
      return true
    }
    return lines
  }

  /// The store's sync state as LiveStore's leader would hold it after booting from this
  /// eventlog (§6.3): upstream head `(backendHead, 0)`, pending = everything after it.
  func syncState(of replica: Replica) throws -> SyncState {
    let backendHead = try replica.eventlog.backendHead()
    var pending: [SyncEvent] = []
    try replica.eventlog.forEach(after: SeqNum(global: backendHead)) { row in
      let clientOnly = replica.schema.event(named: row.name)?.clientOnly ?? row.seqNum.isClientOnly
      pending.append(SyncEvent(seqNum: row.seqNum, parentSeqNum: row.parentSeqNum, name: row.name,
                               argsJSON: row.argsJSON, clientId: row.clientId, sessionId: row.sessionId,
                               clientOnly: clientOnly))
      return true
    }
    return SyncState(pending: pending, upstreamHead: SeqNum(global: backendHead),
                     localHead: try replica.eventlog.head())
  }

  /// What a pull would deliver: the backend's events after the store's backend head.
  func incoming(_ replica: Replica, _ backend: SyncTransport) async throws -> [SyncEvent] {
    var events: [SyncEvent] = []
    try await backend.pull(after: try replica.eventlog.backendHead()) { page in
      events += page.events.map(SyncEvent.init)
    }
    return events
  }

  struct NoPrediction: Error, CustomStringConvertible {
    var result: SyncState.MergeResult
    var description: String { "a backend pull should merge, got \(result)" }
  }

  struct Outcome {
    var merge: SyncState.MergeResult
    var pull: PullIntegration.Result
  }

  /// Predicts with `SyncState.merge`, pulls, and checks the store against the prediction.
  /// Returns both so each test can also pin the case's specifics.
  func pullAndCompare(_ replica: Replica, _ backend: LocalStoreTransport, rule: SyncState.DivergenceRule = .liveStore,
                      file: StaticString = #filePath, line testLine: UInt = #line) async throws -> Outcome {
    let before = try eventlog(replica)
    let state = try syncState(of: replica)
    let merge = try state.merge(.upstreamAdvance(newEvents: try await incoming(replica, backend)),
                                ignoreClientEvents: true, divergence: rule)
    let predicted: [LogLine]
    let predictedState: SyncState
    let predictedRenumbering: [(SeqNum, SeqNum)]
    switch merge {
    case .advance(let newState, let newEvents, _):
      predicted = (before + newEvents.map(line)).sorted { $0.seqNum < $1.seqNum }
      predictedState = newState
      predictedRenumbering = []
    case .rebase(let newState, let newEvents, let rollback):
      let undone = Set(rollback.map(\.seqNum))
      predicted = (before.filter { !undone.contains($0.seqNum) } + newEvents.map(line)).sorted { $0.seqNum < $1.seqNum }
      predictedState = newState
      predictedRenumbering = zip(rollback.map(\.seqNum), newState.pending.suffix(rollback.count).map(\.seqNum)).map { ($0, $1) }
    case .reject, .unexpectedError:
      throw NoPrediction(result: merge)
    }

    let pull = try await SyncClient(replica: replica, transport: backend).pull()

    XCTAssertEqual(try eventlog(replica), predicted, "eventlog", file: file, line: testLine)
    XCTAssertEqual(try replica.eventlog.backendHead(), predictedState.upstreamHead.global, "backend head",
                   file: file, line: testLine)
    XCTAssertEqual(pull.backendHead, predictedState.upstreamHead.global, file: file, line: testLine)
    XCTAssertEqual(try replica.eventlog.head(), predictedState.localHead, "local head", file: file, line: testLine)
    XCTAssertEqual(pull.renumbered.map { "\($0.0)→\($0.1)" }, predictedRenumbering.map { "\($0.0)→\($0.1)" },
                   "rebased events", file: file, line: testLine)
    XCTAssertEqual(try replica.stateHead(), try replica.eventlog.head(), "state caught up", file: file, line: testLine)
    return Outcome(merge: merge, pull: pull)
  }

  func seqNums(_ replica: Replica) throws -> [String] { try eventlog(replica).map { "\($0.seqNum)" } }

  // MARK: upstream-advance: advance (LiveStore's cases)

  /// "should confirm pending event when receiving matching event": pending [e1], incoming [e1].
  func testShouldConfirmPendingEventWhenReceivingMatchingEvent() async throws {
    let (local, backend) = try makeLocalAndBackend()
    try commitLocally(local, [created("a")])
    try await pushOwnEventToBackend(local, global: 1, backend)

    let outcome = try await pullAndCompare(local, backend)
    guard case .advance(_, let newEvents, let confirmed) = outcome.merge else { return XCTFail("\(outcome.merge)") }
    XCTAssertEqual(newEvents, [])
    XCTAssertEqual(confirmed.map(\.seqNum.description), ["e1"])
    XCTAssertEqual(outcome.pull.confirmed, 1)
    XCTAssertEqual(outcome.pull.rebased, 0)
    XCTAssertEqual(try seqNums(local), ["e1"])
  }

  /// "should confirm partial pending event when receiving matching event": pending [e1, e2],
  /// incoming [e1].
  func testShouldConfirmPartialPendingEventWhenReceivingMatchingEvent() async throws {
    let (local, backend) = try makeLocalAndBackend()
    try commitLocally(local, [created("a"), created("b")])
    try await pushOwnEventToBackend(local, global: 1, backend)

    let outcome = try await pullAndCompare(local, backend)
    guard case .advance(let state, _, let confirmed) = outcome.merge else { return XCTFail("\(outcome.merge)") }
    XCTAssertEqual(state.pending.map(\.seqNum.description), ["e2"])
    XCTAssertEqual(confirmed.map(\.seqNum.description), ["e1"])
    XCTAssertEqual(outcome.pull.confirmed, 1)
    XCTAssertEqual(outcome.pull.rebased, 0)
    XCTAssertEqual(try local.eventlog.pendingCount().synced, 1)
  }

  /// "should confirm pending global event while keep pending client events": pending
  /// [e1, e1+1], incoming [e1]. With client events ignored LiveStore confirms e1+1 as well
  /// (it will never go upstream); in the store it simply stays where it is.
  func testShouldConfirmPendingGlobalEventWhileKeepingPendingClientEvents() async throws {
    let (local, backend) = try makeLocalAndBackend()
    try commitLocally(local, [created("a"), uiStateSet("active")])
    try await pushOwnEventToBackend(local, global: 1, backend)

    let outcome = try await pullAndCompare(local, backend)
    guard case .advance(let state, _, let confirmed) = outcome.merge else { return XCTFail("\(outcome.merge)") }
    XCTAssertEqual(confirmed.map(\.seqNum.description), ["e1", "e1+1"])
    XCTAssertEqual(state.localHead, SeqNum(global: 1, client: 1))
    XCTAssertEqual(try seqNums(local), ["e1", "e1+1"])
    XCTAssertEqual(outcome.pull.rebased, 0)
  }

  /// "should ignore client events (incoming is subset of pending)": pending [e0+1, e1],
  /// incoming [e1].
  func testShouldIgnoreClientEvents_incomingIsSubsetOfPending() async throws {
    let (local, backend) = try makeLocalAndBackend()
    try commitLocally(local, [uiStateSet("active"), created("a")])
    XCTAssertEqual(try seqNums(local), ["e0+1", "e1"])
    try await pushOwnEventToBackend(local, global: 1, backend)

    let outcome = try await pullAndCompare(local, backend)
    guard case .advance(let state, let newEvents, let confirmed) = outcome.merge else {
      return XCTFail("\(outcome.merge)")
    }
    XCTAssertEqual(confirmed.map(\.seqNum.description), ["e0+1", "e1"])
    XCTAssertEqual(newEvents, [])
    XCTAssertEqual(state.pending, [])
    XCTAssertEqual(try seqNums(local), ["e0+1", "e1"])
    XCTAssertEqual(outcome.pull.confirmed, 1)
  }

  /// "should ignore client events (incoming is subset of pending case 2)": pending
  /// [e0+1, e1, e2], incoming [e1].
  func testShouldIgnoreClientEvents_incomingIsSubsetOfPendingCase2() async throws {
    let (local, backend) = try makeLocalAndBackend()
    try commitLocally(local, [uiStateSet("active"), created("a"), created("b")])
    try await pushOwnEventToBackend(local, global: 1, backend)

    let outcome = try await pullAndCompare(local, backend)
    guard case .advance(let state, let newEvents, let confirmed) = outcome.merge else {
      return XCTFail("\(outcome.merge)")
    }
    XCTAssertEqual(confirmed.map(\.seqNum.description), ["e0+1", "e1"])
    XCTAssertEqual(newEvents, [])
    XCTAssertEqual(state.pending.map(\.seqNum.description), ["e2"])
    XCTAssertEqual(try seqNums(local), ["e0+1", "e1", "e2"])
    XCTAssertEqual(try local.eventlog.backendHead(), 1)
  }

  /// "should ignore client events (incoming goes beyond pending)": pending [e0+1, e1, e1+1],
  /// incoming [e1, e2]. The pulled e2 lands after the client-only e1+1, nothing moves.
  func testShouldIgnoreClientEvents_incomingGoesBeyondPending() async throws {
    let (local, backend) = try makeLocalAndBackend()
    try commitLocally(local, [uiStateSet("active"), created("a"), uiStateSet("completed")])
    try await pushOwnEventToBackend(local, global: 1, backend)
    try await pushOtherEventToBackend("o2", global: 2, backend)

    let outcome = try await pullAndCompare(local, backend)
    guard case .advance(let state, let newEvents, let confirmed) = outcome.merge else {
      return XCTFail("\(outcome.merge)")
    }
    XCTAssertEqual(confirmed.map(\.seqNum.description), ["e0+1", "e1", "e1+1"])
    XCTAssertEqual(newEvents.map(\.seqNum.description), ["e2"])
    XCTAssertEqual(state.localHead, SeqNum(global: 2))
    XCTAssertEqual(try seqNums(local), ["e0+1", "e1", "e1+1", "e2"])
    XCTAssertEqual(try eventlog(local).last?.clientId, "O")
    XCTAssertEqual(outcome.pull.rebased, 0)
  }

  // MARK: upstream-advance: errors (LiveStore's cases, through a misbehaving backend)

  /// A backend that answers every pull with one fixed page, whatever the cursor.
  final class FixedPageTransport: SyncTransport {
    let events: [RemoteEvent]
    init(_ events: [RemoteEvent]) { self.events = events }
    var description: String { "fixed page" }
    var maxBatchSize: Int { 100 }
    func pull(after cursor: Int64, onPage: (PullPage) throws -> Void) async throws {
      try onPage(PullPage(events: events, remaining: 0))
    }
    func push(_ batch: [RemoteEvent]) async throws -> PushOutcome { .rejected(reason: "read-only", backendHead: nil) }
    func backendHead() async throws -> Int64? { events.last?.seqNum }
    func close() async {}
  }

  func other(_ global: Int64, parent: Int64) -> RemoteEvent {
    RemoteEvent(seqNum: global, parentSeqNum: parent, name: "v1.TodoCreated", args: ["id": .string("o\(global)"), "text": "x"],
                clientId: "O", sessionId: "s-O")
  }

  /// LiveStore answers unexpected-error; lstore must refuse the page and leave the store as it was.
  func assertRefused(_ replica: Replica, page: [RemoteEvent], file: StaticString = #filePath,
                     line testLine: UInt = #line) async throws {
    let state = try syncState(of: replica)
    let newEvents = page.map(SyncEvent.init)
    let merge = try state.merge(.upstreamAdvance(newEvents: newEvents), ignoreClientEvents: true)
    guard case .unexpectedError = merge else {
      return XCTFail("the prediction should be unexpected-error, got \(merge)", file: file, line: testLine)
    }
    let before = try eventlog(replica)
    let backendHead = try replica.eventlog.backendHead()
    // A network pull asks from one event before the backend head and checks that event
    // first (SyncClient.pull): the backend sends it back, so the page itself is what the
    // integration has to refuse.
    let echoed = try replica.eventlog.event(at: SeqNum(global: backendHead)).map { [try SyncClient.remoteEvent($0)] } ?? []
    do {
      _ = try await SyncClient(replica: replica, transport: FixedPageTransport(echoed + page)).pull()
      XCTFail("the pull must be refused", file: file, line: testLine)
    } catch let error as SyncError {
      guard case .outOfOrder = error else { return XCTFail("\(error)", file: file, line: testLine) }
    }
    XCTAssertEqual(try eventlog(replica), before, file: file, line: testLine)
    XCTAssertEqual(try replica.eventlog.backendHead(), backendHead, file: file, line: testLine)
  }

  /// "should throw error if newEvents are not sorted in ascending order by event number
  /// (global)": pending [e1], incoming [e2, e1].
  func testShouldErrorIfNewEventsAreNotSortedAscending_global() async throws {
    let (local, _) = try makeLocalAndBackend()
    try commitLocally(local, [created("a")])
    try await assertRefused(local, page: [other(2, parent: 1), other(1, parent: 0)])
  }

  /// A store whose backend head is e2 (it pushed two events).
  func storeAtBackendHead2() async throws -> Replica {
    let (local, backend) = try makeLocalAndBackend()
    try commitLocally(local, [created("a"), created("b")])
    _ = try await SyncClient(replica: local, transport: backend).push()
    XCTAssertEqual(try local.eventlog.backendHead(), 2)
    return local
  }

  /// "should throw error if incoming event is < expected upstream head", and "should fail if
  /// incoming event is ≤ local head", which is the same input in LiveStore's suite.
  func testShouldErrorIfIncomingEventIsBelowUpstreamHead() async throws {
    let local = try await storeAtBackendHead2()
    try await assertRefused(local, page: [other(1, parent: 0)])
  }

  /// "should throw error if incoming event is = expected upstream head".
  func testShouldErrorIfIncomingEventEqualsUpstreamHead() async throws {
    let local = try await storeAtBackendHead2()
    try await assertRefused(local, page: [other(2, parent: 1)])
  }

  // MARK: upstream-advance: rebase (analogs with synced incoming events)

  /// The §6.4 worked example, and the realistic form of "should rebase different event with
  /// same id": pending [e1 mine], incoming [e1 theirs] → mine moves to e2.
  func testRebaseDifferentEventWithSameNumber() async throws {
    let (local, backend) = try makeLocalAndBackend()
    try commitLocally(local, [created("a")])
    try await pushOtherEventToBackend("o1", global: 1, backend)

    let outcome = try await pullAndCompare(local, backend)
    guard case .rebase(_, let newEvents, let rollback) = outcome.merge else { return XCTFail("\(outcome.merge)") }
    XCTAssertEqual(rollback.map(\.seqNum.description), ["e1"])
    XCTAssertEqual(newEvents.map { "\($0.seqNum) \($0.clientId)" }, ["e1 O", "e2 L"])
    XCTAssertEqual(try eventlog(local).map { "\($0.seqNum)←\($0.parentSeqNum) \($0.clientId)" }, ["e1←e0 O", "e2←e1 L"])
  }

  /// Analog of "should only rebase divergent events when first event matches": pending
  /// [e1, e2], incoming [e1 (ours), e2 (theirs)] → e1 confirmed, only e2 moves (to e3).
  func testOnlyRebaseDivergentEventsWhenFirstEventMatches() async throws {
    let (local, backend) = try makeLocalAndBackend()
    try commitLocally(local, [created("a"), created("b")])
    try await pushOwnEventToBackend(local, global: 1, backend)
    try await pushOtherEventToBackend("o2", global: 2, backend)

    let outcome = try await pullAndCompare(local, backend)
    guard case .rebase(let state, let newEvents, let rollback) = outcome.merge else {
      return XCTFail("\(outcome.merge)")
    }
    XCTAssertEqual(rollback.map(\.seqNum.description), ["e2"])
    XCTAssertEqual(newEvents.map { "\($0.seqNum) \($0.clientId)" }, ["e2 O", "e3 L"])
    XCTAssertEqual(state.upstreamHead, SeqNum(global: 2))
    XCTAssertEqual(outcome.pull.confirmed, 1)
    XCTAssertEqual(outcome.pull.rebased, 1)
  }

  /// Analog of "should rebase all client events when incoming chain starts differently":
  /// pending [e1, e1+1], incoming [e1, e2] (theirs) → e1 → e3, e1+1 → e3+1.
  func testRebaseAllEventsWhenIncomingChainStartsDifferently() async throws {
    let (local, backend) = try makeLocalAndBackend()
    try commitLocally(local, [created("a"), uiStateSet("active")])
    try await pushOtherEventToBackend("o1", global: 1, backend)
    try await pushOtherEventToBackend("o2", global: 2, backend)

    let outcome = try await pullAndCompare(local, backend)
    guard case .rebase(let state, _, let rollback) = outcome.merge else { return XCTFail("\(outcome.merge)") }
    XCTAssertEqual(rollback.map(\.seqNum.description), ["e1", "e1+1"])
    XCTAssertEqual(state.pending.map(\.seqNum.description), ["e3", "e3+1"])
    XCTAssertEqual(try seqNums(local), ["e1", "e2", "e3", "e3+1"])
    XCTAssertEqual(outcome.pull.renumbered.map { "\($0.0)→\($0.1)" }, ["e1→e3", "e1+1→e3+1"])
  }

  /// Analog of "should confirm pending event and add new event": pending [e1], incoming
  /// [e1 (ours), e2 (theirs)].
  func testConfirmPendingEventAndAddNewEvent() async throws {
    let (local, backend) = try makeLocalAndBackend()
    try commitLocally(local, [created("a")])
    try await pushOwnEventToBackend(local, global: 1, backend)
    try await pushOtherEventToBackend("o2", global: 2, backend)

    let outcome = try await pullAndCompare(local, backend)
    guard case .advance(_, let newEvents, let confirmed) = outcome.merge else { return XCTFail("\(outcome.merge)") }
    XCTAssertEqual(confirmed.map(\.seqNum.description), ["e1"])
    XCTAssertEqual(newEvents.map { "\($0.seqNum) \($0.clientId)" }, ["e2 O"])
    XCTAssertEqual(try seqNums(local), ["e1", "e2"])
  }

  // MARK: where lstore's pull deliberately differs from LiveStore's code

  /// pending [e0+1 uiStateSet, e1 mine], incoming [e1 theirs]: the client-only event stays at
  /// e0+1, only e1 moves (LiveStore's code would move both).
  func testAClientOnlyEventBeforeTheDifferenceStaysWhereItIs() async throws {
    let (local, backend) = try makeLocalAndBackend()
    try commitLocally(local, [uiStateSet("active"), created("mine")])
    try await pushOtherEventToBackend("theirs", global: 1, backend)

    let liveStore = try syncState(of: local).merge(
      .upstreamAdvance(newEvents: try await incoming(local, backend)), ignoreClientEvents: true)
    guard case .rebase(_, _, let liveStoreRollback) = liveStore else { return XCTFail("\(liveStore)") }
    XCTAssertEqual(liveStoreRollback.map(\.seqNum.description), ["e0+1", "e1"], "LiveStore's code undoes both")

    let outcome = try await pullAndCompare(local, backend, rule: .firstDifference)
    guard case .rebase(_, _, let rollback) = outcome.merge else { return XCTFail("\(outcome.merge)") }
    XCTAssertEqual(rollback.map(\.seqNum.description), ["e1"])
    XCTAssertEqual(try seqNums(local), ["e0+1", "e1", "e2"])
    XCTAssertEqual(outcome.pull.renumbered.map { "\($0.0)→\($0.1)" }, ["e1→e2"])
  }

  /// pending [e0+1 uiStateSet, e1 mine, e2 mine] with e1 already on the backend, incoming
  /// [e1 mine, e2 theirs]: LiveStore's index lands on e1, which the same page confirms, and
  /// its plan applies e1 again as a new event as well as rebasing it (e1 twice). The pull
  /// confirms e1 and moves only e2.
  func testTheDifferenceAfterAConfirmationNeverUndoesTheConfirmedEvent() async throws {
    let (local, backend) = try makeLocalAndBackend()
    try commitLocally(local, [uiStateSet("active"), created("a"), created("b")])
    try await pushOwnEventToBackend(local, global: 1, backend)
    try await pushOtherEventToBackend("theirs", global: 2, backend)

    let liveStore = try syncState(of: local).merge(
      .upstreamAdvance(newEvents: try await incoming(local, backend)), ignoreClientEvents: true)
    guard case .rebase(_, let liveStoreNew, let liveStoreRollback) = liveStore else { return XCTFail("\(liveStore)") }
    XCTAssertEqual(liveStoreRollback.map(\.seqNum.description), ["e1", "e2"])
    XCTAssertEqual(liveStoreNew.filter { $0.argsJSON.contains(#""a""#) }.count, 2, "LiveStore's plan has e1's event twice")

    let outcome = try await pullAndCompare(local, backend, rule: .firstDifference)
    guard case .rebase(_, _, let rollback) = outcome.merge else { return XCTFail("\(outcome.merge)") }
    XCTAssertEqual(rollback.map(\.seqNum.description), ["e2"])
    XCTAssertEqual(try seqNums(local), ["e0+1", "e1", "e2", "e3"])
    XCTAssertEqual(outcome.pull.confirmed, 1)
    XCTAssertEqual(outcome.pull.renumbered.map { "\($0.0)→\($0.1)" }, ["e2→e3"])
  }
}
