import LStoreKit
import XCTest
@testable import LStoreSync

/// Every frame shape of LiveStore 0.4.0's sync protocol (Effect RPC 0.75.1, JSON), both
/// directions: the exact bytes LiveStore writes (from ../shared/docs/livestore-0.4-format-and-protocol.md,
/// sections B and C, checked against the v0.4.0 and Effect sources) decode to the message,
/// and the message encodes back to exactly those bytes.
final class RPC04FrameTests: XCTestCase {
  private let trace = ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")

  private func roundTrip(_ text: String, _ message: RPC04.ClientMessage, file: StaticString = #filePath, line: UInt = #line) throws {
    XCTAssertEqual(message.encoded(), text, file: file, line: line)
    XCTAssertEqual(try RPC04.ClientMessage.decode(text), message, file: file, line: line)
  }

  private func roundTrip(_ text: String, _ message: RPC04.ServerMessage, file: StaticString = #filePath, line: UInt = #line) throws {
    XCTAssertEqual(message.encoded(), text, file: file, line: line)
    XCTAssertEqual(try RPC04.ServerMessage.decode(text), message, file: file, line: line)
  }

  // MARK: - Client → server

  func testStreamRequestKeepsTraceIdBeforePayload() throws {
    let text = #"{"_tag":"Request","id":"0","tag":"SyncWsRpc.Pull","traceId":"0af7651916cd43dd8448eb211c80319c","payload":{"storeId":"s","live":false,"cursor":{"_tag":"None"}},"spanId":"b7ad6b7169203331","sampled":true,"headers":[]}"#
    let pull = SyncRPC04.PullRequest(storeId: "s", live: false, cursor: nil)
    let request = RPC04.Request(id: "0", tag: SyncRPC04.wsPull, payload: pull.jsonValue, traceId: trace.0, spanId: trace.1, sampled: true)
    try roundTrip(text, .request(request))
    XCTAssertEqual(try SyncRPC04.PullRequest(json: request.payload, requireLive: true), pull)
  }

  func testPullWithCursorAndAuthPayload() throws {
    let text = #"{"_tag":"Request","id":"6","tag":"SyncWsRpc.Pull","traceId":"0af7651916cd43dd8448eb211c80319c","payload":{"storeId":"s","payload":{"authToken":"x"},"live":true,"cursor":{"_tag":"Some","value":{"backendId":"BID","eventSequenceNumber":20}}},"spanId":"b7ad6b7169203331","sampled":true,"headers":[]}"#
    let pull = SyncRPC04.PullRequest(storeId: "s", payload: ["authToken": "x"], live: true,
                                     cursor: .init(backendId: "BID", eventSequenceNumber: 20))
    try roundTrip(text, .request(RPC04.Request(id: "6", tag: SyncRPC04.wsPull, payload: pull.jsonValue, traceId: trace.0,
                                               spanId: trace.1, sampled: true)))
    guard case .request(let decoded) = try RPC04.ClientMessage.decode(text) else { return XCTFail() }
    XCTAssertEqual(try SyncRPC04.PullRequest(json: decoded.payload, requireLive: true), pull)
  }

  func testEffectRequestPutsTraceIdAfterPayload() throws {
    let text = #"{"_tag":"Request","id":"1","tag":"SyncWsRpc.Push","payload":{"storeId":"s","batch":[{"name":"v1.X","args":{"a":1},"seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}],"backendId":{"_tag":"Some","value":"BID"}},"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","sampled":true,"headers":[]}"#
    let push = SyncRPC04.PushRequest(storeId: "s", batch: [WireEvent(name: "v1.X", args: ["a": 1], seqNum: 1, parentSeqNum: 0,
                                                                     clientId: "c", sessionId: "s")], backendId: "BID")
    try roundTrip(text, .request(RPC04.Request(id: "1", tag: SyncRPC04.wsPush, payload: push.jsonValue, traceId: trace.0,
                                               spanId: trace.1, sampled: true)))
    guard case .request(let decoded) = try RPC04.ClientMessage.decode(text) else { return XCTFail() }
    XCTAssertEqual(try SyncRPC04.PushRequest(json: decoded.payload), push)
  }

