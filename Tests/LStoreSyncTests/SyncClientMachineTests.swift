import LStoreKit
import XCTest
@testable import LStoreSync

/// The client's pull and push rules without a wire: what it sends, delivers and ends, for
/// the inputs either protocol's codec produces.
final class SyncClientMachineTests: XCTestCase {
  /// Request ids 0, 1, 2, … as LiveStore 0.4's client makes them.
  func machine(acks: Bool, backendId: String? = nil) -> SyncClientMachine {
    let counter = Locked(0)
    return SyncClientMachine(acksPages: acks, backendId: backendId, makeRequestId: {
      counter.withLock { value in defer { value += 1 }; return String(value) }
    })
  }

  func items(_ range: ClosedRange<Int64>) -> [PullItem] {
    range.map { PullItem(event: WireEvent(name: "v1.X", args: ["n": .integer($0)], seqNum: $0, parentSeqNum: $0 - 1,
                                          clientId: "c", sessionId: "s"), createdAt: "2026-01-01T00:00:00.000Z") }
  }

  func delivered(_ actions: [SyncClientMachine.Action]) -> [Int64] {
    actions.flatMap { action -> [Int64] in
      if case .deliver(let page, _) = action { return page.items.map(\.event.seqNum) }
      return []
    }
  }

  func testAPagedPullAcksEveryPageAndEndsAtTheLastOne() {
    var m = machine(acks: true)
    XCTAssertEqual(m.connectionOpened(), [])
    XCTAssertEqual(m.startPull(cursor: 20, live: false), [.send(.pull(requestId: "0", cursor: 20, live: false, backendId: nil))])
    let first = m.receive(.page(requestId: "0", items: items(21...120), remaining: 130, backendId: "BID"))
    XCTAssertEqual(delivered(first), Array(21...120))
    XCTAssertEqual(first.last, .send(.ack(requestId: "0")))
    XCTAssertEqual(m.backendId, "BID", "learned from the first page")
    let last = m.receive(.page(requestId: "0", items: items(121...150), remaining: 0, backendId: "BID"))
    XCTAssertEqual(delivered(last), Array(121...150))
    XCTAssertEqual(Array(last.suffix(2)), [.send(.ack(requestId: "0")), .endPull(nil)], "the ack of the last page, then the end")
    XCTAssertFalse(m.hasPull)
    XCTAssertEqual(m.receive(.succeeded(requestId: "0")), [.answerPush(requestId: "0", failure: nil)],
                   "the stream's Exit after the end is nobody's: the driver finds no push waiting")
  }

  func testThe03ProtocolSendsNoAcks() {
    var m = machine(acks: false)
    _ = m.connectionOpened()
    _ = m.startPull(cursor: nil, live: false)
    let actions = m.receive(.page(requestId: "0", items: items(1...3), remaining: 0, backendId: nil))
    XCTAssertFalse(actions.contains { if case .send = $0 { return true } else { return false } })
    XCTAssertEqual(actions.last, .endPull(nil))
  }

  func testAPageFromAnotherBackendEndsThePullAndDeliversNothing() {
    var m = machine(acks: true, backendId: "OLD")
    _ = m.connectionOpened()
    XCTAssertEqual(m.startPull(cursor: 5, live: true), [.send(.pull(requestId: "0", cursor: 5, live: true, backendId: "OLD"))])
    let actions = m.receive(.page(requestId: "0", items: items(6...7), remaining: 0, backendId: "NEW"))
    XCTAssertEqual(actions, [.send(.interrupt(requestId: "0")), .endPull(.backendIdMismatch(expected: "NEW", received: "OLD"))])
    XCTAssertEqual(m.backendId, "OLD", "the known id is not replaced")
  }

  func testAMismatchForAnEmptyIdIsHowAClientWithoutOneLearnsIt() {
    var m = machine(acks: true)
    _ = m.connectionOpened()
    _ = m.startPull(cursor: 9, live: false)
    let retry = m.receive(.failed(requestId: "0", .backendIdMismatch(expected: "BID", received: "")))
    XCTAssertEqual(retry, [.send(.pull(requestId: "1", cursor: 9, live: false, backendId: "BID"))])
    XCTAssertEqual(m.backendId, "BID")
    // A client that knew an id does not take another one that way.
    var known = machine(acks: true, backendId: "OLD")
    _ = known.connectionOpened()
    _ = known.startPull(cursor: 9, live: false)
    XCTAssertEqual(known.receive(.failed(requestId: "0", .backendIdMismatch(expected: "BID", received: "OLD"))),
                   [.endPull(.backendIdMismatch(expected: "BID", received: "OLD"))])
  }

