import Foundation
import LStoreKit
import LStoreSync
import LStoreSyncWebSocket
import TestSupport
import XCTest
@testable import LStoreServer

/// A seeded, bounded protocol fuzzer against a real server on loopback. Bursts of random
/// and mutated frames (valid messages, malformed JSON, wrong shapes, deep nesting, invalid
/// UTF-8, lone surrogates, fragments, control frames, oversized lengths) and HTTP bodies; after each burst
/// the server must still answer, a pull must return exactly the acknowledged events, and
/// memory must stay bounded. Set LSTORE_FUZZ_SEED to replay another sequence.
final class ProtocolFuzzTests: XCTestCase {
  /// One fuzzing connection and everything it received, read on a Dispatch thread.
  final class FuzzConnection: @unchecked Sendable {
    let socket: RawFrameSocket
    let received = Locked<[String]>([])
    let closed = Locked(false)

    init(port: Int) throws {
      socket = try RawFrameSocket(port: port, target: "/websocket?storeId=fuzz")
      let socket = socket, received = received, closed = closed
      Thread.detachNewThread {
        while true {
          do {
            let frame = try socket.readFrame()
            if frame.opcode == 1 { received.withLock { $0.append(frame.text) } }
            if frame.opcode == 8 { break }
          } catch RawFrameSocket.Failure.timeout {
            continue
          } catch {
            break
          }
        }
        closed.withLock { $0 = true }
      }
    }

    func send(_ bytes: [UInt8]) -> Bool { (try? socket.write(bytes)) != nil }
    var isClosed: Bool { closed.withLock { $0 } }
    func texts() -> [String] { received.withLock { $0 } }
  }

  var rng = SplitMix64(state: 0)

  func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
  func chance(_ percent: Int) -> Bool { int(0...99) < percent }

  func randomString(_ maxLength: Int) -> String {
    let alphabet = Array("abcXYZ019 _-~.\"\\/\u{e9}\u{1F600}\n\t{}[]:,")
    return String((0..<int(0...maxLength)).map { _ in alphabet[int(0...alphabet.count - 1)] })
  }

  /// A string of UTF-16 code units that often holds lone surrogates (high, low, reversed
  /// pairs), which JavaScript apps can send and the server must keep exactly.
  func randomUTF16String(_ maxLength: Int) -> JSONValue {
    let alphabet: [UInt16] = [0x61, 0x22, 0x5C, 0x0A, 0xE9, 0xFFFD, 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xD83D, 0xDE00]
    return .string(utf16: (0..<int(0...maxLength)).map { _ in alphabet[int(0...alphabet.count - 1)] })
  }

  func randomJSON(depth: Int) -> JSONValue {
    switch int(0...(depth > 0 ? 7 : 4)) {
    case 0: return .null
    case 1: return .bool(chance(50))
    case 2: return .integer(Int64(int(-1_000_000...1_000_000)))
    case 3: return .number(Double(int(-1000...1000)) / 7)
    case 4: return chance(15) ? randomUTF16String(8) : .string(randomString(12))
    case 5: return .array((0..<int(0...4)).map { _ in randomJSON(depth: depth - 1) })
    default:
      // Keys are distinct as UTF-16, as JSON.parse sees them (two lone surrogates are two keys).
      var entries: [(key: String, value: JSONValue)] = []
      var loneSurrogateKeys: [[UInt16]?] = []
      var seen = Set<[UInt16]>()
      for _ in 0..<int(0...4) {
        let key = chance(15) ? randomUTF16String(4) : .string(randomString(6))
        let units: [UInt16]
        switch key {
        case .loneSurrogateString(let lone): units = lone
        default: units = Array((key.stringValue ?? "").utf16)
        }
        let value = randomJSON(depth: depth - 1)
        guard seen.insert(units).inserted else { continue }
        entries.append((key.repairedStringValue ?? "", value))
        if case .loneSurrogateString = key { loneSurrogateKeys.append(units) } else { loneSurrogateKeys.append(nil) }
      }
      return .object(JSONObject(entries, loneSurrogateKeys: loneSurrogateKeys))
    }
  }

