import Foundation
import LStoreKit
import LStoreSync
import TestSupport
import XCTest
@testable import LStoreServer

/// `lstore serve` driven with LiveStore 0.4.0's raw frames (Effect RPC over a real
/// WebSocket, and over HTTP) on the same port as the 0.3 protocol.
final class LiveStore04ProtocolTests: XCTestCase {
  var server: TestServer!

  override func setUp() async throws { server = try await TestServer() }

  override func tearDown() async throws {
    await server.stop()
    server.removeData()
  }

  // MARK: - Helpers

  /// LiveStore 0.4's client URL: the base (here with the `/websocket` path the real-client
  /// tool uses) plus `?storeId=…&transport=ws`.
  func socket04(_ store: String, path: String = "/websocket") async throws -> RawWebSocket {
    try await RawWebSocket(url: SyncURL.url04(base: server.wsURL + path, storeId: store, payload: nil, transport: .webSocket))
  }

  func event(_ n: Int64, parent: Int64? = nil, client: String = "c") -> WireEvent {
    WireEvent(name: "v1.TodoCreated", args: ["id": .string("t\(n)"), "n": .integer(n)], seqNum: n,
              parentSeqNum: parent ?? n - 1, clientId: client, sessionId: "s")
  }

  func push(_ id: String, _ store: String, _ events: [WireEvent], backendId: String? = nil, http: Bool = false) -> String {
    let payload = SyncRPC04.PushRequest(storeId: store, batch: events, backendId: backendId).jsonValue
    return RPC04.ClientMessage.request(RPC04.Request(id: id, tag: http ? SyncRPC04.httpPush : SyncRPC04.wsPush, payload: payload,
                                                     traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331",
                                                     sampled: true)).encoded()
  }

  func pull(_ id: String, _ store: String, live: Bool, cursor: SyncRPC04.PullRequest.Cursor? = nil, http: Bool = false) -> String {
    let payload = SyncRPC04.PullRequest(storeId: store, live: http ? nil : live, cursor: cursor).jsonValue
    return RPC04.ClientMessage.request(RPC04.Request(id: id, tag: http ? SyncRPC04.httpPull : SyncRPC04.wsPull, payload: payload,
                                                     traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331",
                                                     sampled: true)).encoded()
  }

  func ack(_ id: String) -> String { RPC04.ClientMessage.ack(requestId: id).encoded() }

  /// The next frame as a page: (requestId, page).
  func page(_ ws: RawWebSocket, file: StaticString = #filePath, line: UInt = #line) async throws -> (String, SyncRPC04.PullResponse) {
    let text = try await ws.receive()
    guard case .chunk(let id, let values) = try RPC04.ServerMessage.decode(text), values.count == 1 else {
      XCTFail("expected a Chunk, got \(text.prefix(300))", file: file, line: line)
      throw Timeout()
    }
    return (id, try SyncRPC04.PullResponse(json: values[0]))
  }

  func exit(_ ws: RawWebSocket) async throws -> (String, RPC04.Exit) {
    let text = try await ws.receive()
    guard case .exit(let id, let exit) = try RPC04.ServerMessage.decode(text) else {
      XCTFail("expected an Exit, got \(text.prefix(300))")
      throw Timeout()
    }
    return (id, exit)
  }

  func typedError(_ exit: RPC04.Exit) throws -> SyncRPC04.SyncError? {
    guard case .failure(let cause) = exit, let first = cause.failures.first else { return nil }
    return try SyncRPC04.SyncError(json: first)
  }

  // MARK: - WebSocket