  func testFirstPushHasNoBackendIdAndArgsMayBeAbsent() throws {
    let push = SyncRPC04.PushRequest(storeId: "s", batch: [WireEvent(name: "v1.Y", args: nil, seqNum: 1, parentSeqNum: 0,
                                                                     clientId: "c", sessionId: "s")], backendId: nil)
    XCTAssertEqual(push.jsonValue.compactText,
                   #"{"storeId":"s","batch":[{"name":"v1.Y","seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}],"backendId":{"_tag":"None"}}"#)
    XCTAssertEqual(try SyncRPC04.PushRequest(json: push.jsonValue), push)
  }

  func testHTTPRequestsWithoutTraceFields() throws {
    let pull = #"{"_tag":"Request","id":"21","tag":"SyncHttpRpc.Pull","payload":{"storeId":"s","cursor":{"_tag":"None"}},"headers":[]}"#
    let pullPayload = SyncRPC04.PullRequest(storeId: "s", live: nil, cursor: nil)
    try roundTrip(pull, .request(RPC04.Request(id: "21", tag: SyncRPC04.httpPull, payload: pullPayload.jsonValue)))
    let ping = #"{"_tag":"Request","id":"20","tag":"SyncHttpRpc.Ping","payload":{"storeId":"s"},"headers":[["x-a","1"]]}"#
    try roundTrip(ping, .request(RPC04.Request(id: "20", tag: SyncRPC04.httpPing,
                                               payload: SyncRPC04.PingRequest(storeId: "s").jsonValue, headers: [["x-a", "1"]])))
  }

  func testAckInterruptPingEof() throws {
    try roundTrip(#"{"_tag":"Ack","requestId":"0"}"#, .ack(requestId: "0"))
    try roundTrip(#"{"_tag":"Interrupt","requestId":"7"}"#, .interrupt(requestId: "7"))
    try roundTrip(#"{"_tag":"Ping"}"#, .ping)
    try roundTrip(#"{"_tag":"Eof"}"#, .eof)
    XCTAssertEqual(RPC04.ClientMessage.ping.encoded(), RPC04.pingText)
    // Effect reads an Ack's id with BigInt(), which takes a number too.
    XCTAssertEqual(try RPC04.ClientMessage.decode(#"{"_tag":"Ack","requestId":3}"#), .ack(requestId: "3"))
  }

  func testRefusalsCarryLiveStoresDefectText() {
    func defect(_ text: String, tags: Set<String>? = SyncRPC04.webSocketTags) -> JSONValue? {
      do {
        _ = try RPC04.ClientMessage.decode(text, knownTags: tags)
        return nil
      } catch { return error.defect }
    }
    XCTAssertEqual(defect(#"{"_tag":"Request","id":11,"tag":"SyncWsRpc.Pull","payload":{},"headers":[]}"#),
                   .string("Invalid request id: 11"))
    XCTAssertEqual(defect("[]"), .string("Unknown request tag: undefined"))
    XCTAssertEqual(defect("42"), .string("Unknown request tag: undefined"))
    XCTAssertEqual(defect(#"{"_tag":"Nope"}"#), .string("Unknown request tag: Nope"))
    // An unknown RPC is refused before its id is looked at.
    XCTAssertEqual(defect(#"{"_tag":"Request","id":1,"tag":"SyncWsRpc.Nope","payload":{},"headers":[]}"#),
                   .string("Unknown request tag: SyncWsRpc.Nope"))
    XCTAssertEqual(defect("{not json")?["name"], .string("SyntaxError"))
  }

  // MARK: - Server → client

  func testEmptyPageChunk() throws {
    let text = #"{"_tag":"Chunk","requestId":"0","values":[{"batch":[],"pageInfo":{"_tag":"NoMore"},"backendId":"BID"}]}"#
    let page = SyncRPC04.PullResponse(batch: [], pageInfo: .noMore, backendId: "BID")
    try roundTrip(text, .chunk(requestId: "0", values: [page.jsonValue]))
    XCTAssertEqual(page.chunkFrame(requestId: "0"), text)
    XCTAssertEqual(try SyncRPC04.PullResponse(json: page.jsonValue), page)
  }

  func testPageWithEventAndMoreKnown() throws {
    let text = #"{"_tag":"Chunk","requestId":"6","values":[{"batch":[{"eventEncoded":{"name":"v1.TodoCreated","args":{"id":"t","text":"x"},"seqNum":21,"parentSeqNum":20,"clientId":"c","sessionId":"s"},"metadata":{"_tag":"Some","value":{"_tag":"SyncMessage.SyncMetadata","createdAt":"2026-12-01T10:00:00.000Z"}}}],"pageInfo":{"_tag":"MoreKnown","remaining":130},"backendId":"BID"}]}"#
    let event = WireEvent(name: "v1.TodoCreated", args: ["id": "t", "text": "x"], seqNum: 21, parentSeqNum: 20, clientId: "c", sessionId: "s")
    let page = SyncRPC04.PullResponse(batch: [PullItem(event: event, createdAt: "2026-12-01T10:00:00.000Z")],
                                      pageInfo: .moreKnown(remaining: 130), backendId: "BID")
    XCTAssertEqual(page.chunkFrame(requestId: "6"), text)
    try roundTrip(text, .chunk(requestId: "6", values: [page.jsonValue]))
    guard case .chunk(_, let values) = try RPC04.ServerMessage.decode(text) else { return XCTFail() }
    XCTAssertEqual(try SyncRPC04.PullResponse(json: values[0]), page)
    let none = SyncRPC04.PullResponse(batch: [PullItem(event: event, metadata: nil)], pageInfo: .moreUnknown, backendId: "B")
    XCTAssertEqual(none.jsonValue.compactText,
                   #"{"batch":[{"eventEncoded":{"name":"v1.TodoCreated","args":{"id":"t","text":"x"},"seqNum":21,"parentSeqNum":20,"clientId":"c","sessionId":"s"},"metadata":{"_tag":"None"}}],"pageInfo":{"_tag":"MoreUnknown"},"backendId":"B"}"#)
    XCTAssertEqual(try SyncRPC04.PullResponse(json: none.jsonValue), none)
  }

  func testExits() throws {
    try roundTrip(#"{"_tag":"Exit","requestId":"0","exit":{"_tag":"Success"}}"#, .exit(requestId: "0", exit: .success(nil)))
    try roundTrip(#"{"_tag":"Exit","requestId":"1","exit":{"_tag":"Success","value":{}}}"#,
                  .exit(requestId: "1", exit: .success(SyncRPC04.pushAck)))
    try roundTrip(#"{"_tag":"Exit","requestId":"20","exit":{"_tag":"Success","value":{"_tag":"SyncMessage.Pong"}}}"#,
                  .exit(requestId: "20", exit: .success(SyncRPC04.pong)))
    try roundTrip(#"{"_tag":"Exit","requestId":"10","exit":{"_tag":"Failure","cause":{"_tag":"Die","defect":"bad payload"}}}"#,
                  .exit(requestId: "10", exit: .failure(.die("bad payload"))))
  }

  func testTypedFailures() throws {
    let ahead = #"{"_tag":"Exit","requestId":"2","exit":{"_tag":"Failure","cause":{"_tag":"Fail","error":{"minimumExpectedNum":251,"providedNum":248,"_tag":"ServerAheadError"}}}}"#
    try roundTrip(ahead, .exit(requestId: "2", exit: SyncRPC04.SyncError.serverAhead(minimumExpectedNum: 251, providedNum: 248).exit))
    let mismatch = #"{"_tag":"Exit","requestId":"3","exit":{"_tag":"Failure","cause":{"_tag":"Fail","error":{"expected":"BID","received":"wrong","_tag":"BackendIdMismatchError"}}}}"#
    try roundTrip(mismatch, .exit(requestId: "3", exit: SyncRPC04.SyncError.backendIdMismatch(expected: "BID", received: "wrong").exit))
    let unknown = #"{"_tag":"Exit","requestId":"4","exit":{"_tag":"Failure","cause":{"_tag":"Fail","error":{"cause":{"name":"InvalidPushError","message":"gap"},"note":"gap","_tag":"UnknownError"}}}}"#
    let error = SyncRPC04.SyncError.unknown(cause: RPC04.errorDefect(name: "InvalidPushError", message: "gap"), note: "gap")
    try roundTrip(unknown, .exit(requestId: "4", exit: error.exit))
    for (text, expected) in [(ahead, SyncRPC04.SyncError.serverAhead(minimumExpectedNum: 251, providedNum: 248)), (unknown, error)] {
      guard case .exit(_, .failure(let cause)) = try RPC04.ServerMessage.decode(text) else { return XCTFail() }
      XCTAssertEqual(try cause.failures.map(SyncRPC04.SyncError.init(json:)), [expected])
    }
  }

  func testInterruptCauseTreesAsEffectWritesThem() throws {
    try roundTrip(#"{"_tag":"Exit","requestId":"5","exit":{"_tag":"Failure","cause":{"_tag":"Interrupt","fiberId":{"_tag":"Runtime","id":-499,"startTimeMillis":0}}}}"#,
                  .exit(requestId: "5", exit: .failure(.interrupt(.clientInterrupt))))
    // What LiveStore's Durable Object sent in the model: the interrupt nested in Sequential/Empty.
    let nested = #"{"_tag":"Exit","requestId":"5","exit":{"_tag":"Failure","cause":{"_tag":"Sequential","left":{"_tag":"Empty"},"right":{"_tag":"Parallel","left":{"_tag":"Interrupt","fiberId":{"_tag":"Composite","left":{"_tag":"None"},"right":{"_tag":"Runtime","id":-499,"startTimeMillis":0}}},"right":{"_tag":"Empty"}}}}}"#
    let cause = RPC04.Cause.sequential(.empty, .parallel(.interrupt(.composite(.none, .clientInterrupt)), .empty))
    try roundTrip(nested, .exit(requestId: "5", exit: .failure(cause)))
    XCTAssertTrue(cause.isInterrupted)
    XCTAssertEqual(cause.failures, [])
  }

  func testDefectPongAndClientProtocolError() throws {
    try roundTrip(#"{"_tag":"Defect","defect":"Invalid request id: 11"}"#, .defect("Invalid request id: 11"))
    try roundTrip(#"{"_tag":"Defect","defect":{"name":"SyntaxError","message":"Unexpected token"}}"#,
                  .defect(RPC04.errorDefect(name: "SyntaxError", message: "Unexpected token")))
    try roundTrip(#"{"_tag":"Pong"}"#, .pong)
    XCTAssertEqual(RPC04.ServerMessage.pong.encoded(), RPC04.pongText)
    try roundTrip(#"{"_tag":"ClientProtocolError","error":{"reason":"Protocol","message":"Error in socket","_tag":"RpcClientError"}}"#,
                  .clientProtocolError(message: "Error in socket"))
  }

  // MARK: - Request ids

  func testRequestIdsAreReadAsJavaScriptsBigIntReadsThem() {
    let cases: [(String, String?)] = [
      ("0", "0"), ("7", "7"), ("007", "7"), ("+3", "3"), ("-0", "0"), ("-12", "-12"), ("", "0"), (" 5\n", "5"),
      ("0x10", "16"), ("0o17", "15"), ("0b101", "5"), ("123456789012345678901234567890", "123456789012345678901234567890"),
      ("abc", nil), ("1.5", nil), ("1e3", nil), ("0x", nil), ("-0x5", nil), ("1_000", nil), ("٣", nil),
      (String(repeating: "9", count: RPC04RequestId.maxLength + 1), nil),
    ]
    for (text, expected) in cases { XCTAssertEqual(RPC04RequestId.canonical(text), expected, "\(text.debugDescription)") }
  }
}