  func event(seq: Int64, parent: Int64) -> WireEvent {
    WireEvent(name: "v1.Fuzz", args: chance(80) ? randomJSON(depth: 3) : nil, seqNum: seq, parentSeqNum: parent,
              clientId: "fuzz", sessionId: "s")
  }

  /// A frame's payload: a valid message, a broken one, or noise. `head` is the store's head:
  /// well-formed pushes are made not to continue it (they are refused), but any push the
  /// server acknowledges is accounted for anyway.
  func payload(head: Int64, index: Int) -> (opcode: UInt8, bytes: [UInt8], fin: Bool) {
    let id = "f\(index)-\(randomString(4))"
    var text: String
    switch int(0...13) {
    case 0: text = SyncMessage.pullRequest(requestId: id, cursor: chance(30) ? nil : Int64(int(-5...Int(head) + 5))).encoded()
    case 1: text = SyncMessage.ping(requestId: chance(10) ? String(repeating: "p", count: int(1000...100_000)) : id).encoded()
    case 2:
      let parent = chance(50) ? head + Int64(int(1...50)) : Int64(int(-3...Int(max(head - 1, 0))))
      let count = int(1...5)
      let batch = (0..<count).map { event(seq: parent + 1 + Int64($0), parent: parent + Int64($0)) }
      text = SyncMessage.pushRequest(requestId: id, batch: parent == head ? [] : batch).encoded()
    case 3:
      // Shapes the push contract refuses: empty, too long, gaps, forks.
      let batches: [[WireEvent]] = [[], (0..<101).map { event(seq: head + 1 + Int64($0), parent: head + Int64($0)) },
                                    [event(seq: head + 1, parent: head), event(seq: head + 3, parent: head + 2)],
                                    [event(seq: head + 5, parent: head)]]
      text = SyncMessage.pushRequest(requestId: id, batch: batches[int(0...batches.count - 1)]).encoded()
    case 4: text = randomJSON(depth: 6).compactText
    case 5:
      var object = JSONObject()
      object["_tag"] = .string(["WSMessage.PushReq", "WSMessage.PullReq", "WSMessage.Ping", "WSMessage.AdminInfoReq",
                                "WSMessage.PullRes", "WSMessage.Nope", ""][int(0...6)])
      object["requestId"] = chance(70) ? .string(id) : randomJSON(depth: 2)
      for _ in 0..<int(0...3) { object[["batch", "cursor", "adminSecret", randomString(5)][int(0...3)]] = randomJSON(depth: 3) }
      text = JSONValue.object(object).compactText
    case 6:
      let depth = int(200...3000)
      text = #"{"_tag":"WSMessage.PushReq","requestId":"\#(id)","batch":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
    case 7: text = #"{"_tag":"WSMessage.AdminResetRoomReq","requestId":"\#(id)","adminSecret":"wrong-\#(randomString(5))"}"#
    case 8:
      // Raw noise, most of it not UTF-8.
      return (chance(50) ? 1 : 2, (0..<int(0...300)).map { _ in UInt8(int(0...255)) }, true)
    case 9:
      // A control frame (ping) or a fragment with nothing after it.
      return chance(50) ? (9, Array(randomString(20).utf8.prefix(100)), true) : (1, Array(#"{"_tag":"#.utf8), false)
    case 10: text = SyncMessage.pingText
    default:
      // A byte-level mutation of a valid message.
      let base = [SyncMessage.pullRequest(requestId: id, cursor: 0).encoded(),
                  SyncMessage.pushRequest(requestId: id, batch: [event(seq: head + 7, parent: head + 6)]).encoded(),
                  SyncMessage.ping(requestId: id).encoded()][int(0...2)]
      var bytes = Array(base.utf8)
      for _ in 0..<int(1...4) where !bytes.isEmpty {
        let at = int(0...bytes.count - 1)
        switch int(0...3) {
        case 0: bytes[at] = UInt8(int(32...126))
        case 1: bytes.remove(at: at)
        case 2: bytes.insert(UInt8(int(32...126)), at: at)
        default: bytes = Array(bytes.prefix(at))
        }
      }
      return (1, bytes, true)
    }
    return (1, Array(text.utf8), true)
  }

  func testSeededFuzzingLeavesTheServerAnsweringExactAndSmall() async throws {
    let seed = UInt64(ProcessInfo.processInfo.environment["LSTORE_FUZZ_SEED"] ?? "") ?? 0x5EED_1234
    rng = SplitMix64(state: seed)
    let server = try await TestServer()
    defer { server.removeData() }
    let port = server.port
    let started = Date()
    let baseline = residentBytes()
    var acknowledged: [Int64: WireEvent] = [:]
    var head: Int64 = 0
    var sentPushes: [String: [WireEvent]] = [:]
    var messages = 0

    for burst in 0..<12 where Date().timeIntervalSince(started) < 40 {
      // The oracle pushes over HTTP: what is acknowledged is what a pull must return.
      for _ in 0..<int(1...3) {
        let batch = (0..<int(1...20)).map { event(seq: head + 1 + Int64($0), parent: head + Int64($0)) }
        let body = #"{"batch":["# + batch.map { $0.jsonValue.compactText }.joined(separator: ",") + "]}"
        let reply = try await offPool { try RawHTTP.request(port: port, "POST", "/api/v1/stores/fuzz/events", body: body) }
        XCTAssertEqual(reply.status, 200, reply.body)
        if reply.status == 200 {
          for event in batch { acknowledged[event.seqNum] = event }
          head = batch.last!.seqNum
        }
      }
      // Hostile HTTP bodies.
      for _ in 0..<10 {
        let body: String = chance(50) ? randomJSON(depth: 5).compactText : String(randomString(200))
        let target = ["/api/v1/stores/fuzz/events", "/api/v1/stores/fuzz/events?cursor=\(int(-2...5))&limit=\(int(-1...20_000))",
                      "/api/v1/stores/\(randomString(4).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "x")/head"][int(0...2)]
        let method = target.hasSuffix("events") ? "POST" : "GET"
        let reply = try await offPool { try RawHTTP.request(port: port, method, target, body: method == "POST" ? body : nil) }
        XCTAssertTrue([200, 400, 409, 413].contains(reply.status), "\(method) \(target): \(reply.status) \(reply.body)")
        XCTAssertFalse(reply.body.contains("SQL") || reply.body.contains("lstore_events"), reply.body)
      }
      // A burst of frames; a connection the server closes (1007, 1009, protocol errors) is replaced.
      var connections = [try await offPool { try FuzzConnection(port: port) }]
      for index in 0..<250 {
        let (opcode, bytes, fin) = payload(head: head, index: messages)
        messages += 1
        if opcode == 1, let text = String(validating: bytes, as: UTF8.self), case .pushRequest(let id, let batch)? = try? SyncMessage.decode(text) {
          sentPushes[id] = batch
        }
        let connection = connections.last!
        let frame = RawFrameSocket.encode(opcode: opcode, payload: bytes, fin: fin)
        let sent = try await offPool { connection.send(frame) }
        if !sent || connection.isClosed || (!fin && index % 2 == 0) {
          connections.append(try await offPool { try FuzzConnection(port: port) })
        }
      }
      // Barrier: a ping on a fresh connection answers only once the server is responsive;
      // then every push any connection sent has been answered (or the connection is gone).
      let barrier = try await offPool { try FuzzConnection(port: port) }
      connections.append(barrier)
      _ = try await offPool { barrier.send(RawFrameSocket.encode(opcode: 1, payload: Array(#"{"_tag":"WSMessage.Ping","requestId":"barrier-\#(burst)"}"#.utf8))) }
      try await waitFor("the barrier pong of burst \(burst)") { barrier.texts().contains { $0.contains("barrier-\(burst)") } }

      // Exactly the acknowledged events: the oracle's plus any fuzz push the server acked.
      try await waitFor("the pull to match the acknowledged events after burst \(burst)") {
        var expected = acknowledged
        for connection in connections {
          for text in connection.texts() {
            guard case .pushAck(let id)? = try? SyncMessage.decode(text), let batch = sentPushes[id] else { continue }
            for event in batch { expected[event.seqNum] = event }
          }
        }
        // Compared as JSON text: 8.0 and 8 are one JSON number (JSON.stringify writes 8).
        // A fuzz push can be stored while its ack is lost with its connection (closed for a
        // later bad frame): such events must be exactly ones a fuzz push sent.
        let pulled = try await self.pullAll(port: port)
        guard pulled.map(\.seqNum) == Array(1...Int64(max(pulled.count, 1))).prefix(pulled.count).map({ $0 }) else { return false }
        let sent = Set(sentPushes.values.flatMap { $0 }.map(\.jsonValue.compactText))
        for event in pulled {
          let text = event.jsonValue.compactText
          if let want = expected[event.seqNum] {
            guard want.jsonValue.compactText == text else { return false }
          } else if !sent.contains(text) {
            return false
          }
        }
        return expected.keys.allSatisfy { $0 <= Int64(pulled.count) }
      }
      let headReply = try await offPool { try RawHTTP.request(port: port, "GET", "/api/v1/stores/fuzz/head") }
      XCTAssertEqual(headReply.status, 200)
      head = (try? JSONParser.parse(headReply.body)["head"].flatMap { integerValue($0) }) ?? head
      for event in try await pullAll(port: port) { acknowledged[event.seqNum] = event }
      for connection in connections { Glibc.shutdown(connection.socket.fd, Int32(SHUT_RDWR)) }
      XCTAssertLessThan(residentBytes() - baseline, 300 << 20, "after burst \(burst)")
    }
    XCTAssertGreaterThan(messages, 1000, "too few messages within the time bound")
    // lstore's own client reads the same thing.
    let client = try await WebSocketSyncClient.connect(url: server.wsURL, storeId: "fuzz", payload: nil)
    let viaClient = try await withDeadline(20) {
      var events: [WireEvent] = []
      for try await page in client.pull(cursor: nil) { events += page.items.map(\.event) }
      return events
    }
    await client.close()
    XCTAssertEqual(viaClient.map(\.jsonValue.compactText), acknowledged.keys.sorted().map { acknowledged[$0]!.jsonValue.compactText },
                   "seed \(seed)")
    await server.stop()
  }

  /// Every event of the store over HTTP, page by page.
  func pullAll(port: Int) async throws -> [WireEvent] {
    try await offPool {
      var events: [WireEvent] = []
      var cursor: Int64 = 0
      for _ in 0..<10_000 {
        let reply = try RawHTTP.request(port: port, "GET", "/api/v1/stores/fuzz/events?cursor=\(cursor)&limit=1000")
        let json = try JSONParser.parse(reply.body)
        let items = try (json["batch"]?.arrayValue ?? []).map(PullItem.init(json:))
        events += items.map(\.event)
        cursor = items.last?.event.seqNum ?? cursor
        if json["remaining"] == 0 || items.isEmpty { break }
      }
      return events
    }
  }

  /// Polls `condition` until it holds, failing after `seconds`.
  func waitFor(_ what: String, seconds: Double = 15, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if try await condition() { return }
      try await Task.sleep(for: .milliseconds(20))
    }
    XCTFail("timed out waiting for \(what)")
    throw Timeout()
  }
}

private func integerValue(_ value: JSONValue) -> Int64? {
  if case .integer(let v) = value { return v }
  return nil
}