  func testLivePagesAfterTheCatchUpSkipWhatWasDeliveredAndAreStillAcked() {
    var m = machine(acks: true)
    _ = m.connectionOpened()
    _ = m.startPull(cursor: nil, live: true)
    let catchUp = m.receive(.page(requestId: "0", items: items(1...2), remaining: 0, backendId: "B"))
    XCTAssertFalse(catchUp.contains(.endPull(nil)), "a live pull goes on")
    let live = m.receive(.page(requestId: "0", items: items(2...4), remaining: 0, backendId: "B"))
    XCTAssertEqual(live, [.deliver(ClientPullPage(items: items(3...4), remaining: 0, isLive: true), backpressure: false),
                          .send(.ack(requestId: "0"))])
    XCTAssertEqual(m.receive(.page(requestId: "0", items: items(3...4), remaining: 0, backendId: "B")), [.send(.ack(requestId: "0"))],
                   "a repeated page delivers nothing but is acked")
  }

  func testAReconnectRepullsFromWhatWasDeliveredUnderANewId() {
    var m = machine(acks: true)
    _ = m.connectionOpened()
    _ = m.startPull(cursor: nil, live: true)
    _ = m.receive(.page(requestId: "0", items: items(1...100), remaining: 50, backendId: "B"))
    m.connectionLost()
    XCTAssertEqual(m.connectionOpened(), [.send(.pull(requestId: "1", cursor: 99, live: true, backendId: "B"))],
                   "from one event before the last one delivered")
    XCTAssertEqual(m.receive(.page(requestId: "0", items: items(101...150), remaining: 0, backendId: "B")), [],
                   "pages of the old request are ignored (and not acked)")
  }

  func testTheFirstPageAfterAReconnectBeginsWithTheLastEventDeliveredMarkedForTheCheck() {
    var m = machine(acks: false)
    _ = m.connectionOpened()
    _ = m.startPull(cursor: 10, live: true)
    XCTAssertEqual(delivered(m.receive(.page(requestId: "0", items: items(11...20), remaining: 0, backendId: nil))), Array(11...20))
    m.connectionLost()
    XCTAssertEqual(m.connectionOpened(), [.send(.pull(requestId: "1", cursor: 19, live: true, backendId: nil))])
    let resumed = m.receive(.page(requestId: "1", items: items(20...22), remaining: 0, backendId: nil))
    XCTAssertEqual(resumed, [.deliver(ClientPullPage(items: items(20...22), remaining: 0, isLive: false, resumedAt: 20),
                                      backpressure: true)],
                   "event 20 again, for the consumer to compare with its own")
    XCTAssertEqual(delivered(m.receive(.broadcast(pushRequestId: "p", items: items(22...23)))), [23],
                   "after that page the usual rule: nothing delivered twice")
  }

  func testAResumedPageFromABackendThatLostTheEventStillSaysWhereItResumed() {
    // A backend reset while the client was away: it has events 1...3 of another history.
    var m = machine(acks: false)
    _ = m.connectionOpened()
    _ = m.startPull(cursor: 10, live: true)
    _ = m.receive(.page(requestId: "0", items: items(11...20), remaining: 0, backendId: nil))
    m.connectionLost()
    _ = m.connectionOpened()
    XCTAssertEqual(m.receive(.page(requestId: "1", items: items(1...3), remaining: 0, backendId: nil)),
                   [.deliver(ClientPullPage(items: [], remaining: 0, isLive: false, resumedAt: 20), backpressure: true)])
  }

  func testAReconnectBeforeAnythingWasDeliveredAsksFromTheCursorAgain() {
    var m = machine(acks: false)
    _ = m.connectionOpened()
    _ = m.startPull(cursor: 10, live: true)
    m.connectionLost()
    XCTAssertEqual(m.connectionOpened(), [.send(.pull(requestId: "1", cursor: 10, live: true, backendId: nil))])
    let page = m.receive(.page(requestId: "1", items: items(11...12), remaining: 0, backendId: nil))
    XCTAssertEqual(page, [.deliver(ClientPullPage(items: items(11...12), remaining: 0, isLive: false), backpressure: true)])
  }

