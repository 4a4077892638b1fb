import Foundation
import LStoreKit
import LStoreSync
import LStoreSyncWebSocket
import XCTest
@testable import LStoreServer

/// What one connection can make the server hold, and how it refuses what is over a limit:
/// each refusal is an answer and a closed connection, never a hang.
final class ConnectionLimitTests: XCTestCase {
  var server: TestServer!
  var log: LogCapture!

  func start(limits: ConnectionLimits = .standard, maxConnections: Int? = nil) async throws {
    log = LogCapture()
    server = try await TestServer(logLines: log, limits: limits, maxConnections: maxConnections)
  }

  override func tearDown() async throws {
    await server?.stop()
    server?.removeData()
  }

  func raw(_ store: String = "todos", receiveBuffer: Int32? = nil) async throws -> RawFrameSocket {
    let port = server.port
    return try await offPool { try RawFrameSocket(port: port, target: "/websocket?storeId=\(store)", receiveBuffer: receiveBuffer) }
  }

  func httpHead(_ store: String) async throws -> String {
    let port = server.port
    return try await offPool { try RawHTTP.request(port: port, "GET", "/api/v1/stores/\(store)/head").body }
  }

  /// Pushes `count` events over HTTP in batches of 100, each with `argBytes` of args.
  func fill(_ store: String, count: Int, argBytes: Int = 40) async throws {
    let port = server.port
    let text = String(repeating: "x", count: argBytes)
    try await offPool {
      var next = 1
      while next <= count {
        let size = min(100, count - next + 1)
        let events = (next..<next + size).map {
          #"{"name":"v1.X","args":{"t":"\#(text)"},"seqNum":\#($0),"parentSeqNum":\#($0 - 1),"clientId":"c","sessionId":"s"}"#
        }
        let reply = try RawHTTP.request(port: port, "POST", "/api/v1/stores/\(store)/events",
                                        body: #"{"batch":["# + events.joined(separator: ",") + "]}")
        guard reply.status == 200 else { throw RawFrameSocket.Failure.upgrade(reply.status, reply.body) }
        next += size
      }
    }
  }

  // MARK: - Over a size limit: a refusal and a closed connection

  func testARequestHeadOverTheLimitIsAnswered431AndClosed() async throws {
    try await start()
    let port = server.port
    let long = String(repeating: "a", count: 200_000)
    for headers in [[:], ["Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                          "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="]] {
      let reply = try await offPool { try RawHTTP.request(port: port, "GET", "/websocket?storeId=todos&payload=\(long)", headers: headers) }
      XCTAssertEqual(reply.status, 431)
      XCTAssertEqual(reply.body, "Request refused: the request line and headers exceed 80 KiB")
    }
    // A request under the limit is served as usual, on a new connection.
    let fine = try await offPool { try RawHTTP.request(port: port, "GET", "/api/v1/stores/todos/head?q=\(String(repeating: "a", count: 60_000))") }
    XCTAssertEqual(fine.status, 200)
  }

  func testAnHTTPBodyOverTheLimitIsAnswered413() async throws {
    try await start()
    let port = server.port
    let body = #"{"batch":[{"name":"v1.X","args":{"t":""# + String(repeating: "a", count: RequestBody.maxBytes) + #""},"seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}]}"#
    let reply = try await offPool { try RawHTTP.request(port: port, "POST", "/api/v1/stores/todos/events", body: body) }
    XCTAssertEqual(reply.status, 413)
    XCTAssertEqual(reply.body, #"{"error":"Request refused: the body exceeds 16 MiB"}"#)
  }

  /// A body declared over the limit is refused at once, before any of it is sent; a body
  /// whose chunked framing is broken is the client's error (400), on both endpoints that
  /// read a body.
  func testBodiesDeclaredTooLargeOrMalformedAreRefusedAtOnce() async throws {
    try await start()
    let port = server.port
    for (target, tooLarge, malformed) in [
      ("/api/v1/stores/todos/events", #"{"error":"Request refused: the body exceeds 16 MiB"}"#,
       #"{"error":"Request refused: malformed HTTP body"}"#),
      ("/?storeId=todos&transport=http", "Request refused: the body exceeds 16 MiB", "Request refused: malformed HTTP body"),
    ] {
      // Nothing of the gigabyte is sent: the answer comes before the client's 10 s timeout.
      let declared = try await offPool {
        try RawHTTP.request(port: port, "POST", target, headers: ["Content-Length": "\(1 << 30)"])
      }
      XCTAssertEqual(declared.status, 413, target)
      XCTAssertEqual(declared.body, tooLarge, target)
      let chunked = try await offPool {
        try RawHTTP.request(port: port, "POST", target, headers: ["Transfer-Encoding": "chunked"], rawBody: "zz\r\n{}\r\n0\r\n\r\n")
      }
      XCTAssertEqual(chunked.status, 400, target)
      XCTAssertEqual(chunked.body, malformed, target)
    }
    let head = try await httpHead("todos")
    XCTAssertEqual(head, #"{"head":0}"#)
  }

  /// Over `--max-connections`, a connection is closed as soon as it is accepted (the client
  /// reads the end of the stream, no answer), the refusal is logged, and the connections
  /// already open are served; once one closes, a new one is accepted again.
  func testConnectionsOverTheCapAreClosedAtAcceptUntilOneCloses() async throws {
    try await start(maxConnections: 2)
    let port = server.port
    let first = try await raw()
    var second: RawFrameSocket? = try await raw()
    let refused = try await offPool { () -> String in
      do { return "answered \(try RawHTTP.request(port: port, "GET", "/health").status)" } catch { return "closed" }
    }
    XCTAssertEqual(refused, "closed")
    XCTAssertTrue(log.text.contains("connection refused: the server holds its maximum of open connections"), log.text)
    XCTAssertTrue(log.text.contains("maxConnections=2"), log.text)
    // The two open sockets still work: a push over the first is answered.
    let pushed = try await offPool { () -> String in
      try first.sendText(#"{"_tag":"WSMessage.PushReq","requestId":"p","batch":[{"name":"v1.X","args":{},"seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}]}"#)
      return try first.readText()
    }
    XCTAssertTrue(pushed.contains("WSMessage.PushAck"), pushed)
    second = nil  // closes it
    _ = second
    let deadline = Date().addingTimeInterval(15)
    var head: String? = nil
    while head == nil, Date() < deadline {
      head = try? await httpHead("todos")
      if head == nil { try await Task.sleep(for: .milliseconds(20)) }
    }
    XCTAssertEqual(head, #"{"head":1}"#, "a connection is accepted again once one closed")
  }

  func testAFrameOverTheSizeLimitIsClosedWith1009() async throws {
    try await start()
    let socket = try await raw()
    let code = try await offPool { () -> Int? in
      // Only the header and a few bytes: the declared length is what is refused.
      try socket.write(RawFrameSocket.encode(opcode: 1, payload: Array(#"{"_tag":"#.utf8), length: UInt64(WebSocketEndpoint.maxMessageSize + 1)))
      return try socket.readUntilClosed()
    }
    XCTAssertEqual(code, 1009)
    let head = try await httpHead("todos")
    XCTAssertEqual(head, #"{"head":0}"#)
  }

  func testAMessageThatIsNotUTF8FailsTheConnectionWith1007AndStoresNothing() async throws {
    try await start()
    let push = Array(#"{"_tag":"WSMessage.PushReq","requestId":"p","batch":[{"name":"v1.X","args":{"t":""#.utf8)
      + [0xFF, 0xFE, 0xC3] + Array(#""},"seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}]}"#.utf8)
    for opcode: UInt8 in [1, 2] {  // a text frame, then the same bytes as a binary frame
      let socket = try await raw()
      let code = try await offPool { () -> Int? in
        try socket.send(opcode: opcode, push)
        return try socket.readUntilClosed()
      }
      XCTAssertEqual(code, 1007, "opcode \(opcode)")
    }
    let head = try await httpHead("todos")
    XCTAssertEqual(head, #"{"head":0}"#)
  }

  func testTheErrorForAMessageNestedTooDeepCarriesItsRequestId() async throws {
    try await start()
    let socket = try await raw()
    let deep = String(repeating: "[", count: 2000) + String(repeating: "]", count: 2000)
    let replies = try await offPool { () -> [String] in
      try socket.sendText(#"{"_tag":"WSMessage.PushReq","requestId":"first","batch":[{"name":"v1.X","args":\#(deep),"seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}]}"#)
      try socket.sendText(#"{"_tag":"WSMessage.PushReq","batch":\#(deep),"requestId":"last"}"#)
      try socket.sendText(#"{"_tag":"WSMessage.PullRes","requestId":{"context":"pull","requestId":"inner"},"batch":\#(deep)}"#)
      return try (0..<3).map { _ in try socket.readText() }
    }
    let ids = try replies.map { try JSONParser.parse($0)["requestId"]?.stringValue }
    XCTAssertEqual(ids, ["first", "last", "inner"], "\(replies)")
    for reply in replies { XCTAssertTrue(reply.contains("Invalid message: "), reply) }
  }

  // MARK: - Memory a client controls

  /// The issue's reproduction: 1,000 PullReqs on a 5,000-event store from a client that
  /// never reads grew the server by more than 1 GiB.
  func testPullsFromAClientThatNeverReadsKeepTheServerSmall() async throws {
    try await start()
    try await fill("big", count: 5000)
    let socket = try await raw("big", receiveBuffer: 4096)
    let before = residentBytes()
    try await offPool {
      let pulls = (0..<1000).map { #"{"_tag":"WSMessage.PullReq","requestId":"q\#($0)"}"# }
      for pull in pulls { try socket.sendText(pull) }
    }
    var peak = before
    let deadline = Date().addingTimeInterval(4)
    while Date() < deadline {  // a bounded measurement window, sampled
      peak = max(peak, residentBytes())
      try await Task.sleep(for: .milliseconds(100))
    }
    XCTAssertLessThan(peak - before, 150 << 20, "grew by \((peak - before) >> 20) MiB")
    // Everyone else is still served.
    let head = try await httpHead("big")
    XCTAssertEqual(head, #"{"head":5000}"#)
    // And the connection itself, once it reads, gets whole pages of the first pulls (up to
    // four run at once, so their pages may interleave; each carries its requestId).
    let first = try await offPool { () -> [String] in
      socket.setTimeouts(receive: 10, send: 10)
      return try (0..<3).map { _ in try socket.readText() }
    }
    for page in first {
      let message = try SyncMessage.decode(page)
      XCTAssertTrue(["q0", "q1", "q2", "q3"].contains(message.requestId), page.prefix(120).description)
    }
  }

  func testPingsWithHugeRequestIdsStopBeingReadWhenTheClientDoesNotRead() async throws {
    try await start()
    let socket = try await raw(receiveBuffer: 4096)
    let before = residentBytes()
    let id = String(repeating: "i", count: 1 << 20)
    let sent = try await offPool { () -> Int in
      socket.setTimeouts(receive: 2, send: 2)
      let frame = RawFrameSocket.encode(opcode: 1, payload: Array(#"{"_tag":"WSMessage.Ping","requestId":"\#(id)"}"#.utf8))
      var sent = 0
      for _ in 0..<200 {
        do { try socket.write(frame) } catch { break }  // the server stopped reading
        sent += 1
      }
      return sent
    }
    XCTAssertLessThan(sent, 200, "the server read every ping although nothing was read back")
    XCTAssertLessThan(residentBytes() - before, 100 << 20)
    let head = try await httpHead("todos")
    XCTAssertEqual(head, #"{"head":0}"#)
  }

  func testAClientThatDoesNotReadIsClosedOnceBroadcastsOverflowItsQueue() async throws {
    try await start(limits: ConnectionLimits(outboundPauseBytes: 256 << 10, outboundCloseBytes: 1 << 20))
    let idle = try await raw("live", receiveBuffer: 4096)
    let reader = try await raw("live")
    // Both subscribed: a pull round trip each.
    try await offPool {
      for socket in [idle, reader] {
        try socket.sendText(#"{"_tag":"WSMessage.PullReq","requestId":"warm"}"#)
      }
      _ = try reader.readText()
    }
    // Push broadcasts (100 events of 1 kB each per push) until the server gives up on the
    // client that does not read; bounded.
    var pushed = 0
    while pushed < 400, !log.text.contains("connection closed by the server") {
      let port = server.port
      let first = pushed * 100 + 1
      let text = String(repeating: "y", count: 1000)
      let reply = try await offPool { () -> RawHTTP.Reply in
        let events = (first..<first + 100).map {
          #"{"name":"v1.X","args":{"t":"\#(text)"},"seqNum":\#($0),"parentSeqNum":\#($0 - 1),"clientId":"c","sessionId":"s"}"#
        }
        return try RawHTTP.request(port: port, "POST", "/api/v1/stores/live/events", body: #"{"batch":["# + events.joined(separator: ",") + "]}")
      }
      XCTAssertEqual(reply.status, 200)
      pushed += 1
      // The reader keeps up: it gets this push's broadcast.
      _ = try await offPool { try reader.readText() }
    }
    XCTAssertTrue(log.text.contains("connection closed by the server"), "never closed after \(pushed) pushes")
    XCTAssertTrue(log.text.contains("the client does not read"), log.text)
    // The idle socket sees its connection end (after what its buffers held), not a hang.
    let ended = try await offPool { () -> Bool in
      idle.setTimeouts(receive: 10, send: 10)
      _ = try idle.readUntilClosed()
      return true
    }
    XCTAssertTrue(ended)
    // The reader was not affected.
    try await offPool { try reader.sendText(#"{"_tag":"WSMessage.Ping","requestId":"still"}"#) }
    let pong = try await offPool { try reader.readText() }
    XCTAssertEqual(pong, #"{"_tag":"WSMessage.Pong","requestId":"still"}"#)
  }
}

/// The issue's reproductions of "accepted but not servable", over the real server and
/// lstore's own WebSocket and HTTP clients.
final class ServableOverTheWireTests: XCTestCase {
  func testLargeEventsAndDeepArgsThatWereAcceptedArePulledOverBothTransports() async throws {
    let server = try await TestServer()
    defer { server.removeData() }
    let port = server.port
    // 100 events of 200 kB (one page of them used to exceed the client's 16 MiB frame).
    let blob = String(repeating: "z", count: 200_000)
    let deep = String(repeating: "[", count: EventLimits.maxArgsDepth) + "1" + String(repeating: "]", count: EventLimits.maxArgsDepth)
    try await offPool {
      for batch in 0..<5 {
        let events = (batch * 20 + 1...batch * 20 + 20).map {
          #"{"name":"v1.Big","args":{"b":"\#(blob)"},"seqNum":\#($0),"parentSeqNum":\#($0 - 1),"clientId":"c","sessionId":"s"}"#
        }
        let reply = try RawHTTP.request(port: port, "POST", "/api/v1/stores/big/events", body: #"{"batch":["# + events.joined(separator: ",") + "]}")
        XCTAssertEqual(reply.status, 200, reply.body)
      }
      let accepted = try RawHTTP.request(port: port, "POST", "/api/v1/stores/big/events",
        body: #"{"batch":[{"name":"v1.Deep","args":\#(deep),"seqNum":101,"parentSeqNum":100,"clientId":"c","sessionId":"s"}]}"#)
      XCTAssertEqual(accepted.status, 200, accepted.body)
      let refused = try RawHTTP.request(port: port, "POST", "/api/v1/stores/big/events",
        body: #"{"batch":[{"name":"v1.Deep","args":[\#(deep)],"seqNum":102,"parentSeqNum":101,"clientId":"c","sessionId":"s"}]}"#)
      XCTAssertEqual(refused.status, 400)
      XCTAssertEqual(refused.body, #"{"error":"Invalid push batch: event 0: args nest deeper than 256 levels"}"#)
    }
    let client = try await WebSocketSyncClient.connect(url: server.wsURL, storeId: "big", payload: nil)
    let seqNums = try await withDeadline(30) {
      var collected: [Int64] = []
      for try await page in client.pull(cursor: nil) { collected += page.items.map(\.event.seqNum) }
      return collected
    }
    XCTAssertEqual(seqNums, Array(1...101))
    await client.close()
    // HTTP pages are bounded by bytes too, whatever limit is asked for.
    var cursor: Int64 = 0
    var pages = 0
    while cursor < 101, pages < 200 {
      let target = "/api/v1/stores/big/events?cursor=\(cursor)&limit=10000"
      let body = try await offPool { try RawHTTP.request(port: port, "GET", target).body }
      XCTAssertLessThanOrEqual(body.utf8.count, PullPaging.maxPageBytes + 200)
      let items = try JSONParser.parse(body)["batch"]!.arrayValue!.map(PullItem.init(json:))
      cursor = items.last?.event.seqNum ?? cursor
      pages += 1
    }
    XCTAssertEqual(cursor, 101)
    await server.stop()
  }
}