  func testPushThenPagedPullWaitsForEveryAckAndA03ClientWorksOnTheSamePort() async throws {
    let ws = try await socket04("paged")
    for (index, range) in [(1...100), (101...200), (201...250)].enumerated() {
      ws.send(push("\(index + 1)", "paged", range.map { event(Int64($0)) }))
      let reply = try await ws.receive()
      XCTAssertEqual(reply, #"{"_tag":"Exit","requestId":"\#(index + 1)","exit":{"_tag":"Success","value":{}}}"#)
    }
    ws.send(pull("4", "paged", live: false))
    let (id1, first) = try await page(ws)
    XCTAssertEqual(id1, "4")
    XCTAssertEqual(first.batch.map(\.event.seqNum), Array(1...100))
    XCTAssertEqual(first.pageInfo, .moreKnown(remaining: 150))
    XCTAssertEqual(first.backendId.count, 21)
    XCTAssertNotNil(first.batch[0].createdAt.flatMap(ISODate.parse))
    // Without an Ack the server sends nothing more, and still answers pings.
    let silence = try await ws.expectSilence(0.5)
    XCTAssertNil(silence)
    ws.send(RPC04.pingText)
    let pong = try await ws.receive()
    XCTAssertEqual(pong, RPC04.pongText)
    ws.send(ack("4"))
    let (_, second) = try await page(ws)
    XCTAssertEqual(second.batch.map(\.event.seqNum), Array(101...200))
    XCTAssertEqual(second.pageInfo, .moreKnown(remaining: 50))
    ws.send(ack("4"))
    let (_, third) = try await page(ws)
    XCTAssertEqual(third.batch.map(\.event.seqNum), Array(201...250))
    XCTAssertEqual(third.pageInfo, .noMore)
    XCTAssertEqual(Set([first.backendId, second.backendId, third.backendId]).count, 1)
    // The Exit, too, waits for the Ack of the last page.
    let early = try await ws.expectSilence(0.3)
    XCTAssertNil(early)
    ws.send(ack("4"))
    let done = try await ws.receive()
    XCTAssertEqual(done, #"{"_tag":"Exit","requestId":"4","exit":{"_tag":"Success"}}"#)

    // A cursor pull with the backend id, sent as LiveStore's client writes it ("007" is read as 7).
    ws.send(#"{"_tag":"Request","id":"007","tag":"SyncWsRpc.Pull","traceId":"0af7651916cd43dd8448eb211c80319c","payload":{"storeId":"paged","live":false,"cursor":{"_tag":"Some","value":{"backendId":"\#(first.backendId)","eventSequenceNumber":240}}},"spanId":"b7ad6b7169203331","sampled":true,"headers":[]}"#)
    let (id7, tail) = try await page(ws)
    XCTAssertEqual(id7, "7")
    XCTAssertEqual(tail.batch.map(\.event.seqNum), Array(241...250))
    ws.send(ack("007"))
    let exit7 = try await exit(ws)
    XCTAssertEqual(exit7.0, "7")

    // A 0.3 client on the same port and store sees the same events, and its push reaches
    // a 0.4 live pull.
    ws.send(pull("8", "paged", live: true, cursor: .init(backendId: first.backendId, eventSequenceNumber: 250)))
    let (_, caughtUp) = try await page(ws)
    XCTAssertEqual(caughtUp.batch.count, 0)
    XCTAssertEqual(caughtUp.pageInfo, .noMore)
    ws.send(ack("8"))
    let old = try await RawWebSocket(url: SyncURL.webSocketURL(base: server.wsURL, storeId: "paged", payload: nil))
    old.send(#"{"_tag":"WSMessage.PullReq","requestId":"r1","cursor":249}"#)
    let oldPage = try SyncMessage.decode(try await old.receive())
    XCTAssertEqual(oldPage.pullResponseValue?.batch.map(\.event.seqNum), [250])
    old.send(SyncMessage.pushRequest(requestId: "p1", batch: [event(251)]).encoded())
    let got1 = try await old.receive()
    XCTAssertEqual(got1, #"{"_tag":"WSMessage.PushAck","requestId":"p1"}"#)
    let (liveId, live) = try await page(ws)
    XCTAssertEqual(liveId, "8")
    XCTAssertEqual(live.batch.map(\.event.seqNum), [251])
    XCTAssertEqual(live.pageInfo, .noMore)
    await old.close()
    await ws.close()
  }

  func testLiveUpdatesReachASecondSocketOneUnackedChunkAtATimeAndInterruptStopsThem() async throws {
    let a = try await socket04("live", path: "/")
    let b = try await socket04("live")
    a.send(pull("0", "live", live: true))
    let (_, empty) = try await page(a)
    XCTAssertEqual(empty.batch.count, 0)
    XCTAssertEqual(empty.pageInfo, .noMore)
    a.send(ack("0"))
    // The same id on another socket is another request.
    b.send(push("0", "live", [event(1, client: "b")]))
    let pushed = try await exit(b)
    XCTAssertEqual(pushed.1, .success(SyncRPC04.pushAck))
    let (id, first) = try await page(a)
    XCTAssertEqual(id, "0")
    XCTAssertEqual(first.batch.map(\.event.seqNum), [1])
    XCTAssertEqual(first.backendId, empty.backendId)
    // A withholds its Ack: later pushes are held for it, and it still gets Pongs.
    b.send(push("1", "live", [event(2, client: "b")]))
    _ = try await exit(b)
    b.send(push("2", "live", [event(3, client: "b")]))
    _ = try await exit(b)
    let held = try await a.expectSilence(0.4)
    XCTAssertNil(held)
    a.send(#"{"_tag":"Ping"}"#)
    let got2 = try await a.receive()
    XCTAssertEqual(got2, #"{"_tag":"Pong"}"#)
    a.send(ack("0"))
    let (_, both) = try await page(a)
    XCTAssertEqual(both.batch.map(\.event.seqNum), [2, 3])
    a.send(ack("0"))
    // Interrupt: the pull ends with an interrupt Exit and gets nothing more.
    a.send(#"{"_tag":"Interrupt","requestId":"0"}"#)
    let got3 = try await a.receive()
    XCTAssertEqual(got3,
                   #"{"_tag":"Exit","requestId":"0","exit":{"_tag":"Failure","cause":{"_tag":"Interrupt","fiberId":{"_tag":"Runtime","id":-499,"startTimeMillis":0}}}}"#)
    b.send(push("3", "live", [event(4, client: "b")]))
    _ = try await exit(b)
    let after = try await a.expectSilence(0.4)
    XCTAssertNil(after)
    // An Ack or Interrupt for nothing open is ignored.
    a.send(ack("0"))
    a.send(#"{"_tag":"Interrupt","requestId":"99"}"#)
    let ignored = try await a.expectSilence(0.3)
    XCTAssertNil(ignored)
    await a.close()
    await b.close()
  }

  func testTypedFailuresForAWrongParentAWrongBackendIdAndAGappedBatch() async throws {
    let ws = try await socket04("typed")
    ws.send(push("1", "typed", [event(1)]))
    _ = try await exit(ws)
    ws.send(pull("2", "typed", live: false))
    let (_, page1) = try await page(ws)
    let backendId = page1.backendId
    ws.send(ack("2"))
    _ = try await exit(ws)

    ws.send(push("3", "typed", [event(1)], backendId: backendId))
    let behind = try await exit(ws)
    XCTAssertEqual(behind.0, "3")
    XCTAssertEqual(try typedError(behind.1), .serverAhead(minimumExpectedNum: 1, providedNum: 0))
    ws.send(push("4", "typed", [event(11)], backendId: backendId))
    let got4 = try await ws.receive()
    XCTAssertEqual(got4,
                   #"{"_tag":"Exit","requestId":"4","exit":{"_tag":"Failure","cause":{"_tag":"Fail","error":{"minimumExpectedNum":1,"providedNum":10,"_tag":"ServerAheadError"}}}}"#)
    ws.send(push("5", "typed", [event(2)], backendId: "wrong"))
    let got5 = try await ws.receive()
    XCTAssertEqual(got5,
                   #"{"_tag":"Exit","requestId":"5","exit":{"_tag":"Failure","cause":{"_tag":"Fail","error":{"expected":"\#(backendId)","received":"wrong","_tag":"BackendIdMismatchError"}}}}"#)
    ws.send(pull("6", "typed", live: true, cursor: .init(backendId: "wrong", eventSequenceNumber: 1)))
    let refusedPull = try await exit(ws)
    XCTAssertEqual(try typedError(refusedPull.1), .backendIdMismatch(expected: backendId, received: "wrong"))
    // lstore refuses a batch with a gap (LiveStore's backend would store it).
    ws.send(push("7", "typed", [event(2), event(4, parent: 3)], backendId: backendId))
    let gapped = try await exit(ws)
    guard case .unknown(_, let note)? = try typedError(gapped.1) else { return XCTFail("\(gapped)") }
    XCTAssertEqual(note, "Invalid push batch: event 1 has parent e3 but the previous event is e2")
    // Nothing of it was stored: e2 still continues the head.
    ws.send(push("8", "typed", [event(2)], backendId: backendId))
    let got6 = try await exit(ws).1
    XCTAssertEqual(got6, .success(SyncRPC04.pushAck))
    // The backend id is the store's, stable across connections.
    let other = try await socket04("typed")
    other.send(pull("0", "typed", live: false))
    let got7 = try await page(other).1.backendId
    XCTAssertEqual(got7, backendId)
    await other.close()
    await ws.close()
  }

  func testMalformedFramesNumericAndInvalidIdsAreRefusedAndTheSocketKeepsServing() async throws {
    let ws = try await socket04("bad")
    ws.send(#"{"_tag":"Request","id":7,"tag":"SyncWsRpc.Pull","payload":{"storeId":"bad","live":false,"cursor":{"_tag":"None"}},"headers":[]}"#)
    let got8 = try await ws.receive()
    XCTAssertEqual(got8, #"{"_tag":"Defect","defect":"Invalid request id: 7"}"#)
    ws.send(#"{"_tag":"Request","id":"abc","tag":"SyncWsRpc.Pull","payload":{"storeId":"bad","live":false,"cursor":{"_tag":"None"}},"headers":[]}"#)
    let got9 = try await ws.receive()
    XCTAssertEqual(got9, #"{"_tag":"Defect","defect":"Invalid request id: abc"}"#)
    ws.send("{not json")
    guard case .defect(let syntax) = try RPC04.ServerMessage.decode(try await ws.receive()) else { return XCTFail() }
    XCTAssertEqual(syntax["name"], .string("SyntaxError"))
    for (frame, defect) in [("[]", "Unknown request tag: undefined"), ("null", "Unknown request tag: undefined"),
                            (#"{"_tag":"Nope"}"#, "Unknown request tag: Nope"),
                            (#"{"_tag":"Request","id":"1","tag":"SyncWsRpc.Nope","payload":{},"headers":[]}"#,
                             "Unknown request tag: SyncWsRpc.Nope")] {
      ws.send(frame)
      let got10 = try await ws.receive()
      XCTAssertEqual(got10, #"{"_tag":"Defect","defect":"\#(defect)"}"#, frame)
    }
    // An undecodable payload fails that request only (Die), as Effect does.
    ws.send(#"{"_tag":"Request","id":"10","tag":"SyncWsRpc.Push","payload":{"storeId":"bad","batch":[{"name":1}]},"headers":[]}"#)
    let die = try await exit(ws)
    XCTAssertEqual(die.0, "10")
    guard case .failure(let cause) = die.1 else { return XCTFail() }
    XCTAssertEqual(cause.defects.count, 1)
    // A request for another store than the connection's.
    ws.send(push("11", "elsewhere", [event(1)]))
    guard case .unknown? = try typedError(try await exit(ws).1) else { return XCTFail() }
    // Still serving: a ping, a push, a pull, with headers missing (tolerated on WebSocket).
    ws.send(RPC04.pingText)
    let got11 = try await ws.receive()
    XCTAssertEqual(got11, RPC04.pongText)
    ws.send(#"{"_tag":"Request","id":"12","tag":"SyncWsRpc.Push","payload":{"storeId":"bad","batch":[{"name":"v1.X","args":{},"seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}],"backendId":{"_tag":"None"}}}"#)
    let got12 = try await ws.receive()
    XCTAssertEqual(got12, #"{"_tag":"Exit","requestId":"12","exit":{"_tag":"Success","value":{}}}"#)
    await ws.close()
  }

  func testA20MBFrameIsRefusedWith1009AndOtherClientsKeepBeingServed() async throws {
    let bystander = try await socket04("big")
    bystander.send(pull("0", "big", live: true))
    _ = try await page(bystander)
    bystander.send(ack("0"))
    let port = server.port
    let target = "/websocket?storeId=big&transport=ws"
    let code = try await offPool { () -> Int? in
      let socket = try RawFrameSocket(port: port, target: target)
      let head = Array(#"{"_tag":"Request","id":"1","tag":"SyncWsRpc.Push","payload":{"storeId":"big","batch":[{"name":"v1.X","args":{"t":""#.utf8)
      try socket.write(RawFrameSocket.encode(opcode: 1, payload: head + Array(repeating: UInt8(ascii: "a"), count: 65536),
                                             length: 20_000_000))
      return try socket.readUntilClosed()
    }
    XCTAssertEqual(code, 1009)
    let pusher = try await socket04("big")
    pusher.send(push("1", "big", [event(1)]))
    let got13 = try await exit(pusher).1
    XCTAssertEqual(got13, .success(SyncRPC04.pushAck))
    let (_, live) = try await page(bystander)
    XCTAssertEqual(live.batch.map(\.event.seqNum), [1])
    await pusher.close()
    await bystander.close()
  }

  func testPagesOfLargeEventsStayWithinLiveStores900000Bytes() async throws {
    let ws = try await socket04("large")
    let filler = String(repeating: "x", count: 99_950)
    let events = (1...20).map { n in
      WireEvent(name: "v1.Big", args: ["n": .integer(Int64(n)), "text": .string(filler)], seqNum: Int64(n), parentSeqNum: Int64(n - 1),
                clientId: "c", sessionId: "s")
    }
    ws.send(push("1", "large", events))
    _ = try await exit(ws)
    ws.send(pull("2", "large", live: false))
    var sizes: [Int] = []
    var seqNums: [Int64] = []
    while true {
      let text = try await ws.receive()
      guard case .chunk(_, let values) = try RPC04.ServerMessage.decode(text) else { break }
      let response = try SyncRPC04.PullResponse(json: values[0])
      // What LiveStore measures: the PullResponse JSON of the page.
      sizes.append(values[0].compactText.utf8.count)
      seqNums += response.batch.map(\.event.seqNum)
      ws.send(ack("2"))
    }
    XCTAssertEqual(seqNums, Array(1...20))
    XCTAssertGreaterThan(sizes.count, 2)
    XCTAssertTrue(sizes.allSatisfy { $0 <= 900_000 }, "\(sizes)")
    XCTAssertTrue(sizes.dropLast().allSatisfy { $0 > 700_000 }, "pages are filled: \(sizes)")
    await ws.close()
  }

  /// LSTORE_FUZZ_SEED replays another sequence.
  func testMutatedFramesNeverStopTheServer() async throws {
    let ws = try await socket04("fuzz")
    let seeds = [push("1", "fuzz", [event(1)]), pull("2", "fuzz", live: true), ack("2"), #"{"_tag":"Interrupt","requestId":"2"}"#,
                 pull("3", "fuzz", live: false, cursor: .init(backendId: "x", eventSequenceNumber: 5)), RPC04.pingText, #"{"_tag":"Eof"}"#]
    var random = SplitMix64(state: UInt64(ProcessInfo.processInfo.environment["LSTORE_FUZZ_SEED"] ?? "") ?? 0x5EED)
    var sent = 0
    for round in 0..<400 {
      var bytes = Array(seeds[round % seeds.count].utf8)
      for _ in 0..<(1 + Int(random.next() % 4)) {
        let at = Int(random.next() % UInt64(bytes.count))
        switch random.next() % 4 {
        case 0: bytes[at] = UInt8(32 + random.next() % 95)
        case 1: bytes.remove(at: at)
        case 2: bytes.insert(contentsOf: Array([#"""#, "{", "[", "1", "-", "}", "]", ":", ","][Int(random.next() % 9)].utf8), at: at)
        default: bytes = Array(bytes[..<at])
        }
        if bytes.isEmpty { bytes = Array("{".utf8) }
      }
      ws.send(String(decoding: bytes, as: UTF8.self))
      sent += 1
    }
    // Whatever those did, the socket still answers, in order, and a push still works.
    ws.send(#"{"_tag":"Interrupt","requestId":"900"}"#)
    ws.send(push("901", "fuzz", [event(1, client: "after")]))
    var sawPushExit = false
    for _ in 0..<2000 {
      let text = try await ws.receive()
      if case .exit("901", let exit)? = try? RPC04.ServerMessage.decode(text) {
        // Some mutated push may have stored e1 first; either answer is a clean one.
        if case .success = exit { sawPushExit = true } else if case .serverAhead? = try typedError(exit) { sawPushExit = true }
        break
      }
    }
    XCTAssertTrue(sawPushExit)
    ws.send(RPC04.pingText)
    var pong = false
    for _ in 0..<2000 where !pong {
      pong = try await ws.receive() == RPC04.pongText
    }
    XCTAssertTrue(pong)
    XCTAssertEqual(sent, 400)
    await ws.close()
  }

  func testWithoutUpgradeTheWebSocketTransportIsAnswered426() async throws {
    let port = server.port
    let reply = try await offPool { try RawHTTP.request(port: port, "GET", "/?storeId=s&transport=ws") }
    XCTAssertEqual(reply.status, 426)
    XCTAssertEqual(reply.body, "Durable Object expected Upgrade: websocket")
  }

  func testTheConnectPayloadIsCheckedOnBothTransports() async throws {
    let guarded = try await TestServer(authToken: "s3cret")
    defer { guarded.removeData() }
    let url = { (payload: JSONValue?, transport: SyncURL.Transport04) in
      SyncURL.url04(base: guarded.wsURL + "/", storeId: "auth", payload: payload, transport: transport)
    }
    do {
      _ = try await RawWebSocket(url: url(nil, .webSocket))
      XCTFail("a 0.4 socket without the token was upgraded")
    } catch {}
    let ws = try await RawWebSocket(url: url(["authToken": "s3cret"], .webSocket))
    ws.send(RPC04.pingText)
    let pong = try await ws.receive()
    XCTAssertEqual(pong, RPC04.pongText)
    await ws.close()
    let port = guarded.port
    let body = push("1", "auth", [event(1)], http: true)
    let refused = try await offPool { try RawHTTP.request(port: port, "POST", "/?storeId=auth&transport=http", body: body) }
    XCTAssertEqual(refused.status, 400)
    XCTAssertEqual(refused.body, "Missing auth token: the payload must be {\"authToken\": …}")
    let target = String(url(["authToken": "s3cret"], .http).dropFirst(guarded.wsURL.count))
    let accepted = try await offPool { try RawHTTP.request(port: port, "POST", target, body: body) }
    XCTAssertEqual(accepted.body, #"[{"_tag":"Exit","requestId":"1","exit":{"_tag":"Success","value":{}}}]"#)
    await guarded.stop()
  }

  // MARK: - HTTP

  func post(_ body: String, store: String = "web") async throws -> RawHTTP.Reply {
    let port = server.port
    return try await offPool { try RawHTTP.request(port: port, "POST", "/?storeId=\(store)&transport=http", body: body) }
  }

  func testHTTPPushAndPagedPullAndPing() async throws {
    let pushed = try await post(push("22", "web", (1...100).map { event($0) }, http: true))
    XCTAssertEqual(pushed.status, 200)
    XCTAssertEqual(pushed.body, #"[{"_tag":"Exit","requestId":"22","exit":{"_tag":"Success","value":{}}}]"#)
    _ = try await post(push("23", "web", (101...150).map { event($0) }, http: true))

    let pulled = try await post(pull("24", "web", live: false, http: true))
    XCTAssertEqual(pulled.status, 200)
    guard let frames = try JSONParser.parse(pulled.body).arrayValue else { return XCTFail(pulled.body) }
    XCTAssertEqual(frames.count, 3)
    let pages = try frames.prefix(2).map { frame -> SyncRPC04.PullResponse in
      guard case .chunk("24", let values) = try RPC04.ServerMessage.decode(frame) else { throw Timeout() }
      return try SyncRPC04.PullResponse(json: values[0])
    }
    XCTAssertEqual(pages.map(\.batch.count), [100, 50])
    XCTAssertEqual(pages.map(\.pageInfo), [.moreKnown(remaining: 50), .noMore])
    XCTAssertEqual(try RPC04.ServerMessage.decode(frames[2]), .exit(requestId: "24", exit: .success(nil)))

    let backendId = pages[0].backendId
    let tail = try await post(pull("25", "web", live: false, cursor: .init(backendId: backendId, eventSequenceNumber: 150), http: true))
    XCTAssertEqual(tail.body, #"[{"_tag":"Chunk","requestId":"25","values":[{"batch":[],"pageInfo":{"_tag":"NoMore"},"backendId":"\#(backendId)"}]},{"_tag":"Exit","requestId":"25","exit":{"_tag":"Success"}}]"#)

    let ahead = try await post(push("26", "web", [event(120)], backendId: backendId, http: true))
    XCTAssertEqual(ahead.body, #"[{"_tag":"Exit","requestId":"26","exit":{"_tag":"Failure","cause":{"_tag":"Fail","error":{"minimumExpectedNum":150,"providedNum":119,"_tag":"ServerAheadError"}}}}]"#)

    let ping = try await post(#"{"_tag":"Request","id":"20","tag":"SyncHttpRpc.Ping","payload":{"storeId":"web"},"headers":[]}"#)
    XCTAssertEqual(ping.body, #"[{"_tag":"Exit","requestId":"20","exit":{"_tag":"Success","value":{"_tag":"SyncMessage.Pong"}}}]"#)
    let malformed = try await post("{not json")
    XCTAssertEqual(malformed.status, 200)
    XCTAssertTrue(malformed.body.hasPrefix(#"[{"_tag":"Defect","defect":{"name":"SyntaxError""#), malformed.body)
  }

  func testAnHTTPPushReachesWebSocketLivePulls() async throws {
    let ws = try await socket04("web")
    ws.send(pull("0", "web", live: true))
    _ = try await page(ws)
    ws.send(ack("0"))
    let reply = try await post(push("1", "web", [event(1)], http: true))
    XCTAssertEqual(reply.body, #"[{"_tag":"Exit","requestId":"1","exit":{"_tag":"Success","value":{}}}]"#)
    let (_, live) = try await page(ws)
    XCTAssertEqual(live.batch.map(\.event.seqNum), [1])
    await ws.close()
  }
}