  func testAPullStartedOfflineIsSentWhenTheConnectionOpens() {
    var m = machine(acks: false)
    XCTAssertEqual(m.startPull(cursor: 3, live: false), [])
    XCTAssertEqual(m.connectionOpened(), [.send(.pull(requestId: "1", cursor: 3, live: false, backendId: nil))])
  }

  func testBroadcastsBeforeTheFirstPageAreMergedIntoTheLastOne() {
    var m = machine(acks: false)
    _ = m.connectionOpened()
    _ = m.startPull(cursor: nil, live: true)
    XCTAssertEqual(m.receive(.broadcast(pushRequestId: "p", items: items(3...3))),
                   [.echo(pushRequestId: "p", metadata: ["createdAt": "2026-01-01T00:00:00.000Z"])])
    let page = m.receive(.page(requestId: "0", items: items(1...2), remaining: 0, backendId: nil))
    XCTAssertEqual(delivered(page), [1, 2, 3])
    XCTAssertEqual(delivered(m.receive(.broadcast(pushRequestId: "q", items: items(3...4)))), [4])
  }

  func testPushAnswersAndFailuresGoToThePushNotThePull() {
    var m = machine(acks: true, backendId: "B")
    _ = m.connectionOpened()
    XCTAssertEqual(m.push(requestId: "7", batch: []), .push(requestId: "7", batch: [], backendId: "B"))
    XCTAssertEqual(m.receive(.failed(requestId: "7", .serverAhead(backendHead: 4, message: "x"))),
                   [.answerPush(requestId: "7", failure: .serverAhead(backendHead: 4, message: "x"))])
    _ = m.startPull(cursor: nil, live: false)
    XCTAssertEqual(m.receive(.failedAll(.message("boom"))), [.endPull(.message("boom"))])
  }

  func testLeavingAPullInterruptsItOn04() {
    var m = machine(acks: true)
    _ = m.connectionOpened()
    _ = m.startPull(cursor: nil, live: true)
    XCTAssertEqual(m.stopPull(), [.send(.interrupt(requestId: "0"))])
    XCTAssertEqual(m.stopPull(), [])
  }
}

/// The 0.4 codec: the frames LiveStore 0.4.0's client sends, and what it reads.
final class LiveStore04CodecTests: XCTestCase {
  let codec = LiveStore04Codec(storeId: "s", payload: ["authToken": "t"], transport: .webSocket)

  func withoutTrace(_ text: String) throws -> JSONValue {
    guard case .object(var object) = try JSONParser.parse(text) else { return .null }
    XCTAssertEqual(object["traceId"]?.stringValue?.count, 32)
    XCTAssertEqual(object["spanId"]?.stringValue?.count, 16)
    XCTAssertEqual(object["sampled"], .bool(true))
    object["traceId"] = nil
    object["spanId"] = nil
    object["sampled"] = nil
    return .object(object)
  }

