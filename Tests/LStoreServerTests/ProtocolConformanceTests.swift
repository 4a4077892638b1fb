import Foundation
import LStoreKit
import LStoreSync
import XCTest
@testable import LStoreServer

/// LiveStore's exact JSON messages over a raw WebSocket, and the exact replies.
final class ProtocolConformanceTests: XCTestCase {
  var server: TestServer!

  override func setUp() async throws {
    server = try await TestServer()
  }

  override func tearDown() async throws {
    await server.stop()
    server.removeData()
  }

  func socket(store: String = "todos") async throws -> RawWebSocket {
    try await RawWebSocket(url: SyncURL.webSocketURL(base: server.wsURL, storeId: store, payload: nil))
  }

  /// createdAt is the server's clock: replace it to compare the rest byte for byte.
  func normalized(_ text: String) -> String {
    text.replacingOccurrences(of: #""createdAt":"[0-9T:.\-]+Z""#, with: #""createdAt":"<T>""#, options: .regularExpression)
  }

  func testPingIsAnsweredWithTheByteIdenticalPong() async throws {
    let ws = try await socket()
    ws.send(#"{"_tag":"WSMessage.Ping","requestId":"ping"}"#)
    let reply = try await ws.receive()
    XCTAssertEqual(reply, #"{"_tag":"WSMessage.Pong","requestId":"ping"}"#)
    await ws.close()
  }

  func testEmptyPullIsOnePageWithRemainingZero() async throws {
    let ws = try await socket()
    ws.send(#"{"_tag":"WSMessage.PullReq","requestId":"V1StGXR8_Z5jdHi6B-myT"}"#)
    let reply = try await ws.receive()
    XCTAssertEqual(reply, #"{"_tag":"WSMessage.PullRes","batch":[],"requestId":{"context":"pull","requestId":"V1StGXR8_Z5jdHi6B-myT"},"remaining":0}"#)
    let extra = try await ws.expectSilence()
    XCTAssertNil(extra)
    await ws.close()
  }

  func testPushIsAckedThenEchoedThenPulled() async throws {
    let ws = try await socket()
    ws.send(#"{"_tag":"WSMessage.PushReq","requestId":"pq9Yk2","batch":[{"name":"v1.TodoCreated","args":{"id":"t1","text":"Buy milk"},"seqNum":1,"parentSeqNum":0,"clientId":"AbC12","sessionId":"Xy12a"}]}"#)
    let ack = try await ws.receive()
    XCTAssertEqual(ack, #"{"_tag":"WSMessage.PushAck","requestId":"pq9Yk2"}"#)
    let echo = try await ws.receive()
    XCTAssertEqual(normalized(echo), #"{"_tag":"WSMessage.PullRes","batch":[{"eventEncoded":{"name":"v1.TodoCreated","args":{"id":"t1","text":"Buy milk"},"seqNum":1,"parentSeqNum":0,"clientId":"AbC12","sessionId":"Xy12a"},"metadata":{"_tag":"Some","value":{"createdAt":"<T>"}}}],"requestId":{"context":"push","requestId":"pq9Yk2"},"remaining":0}"#)
    XCTAssertNotNil(ISODate.parse(try SyncMessage.decode(echo).pullResponseValue!.batch[0].createdAt!))

    ws.send(#"{"_tag":"WSMessage.PullReq","requestId":"V1StGXR8_Z5jdHi6B-myT","cursor":0}"#)
    let page = try await ws.receive()
    XCTAssertEqual(normalized(page), #"{"_tag":"WSMessage.PullRes","batch":[{"eventEncoded":{"name":"v1.TodoCreated","args":{"id":"t1","text":"Buy milk"},"seqNum":1,"parentSeqNum":0,"clientId":"AbC12","sessionId":"Xy12a"},"metadata":{"_tag":"Some","value":{"createdAt":"<T>"}}}],"requestId":{"context":"pull","requestId":"V1StGXR8_Z5jdHi6B-myT"},"remaining":0}"#)
    ws.send(#"{"_tag":"WSMessage.PullReq","requestId":"again","cursor":1}"#)
    let caughtUp = try await ws.receive()
    XCTAssertEqual(caughtUp, #"{"_tag":"WSMessage.PullRes","batch":[],"requestId":{"context":"pull","requestId":"again"},"remaining":0}"#)
    await ws.close()
  }

  func testWrongParentGetsLiveStoresError() async throws {
    let ws = try await socket()
    ws.send(#"{"_tag":"WSMessage.PushReq","requestId":"p1","batch":[{"name":"a","args":{},"seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}]}"#)
    _ = try await ws.receive()  // ack
    _ = try await ws.receive()  // echo
    ws.send(#"{"_tag":"WSMessage.PushReq","requestId":"p2","batch":[{"name":"a","args":{},"seqNum":6,"parentSeqNum":5,"clientId":"c","sessionId":"s"}]}"#)
    let error = try await ws.receive()
    XCTAssertEqual(error, #"{"_tag":"WSMessage.Error","requestId":"p2","message":"Invalid parent event number. Received e5 but expected e1"}"#)
    let extra = try await ws.expectSilence()
    XCTAssertNil(extra, "a rejected push must not be broadcast")
    await ws.close()
  }

  func testGapInsideABatchIsRefusedWholly() async throws {
    let ws = try await socket()
    ws.send(#"{"_tag":"WSMessage.PushReq","requestId":"gap","batch":[{"name":"a","seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"},{"name":"a","seqNum":3,"parentSeqNum":2,"clientId":"c","sessionId":"s"}]}"#)
    let error = try await ws.receive()
    XCTAssertEqual(error, #"{"_tag":"WSMessage.Error","requestId":"gap","message":"Invalid push batch: event 1 has parent e2 but the previous event is e1"}"#)
    ws.send(#"{"_tag":"WSMessage.PushReq","requestId":"skip","batch":[{"name":"a","seqNum":2,"parentSeqNum":0,"clientId":"c","sessionId":"s"}]}"#)
    let skip = try await ws.receive()
    XCTAssertEqual(skip, #"{"_tag":"WSMessage.Error","requestId":"skip","message":"Invalid push batch: event 0 is e2 but its parent e0 requires e1"}"#)
    ws.send(#"{"_tag":"WSMessage.PullReq","requestId":"check"}"#)
    let page = try await ws.receive()
    XCTAssertEqual(page, #"{"_tag":"WSMessage.PullRes","batch":[],"requestId":{"context":"pull","requestId":"check"},"remaining":0}"#)
    await ws.close()
  }

  func testMalformedMessagesGetAnErrorAndTheConnectionStaysUsable() async throws {
    let ws = try await socket()
    ws.send("{not json")
    let first = try await ws.receive()
    XCTAssertTrue(first.hasPrefix(#"{"_tag":"WSMessage.Error","requestId":"","message":"Invalid message: message is not valid JSON"#), first)
    ws.send(#"{"_tag":"WSMessage.PushReq","requestId":"bad","batch":[{"name":"a"}]}"#)
    let second = try await ws.receive()
    XCTAssertEqual(second, #"{"_tag":"WSMessage.Error","requestId":"bad","message":"Invalid message: event is missing \"seqNum\""}"#)
    ws.send(#"{"_tag":"WSMessage.PushAck","requestId":"x"}"#)
    let third = try await ws.receive()
    XCTAssertEqual(third, #"{"_tag":"WSMessage.Error","requestId":"x","message":"Invalid message: WSMessage.PushAck is sent by the server, not to it"}"#)
    ws.send(#"{"_tag":"WSMessage.Ping","requestId":"ping"}"#)
    let pong = try await ws.receive()
    XCTAssertEqual(pong, #"{"_tag":"WSMessage.Pong","requestId":"ping"}"#)
    await ws.close()
  }

  func testAdminMessagesNeedTheSecretAndResetReallyResets() async throws {
    let ws = try await socket()
    ws.send(#"{"_tag":"WSMessage.PushReq","requestId":"p1","batch":[{"name":"a","seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}]}"#)
    _ = try await ws.receive()
    _ = try await ws.receive()
    ws.send(#"{"_tag":"WSMessage.AdminResetRoomReq","requestId":"r1","adminSecret":"wrong"}"#)
    let refused = try await ws.receive()
    XCTAssertEqual(refused, #"{"_tag":"WSMessage.Error","requestId":"r1","message":"Invalid admin secret"}"#)
    ws.send(#"{"_tag":"WSMessage.AdminInfoReq","requestId":"r2","adminSecret":"admin-secret"}"#)
    let info = try await ws.receive()
    XCTAssertEqual(info, #"{"_tag":"WSMessage.AdminInfoRes","requestId":"r2","info":{"durableObjectId":"todos","storeId":"todos","head":1,"connections":1}}"#)
    ws.send(#"{"_tag":"WSMessage.AdminResetRoomReq","requestId":"r3","adminSecret":"admin-secret"}"#)
    let reset = try await ws.receive()
    XCTAssertEqual(reset, #"{"_tag":"WSMessage.AdminResetRoomRes","requestId":"r3"}"#)
    ws.send(#"{"_tag":"WSMessage.PullReq","requestId":"q"}"#)
    let empty = try await ws.receive()
    XCTAssertEqual(empty, #"{"_tag":"WSMessage.PullRes","batch":[],"requestId":{"context":"pull","requestId":"q"},"remaining":0}"#)
    // After the reset the store starts again at e0.
    ws.send(#"{"_tag":"WSMessage.PushReq","requestId":"p2","batch":[{"name":"b","seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}]}"#)
    let ack = try await ws.receive()
    XCTAssertEqual(ack, #"{"_tag":"WSMessage.PushAck","requestId":"p2"}"#)
    await ws.close()
  }

  func testBroadcastReachesEveryClientOfTheStoreIncludingThePusher() async throws {
    let pusher = try await socket()
    let other = try await socket()
    let stranger = try await socket(store: "elsewhere")
    // Make sure both sockets are registered before the push (a pull round trip each).
    for ws in [pusher, other] {
      ws.send(#"{"_tag":"WSMessage.PullReq","requestId":"warm"}"#)
      _ = try await ws.receive()
    }
    pusher.send(#"{"_tag":"WSMessage.PushReq","requestId":"bcast","batch":[{"name":"a","args":{"n":1},"seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"},{"name":"a","args":{"n":2},"seqNum":2,"parentSeqNum":1,"clientId":"c","sessionId":"s"}]}"#)
    let ack = try await pusher.receive()
    XCTAssertEqual(ack, #"{"_tag":"WSMessage.PushAck","requestId":"bcast"}"#)
    let expected = #"{"_tag":"WSMessage.PullRes","batch":[{"eventEncoded":{"name":"a","args":{"n":1},"seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"},"metadata":{"_tag":"Some","value":{"createdAt":"<T>"}}},{"eventEncoded":{"name":"a","args":{"n":2},"seqNum":2,"parentSeqNum":1,"clientId":"c","sessionId":"s"},"metadata":{"_tag":"Some","value":{"createdAt":"<T>"}}}],"requestId":{"context":"push","requestId":"bcast"},"remaining":0}"#
    let echo = try await pusher.receive()
    XCTAssertEqual(normalized(echo), expected)
    let seen = try await other.receive()
    XCTAssertEqual(normalized(seen), expected)
    XCTAssertEqual(seen, echo, "one createdAt for the whole batch, same text for everyone")
    let nothing = try await stranger.expectSilence()
    XCTAssertNil(nothing)
    for ws in [pusher, other, stranger] { await ws.close() }
  }

  func testPullPagesBy100WithRemaining() async throws {
    let ws = try await socket()
    for start in stride(from: 1, through: 201, by: 100) {
      let count = start == 201 ? 50 : 100
      let batch = makeBatch(from: Int64(start), count: count)
      ws.send(SyncMessage.pushRequest(requestId: "p\(start)", batch: batch).encoded())
      _ = try await ws.receive()
      _ = try await ws.receive()
    }
    ws.send(#"{"_tag":"WSMessage.PullReq","requestId":"all"}"#)
    var pages: [PullResponse] = []
    for _ in 0..<3 { pages.append(try SyncMessage.decode(try await ws.receive()).pullResponseValue!) }
    XCTAssertEqual(pages.map(\.batch.count), [100, 100, 50])
    XCTAssertEqual(pages.map(\.remaining), [150, 50, 0])
    XCTAssertEqual(pages.flatMap(\.batch).map(\.event.seqNum), Array(1...250))
    XCTAssertTrue(pages.allSatisfy { $0.context == .pull && $0.requestId == "all" })
    await ws.close()
  }
}

func makeBatch(from first: Int64, count: Int, clientId: String = "c1") -> [WireEvent] {
  (0..<Int64(count)).map { offset in
    WireEvent(name: "v1.TodoCreated", args: ["id": .string("t\(first + offset)"), "text": "x"], seqNum: first + offset,
              parentSeqNum: first + offset - 1, clientId: clientId, sessionId: "s1")
  }
}

extension SyncMessage {
  var pullResponseValue: PullResponse? {
    if case .pullResponse(let response) = self { return response }
    return nil
  }
}
