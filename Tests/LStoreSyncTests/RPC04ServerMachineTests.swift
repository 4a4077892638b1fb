import LStoreKit
import XCTest
@testable import LStoreSync

/// The 0.4 server state machine on its own: frames and storage results in, actions out.
final class RPC04ServerMachineTests: XCTestCase {
  var machine = RPC04ServerMachine(options: .init(storeId: "s", transport: .webSocket))

  func item(_ n: Int64) -> PullItem {
    PullItem(event: WireEvent(name: "v1.X", args: ["n": .integer(n)], seqNum: n, parentSeqNum: n - 1, clientId: "c", sessionId: "s"),
             createdAt: "2026-12-01T00:00:00.000Z")
  }

  func request(_ id: String, live: Bool, cursor: Int64? = nil) -> String {
    RPC04.ClientMessage.request(RPC04.Request(id: id, tag: SyncRPC04.wsPull, payload: SyncRPC04.PullRequest(
      storeId: "s", live: live, cursor: cursor.map { .init(backendId: "B", eventSequenceNumber: $0) }).jsonValue)).encoded()
  }

  func sent(_ actions: [RPC04ServerMachine.Action]) -> [RPC04.ServerMessage] {
    actions.compactMap { action in
      switch action {
      case .send(let text), .sendChunk(let text, _): return try? RPC04.ServerMessage.decode(text)
      default: return nil
      }
    }
  }

  func pages(_ actions: [RPC04ServerMachine.Action]) throws -> [SyncRPC04.PullResponse] {
    try sent(actions).compactMap { if case .chunk(_, let values) = $0 { return try SyncRPC04.PullResponse(json: values[0]) }; return nil }
  }

  func readsPage(_ actions: [RPC04ServerMachine.Action]) -> Bool {
    actions.contains { if case .readPage = $0 { return true }; return false }
  }