  func testAPullRequestCarriesThePayloadAndTheCursorWithTheBackendId() throws {
    let text = codec.encode(.pull(requestId: "6", cursor: 20, live: true, backendId: "BID"))
    XCTAssertTrue(text.hasPrefix(#"{"_tag":"Request","id":"6","tag":"SyncWsRpc.Pull","traceId":""#), text)
    XCTAssertEqual(try withoutTrace(text).compactText,
                   #"{"_tag":"Request","id":"6","tag":"SyncWsRpc.Pull","payload":{"storeId":"s","payload":{"authToken":"t"},"live":true,"cursor":{"_tag":"Some","value":{"backendId":"BID","eventSequenceNumber":20}}},"headers":[]}"#)
    let fromStart = codec.encode(.pull(requestId: "0", cursor: 0, live: false, backendId: "BID"))
    XCTAssertTrue(fromStart.contains(#""cursor":{"_tag":"None"}"#), "no cursor while nothing is confirmed")
  }

  func testAPushRequestCarriesTheBackendIdOrNone() throws {
    let event = WireEvent(name: "v1.X", args: ["a": 1], seqNum: 1, parentSeqNum: 0, clientId: "c", sessionId: "s")
    let text = codec.encode(.push(requestId: "1", batch: [event], backendId: nil))
    XCTAssertTrue(text.hasPrefix(#"{"_tag":"Request","id":"1","tag":"SyncWsRpc.Push","payload":"#), "a non-stream request: payload before traceId")
    XCTAssertEqual(try withoutTrace(text).compactText,
                   #"{"_tag":"Request","id":"1","tag":"SyncWsRpc.Push","payload":{"storeId":"s","payload":{"authToken":"t"},"batch":[{"name":"v1.X","args":{"a":1},"seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}],"backendId":{"_tag":"None"}},"headers":[]}"#)
    XCTAssertEqual(codec.encode(.ack(requestId: "6")), #"{"_tag":"Ack","requestId":"6"}"#)
  }

  func testPushesAreSplitAt100EventsAnd900000Bytes() {
    func events(_ count: Int, text: Int) -> [WireEvent] {
      (1...count).map { WireEvent(name: "v1.X", args: ["t": .string(String(repeating: "x", count: text))], seqNum: Int64($0),
                                  parentSeqNum: Int64($0 - 1), clientId: "c", sessionId: "s") }
    }
    XCTAssertEqual(codec.pushBatches(events(250, text: 10)).map(\.count), [100, 100, 50])
    XCTAssertEqual(codec.pushBatches(events(5, text: 400_000)).map(\.count), [2, 2, 1])
    XCTAssertEqual(codec.pushBatches(events(2, text: 1_000_000)).map(\.count), [1, 1], "an event over the bound goes alone")
    let batches = codec.pushBatches(events(7, text: 300_000))
    XCTAssertEqual(batches.flatMap { $0 }.map(\.seqNum), Array(1...7), "in order, nothing lost")
    for batch in batches {
      XCTAssertLessThanOrEqual(codec.encode(.push(requestId: "1", batch: batch, backendId: "BID")).utf8.count, LiveStore04Codec.maxPushBytes)
    }
  }

  func testRequestIdsAreOneDecimalCounter() {
    let a = Int(codec.requestId())!
    let b = Int(LiveStore04Codec(storeId: "other", payload: nil, transport: .http).requestId())!
    XCTAssertEqual(b, a + 1, "one counter for the process, as Effect's")
  }

  func testTheServersFramesDecode() {
    let page = #"{"_tag":"Chunk","requestId":"6","values":[{"batch":[{"eventEncoded":{"name":"v1.X","args":{},"seqNum":21,"parentSeqNum":20,"clientId":"c","sessionId":"s"},"metadata":{"_tag":"Some","value":{"_tag":"SyncMessage.SyncMetadata","createdAt":"TS"}}}],"pageInfo":{"_tag":"MoreKnown","remaining":130},"backendId":"BID"}]}"#
    XCTAssertEqual(codec.decode(page), [.page(requestId: "6", items: [PullItem(event: WireEvent(name: "v1.X", args: [:], seqNum: 21, parentSeqNum: 20, clientId: "c", sessionId: "s"), createdAt: "TS")], remaining: 130, backendId: "BID")])
    XCTAssertEqual(codec.decode(#"{"_tag":"Exit","requestId":"1","exit":{"_tag":"Success","value":{}}}"#), [.succeeded(requestId: "1")])
    XCTAssertEqual(codec.decode(#"{"_tag":"Exit","requestId":"2","exit":{"_tag":"Failure","cause":{"_tag":"Fail","error":{"minimumExpectedNum":251,"providedNum":248,"_tag":"ServerAheadError"}}}}"#),
                   [.failed(requestId: "2", .serverAhead(backendHead: 251, message: "ServerAheadError: the push's first parent is e248 but expected e251"))])
    XCTAssertEqual(codec.decode(#"{"_tag":"Exit","requestId":"3","exit":{"_tag":"Failure","cause":{"_tag":"Sequential","left":{"_tag":"Empty"},"right":{"_tag":"Fail","error":{"expected":"BID","received":"wrong","_tag":"BackendIdMismatchError"}}}}}"#),
                   [.failed(requestId: "3", .backendIdMismatch(expected: "BID", received: "wrong"))], "found anywhere in the cause tree")
    XCTAssertEqual(codec.decode(#"{"_tag":"Defect","defect":"Unknown request tag: Nope"}"#),
                   [.failedAll(.message("the backend failed every request: Unknown request tag: Nope"))])
    XCTAssertEqual(codec.decode(#"{"_tag":"Pong"}"#), [.pong])
  }
}