  func testPagesAndTheExitWaitForAcksWhileTheNextPageIsReadAhead() throws {
    var actions = machine.handle(.frame(request("1", live: false)))
    guard case .openPull("1", nil)? = actions.first else { return XCTFail("\(actions)") }
    actions = machine.handle(.pullOpened(requestId: "1", snapshotHead: 150, total: 150, backendId: "B"))
    XCTAssertTrue(readsPage(actions))
    actions = machine.handle(.page(requestId: "1", BackendPullPage(items: (1...100).map(item), remaining: 50)))
    XCTAssertEqual(try pages(actions).map(\.pageInfo), [.moreKnown(remaining: 50)])
    XCTAssertTrue(readsPage(actions), "the next page is read while the client acks")
    actions = machine.handle(.page(requestId: "1", BackendPullPage(items: (101...150).map(item), remaining: 0)))
    XCTAssertEqual(sent(actions), [], "no second Chunk before the Ack")
    XCTAssertEqual(sent(machine.handle(.frame(RPC04.pingText))), [.pong])
    actions = machine.handle(.frame(#"{"_tag":"Ack","requestId":"1"}"#))
    XCTAssertEqual(try pages(actions).map(\.batch.count), [50])
    XCTAssertFalse(readsPage(actions))
    XCTAssertEqual(sent(machine.handle(.frame(#"{"_tag":"Ack","requestId":"9"}"#))), [])
    actions = machine.handle(.frame(#"{"_tag":"Ack","requestId":"01"}"#))
    XCTAssertEqual(sent(actions), [.exit(requestId: "1", exit: .success(nil))])
    XCTAssertTrue(machine.isIdle)
  }

  /// After an admin reset the store's new e1… would fall under a live pull's "already sent"
  /// filter (its snapshot head), and e3 would arrive as if it continued the old e2: the
  /// live pull ends instead, and nothing of the new history is sent on it.
  func testALivePullEndsWhenTheStoreIsResetAndSendsNothingOfTheNewHistory() throws {
    _ = machine.handle(.frame(request("1", live: true)))
    _ = machine.handle(.pullOpened(requestId: "1", snapshotHead: 2, total: 2, backendId: "B"))
    _ = machine.handle(.page(requestId: "1", BackendPullPage(items: [item(1), item(2)], remaining: 0)))
    _ = machine.handle(.frame(#"{"_tag":"Ack","requestId":"1"}"#))
    _ = machine.handle(.frame(request("2", live: false)))
    let actions = machine.handle(.historyRestarted)
    XCTAssertTrue(actions.contains { if case .closePull("1") = $0 { return true }; return false }, "\(actions)")
    guard case .exit("1", .failure(let cause))? = sent(actions).first else { return XCTFail("\(sent(actions))") }
    XCTAssertTrue("\(cause)".contains("the store was reset"), "\(cause)")
    XCTAssertEqual(machine.openPullCount, 1, "a pull that is not live reads its snapshot to its end")
    XCTAssertEqual(sent(machine.handle(.broadcast([item(1), item(2), item(3)]))), [])
  }

  func testBroadcastsDuringThePagesAreHeldWithoutDuplicatesAndThenSentOneChunkPerAck() throws {
    _ = machine.handle(.frame(request("2", live: true)))
    // A push lands while the snapshot is being fixed: its events may or may not be in it.
    XCTAssertEqual(sent(machine.handle(.broadcast([item(3)]))), [])
    _ = machine.handle(.pullOpened(requestId: "2", snapshotHead: 3, total: 3, backendId: "B"))
    XCTAssertEqual(try pages(machine.handle(.page(requestId: "2", BackendPullPage(items: (1...3).map(item), remaining: 0)))).count, 1)
    XCTAssertEqual(sent(machine.handle(.broadcast([item(4)]))), [], "held until the Ack")
    _ = machine.handle(.broadcast([item(5), item(6)]))
    var actions = machine.handle(.frame(#"{"_tag":"Ack","requestId":"2"}"#))
    XCTAssertEqual(try pages(actions).map { $0.batch.map(\.event.seqNum) }, [[4, 5, 6]], "e3 came with the pages, not again")
    XCTAssertEqual(try pages(actions).map(\.pageInfo), [.noMore])
    _ = machine.handle(.frame(#"{"_tag":"Ack","requestId":"2"}"#))
    actions = machine.handle(.broadcast([item(7)]))
    XCTAssertEqual(try pages(actions).map { $0.batch.map(\.event.seqNum) }, [[7]], "acked: sent at once")
    // Interrupt ends it; later broadcasts go nowhere.
    actions = machine.handle(.frame(#"{"_tag":"Interrupt","requestId":"2"}"#))
    XCTAssertEqual(sent(actions), [.exit(requestId: "2", exit: .failure(.interrupt(.clientInterrupt)))])
    XCTAssertEqual(sent(machine.handle(.broadcast([item(8)]))), [])
    XCTAssertTrue(machine.isIdle)
  }

  func testHeldBroadcastsArePagedByCountAndAClientThatNeverAcksIsClosed() throws {
    var small = RPC04ServerMachine(options: .init(storeId: "s", transport: .webSocket, maxHeldBytes: 100_000))
    _ = small.handle(.frame(request("3", live: true)))
    _ = small.handle(.pullOpened(requestId: "3", snapshotHead: 0, total: 0, backendId: "B"))
    _ = small.handle(.page(requestId: "3", BackendPullPage(items: [], remaining: 0)))
    _ = small.handle(.broadcast((1...150).map(item)))
    let actions = small.handle(.frame(#"{"_tag":"Ack","requestId":"3"}"#))
    XCTAssertEqual(try pages(actions).map(\.batch.count), [100])
    let overflow = small.handle(.broadcast((151...1500).map(item)))
    XCTAssertTrue(overflow.contains { if case .close = $0 { return true }; return false })
  }

  func testPushesAreHandedOnAndAnsweredWithTheirExit() throws {
    let push = SyncRPC04.PushRequest(storeId: "s", batch: [item(1).event], backendId: nil)
    let frame = RPC04.ClientMessage.request(RPC04.Request(id: "4", tag: SyncRPC04.wsPush, payload: push.jsonValue)).encoded()
    guard case .push("4", let handed)? = machine.handle(.frame(frame)).first else { return XCTFail() }
    XCTAssertEqual(handed, push)
    XCTAssertEqual(sent(machine.handle(.frame(frame))).first, .defect("Request id 4 is already in use by an open request"))
    let actions = machine.handle(.pushDone(requestId: "4", count: 1, .failure(.serverAhead(minimumExpectedNum: 3, providedNum: 0))))
    XCTAssertEqual(sent(actions), [.exit(requestId: "4", exit: SyncRPC04.SyncError.serverAhead(minimumExpectedNum: 3, providedNum: 0).exit)])
    XCTAssertTrue(actions.contains { if case .log(.pushRejected) = $0 { return true }; return false }, "a refusal is logged as one")
    // A push the storage failed is answered the same way, and not logged as a refusal (the
    // session logs the storage's error).
    _ = machine.handle(.frame(frame))
    let internalError = SyncRPC04.SyncError.unknown(cause: "Push failed: internal server error", note: nil)
    let failed = machine.handle(.pushFailed(requestId: "4", internalError))
    XCTAssertEqual(sent(failed), [.exit(requestId: "4", exit: internalError.exit)])
    XCTAssertFalse(failed.contains { if case .log = $0 { return true }; return false }, "\(failed)")
    let empty = SyncRPC04.PushRequest(storeId: "s", batch: [], backendId: nil)
    XCTAssertEqual(sent(machine.handle(.frame(RPC04.ClientMessage.request(RPC04.Request(id: "5", tag: SyncRPC04.wsPush,
                                                                                       payload: empty.jsonValue)).encoded()))),
                   [.exit(requestId: "5", exit: .success(SyncRPC04.pushAck))])
  }

  func testHTTPSendsThePagesAsTheyAreWrittenThenTheExit() throws {
    var http = RPC04ServerMachine(options: .init(storeId: "s", transport: .http))
    let frame = RPC04.ClientMessage.request(RPC04.Request(id: "6", tag: SyncRPC04.httpPull,
                                                          payload: SyncRPC04.PullRequest(storeId: "s", live: nil, cursor: nil).jsonValue)).encoded()
    _ = http.handle(.frame(frame))
    _ = http.handle(.pullOpened(requestId: "6", snapshotHead: 150, total: 150, backendId: "B"))
    XCTAssertEqual(try pages(http.handle(.page(requestId: "6", BackendPullPage(items: (1...100).map(item), remaining: 50)))).count, 1)
    XCTAssertEqual(sent(http.handle(.page(requestId: "6", BackendPullPage(items: (101...150).map(item), remaining: 0)))), [],
                   "the second page waits for the first to be written")
    XCTAssertEqual(try pages(http.handle(.delivered(requestId: "6"))).map(\.pageInfo), [.noMore])
    XCTAssertEqual(sent(http.handle(.delivered(requestId: "6"))), [.exit(requestId: "6", exit: .success(nil))])
    XCTAssertTrue(http.isIdle)
    // A live flag over HTTP does not make a live pull (its schema has none).
    XCTAssertFalse(RPC04ServerMachine.Options(storeId: "s", transport: .http).transport == .webSocket)
  }
}
