import Foundation
import LStoreKit
import LStoreSync
import LStoreSyncWebSocket
import XCTest
@testable import LStoreServer

/// The WebSocket client against a real server: paging, live updates, 20 concurrent
/// pushers, and a reconnect that re-pulls what was missed.
final class WebSocketClientTests: XCTestCase {
  var server: TestServer!

  override func setUp() async throws {
    server = try await TestServer()
  }

  override func tearDown() async throws {
    await server.stop()
    server.removeData()
  }

  func connect() async throws -> WebSocketSyncClient {
    try await WebSocketSyncClient.connect(url: server.wsURL, storeId: "todos", payload: nil)
  }

  func testALostConnectionSaysWhyTheServerClosedIt() {
    XCTAssertEqual(WebSocketSyncClient.closeExplanation(code: 1000, reason: "bye"), "", "a normal closure needs no words")
    XCTAssertEqual(WebSocketSyncClient.closeExplanation(code: 1001, reason: nil),
                   "; the server closed it: it is going away (stopping or restarting) (code 1001)")
    XCTAssertEqual(WebSocketSyncClient.closeExplanation(code: 1011, reason: "storage down"),
                   "; the server closed it: an internal error (its log has the details) (code 1011: storage down)")
    XCTAssertEqual(WebSocketSyncClient.closeExplanation(code: 4000, reason: ""), "; the server closed it: its own reason (code 4000)")
  }

  func testPullPagesUntilCaughtUp() async throws {
    let client = try await connect()
    for start in stride(from: Int64(1), through: 250, by: 50) {
      let result = try await client.push(makeBatch(from: start, count: 50))
      XCTAssertNotNil(result.createdAt)
    }
    let pages = try await withDeadline {
      var pages: [WebSocketPullPage] = []
      for try await page in client.pull(cursor: nil) { pages.append(page) }
      return pages
    }
    XCTAssertEqual(pages.map(\.items.count), [100, 100, 50])
    XCTAssertEqual(pages.map(\.remaining), [150, 50, 0])
    XCTAssertEqual(pages.flatMap(\.items).map(\.event.seqNum), Array(1...250))
    await client.close()
  }

  func testRejectedPushCarriesTheServersMessage() async throws {
    let client = try await connect()
    _ = try await client.push(makeBatch(from: 1, count: 2))
    let result = try await client.push(makeBatch(from: 2, count: 1))
    XCTAssertEqual(result, .rejected(message: "Invalid parent event number. Received e1 but expected e2"))
    await client.close()
  }

  func testLivePullDeliversOtherClientsPushes() async throws {
    let watcher = try await connect()
    let pusher = try await connect()
    _ = try await pusher.push(makeBatch(from: 1, count: 1))
    let stream = watcher.pull(cursor: nil, live: true)
    let received = Task {
      var seqNums: [Int64] = []
      var sawLive = false
      for try await page in stream {
        seqNums += page.items.map(\.event.seqNum)
        sawLive = sawLive || page.isLive
        if seqNums.count >= 3 { break }
      }
      return (seqNums, sawLive)
    }
    try await Task.sleep(for: .milliseconds(200))
    _ = try await pusher.push(makeBatch(from: 2, count: 2, clientId: "other"))
    let (seqNums, sawLive) = try await withDeadline { try await received.value }
    XCTAssertEqual(seqNums, [1, 2, 3])
    XCTAssertTrue(sawLive)
    await watcher.close()
    await pusher.close()
  }

  func testTwentyConcurrentPushersEndWithOneGapFreeOrder() async throws {
    let url = server.wsURL
    let perClient = 5
    let outcomes = try await withDeadline(60) {
      try await withThrowingTaskGroup(of: [Int64].self) { group in
        for index in 0..<20 {
          group.addTask {
            let client = try await WebSocketSyncClient.connect(url: url, storeId: "todos", payload: nil)
            var head: Int64 = 0
            var mine: [Int64] = []
            var attempts = 0
            while mine.count < perClient * 2 && attempts < 5000 {
              attempts += 1
              let batch = makeBatch(from: head + 1, count: 2, clientId: "client\(index)")
              switch try await client.push(batch) {
              case .acknowledged:
                mine += batch.map(\.seqNum)
                head += 2
              case .rejected(let message):
                // LiveStore's text names the backend head: "... but expected e<head>".
                head = Int64(message.split(separator: "e").last.map(String.init) ?? "") ?? head
              case .backendIdMismatch(let expected, let received):
                XCTFail("0.3 has no backend id: \(expected) \(received)")
              }
            }
            await client.close()
            return mine
          }
        }
        return try await group.reduce(into: [[Int64]]()) { $0.append($1) }
      }
    }
    XCTAssertTrue(outcomes.allSatisfy { $0.count == perClient * 2 }, "\(outcomes.map(\.count))")
    XCTAssertEqual(outcomes.flatMap { $0 }.sorted(), Array(1...200), "every acknowledged seqNum exactly once")

    let reader = try await connect()
    let events = try await withDeadline {
      var events: [WireEvent] = []
      for try await page in reader.pull(cursor: nil) { events += page.items.map(\.event) }
      return events
    }
    XCTAssertEqual(events.map(\.seqNum), Array(1...200))
    XCTAssertEqual(events.map(\.parentSeqNum), Array(0...199))
    XCTAssertEqual(Set(events.map { "\($0.clientId)/\($0.args!["id"]!.stringValue!)" }).count, 200)
    for index in 0..<20 {
      XCTAssertEqual(events.filter { $0.clientId == "client\(index)" }.count, perClient * 2)
    }
    await reader.close()
  }

  func testReconnectRePullsWhatWasPushedWhileAway() async throws {
    var options = WebSocketSyncClient.Options()
    options.initialBackoff = .milliseconds(600)
    let watcher = try await WebSocketSyncClient.connect(url: server.wsURL, storeId: "todos", payload: nil, options: options)
    let pusher = try await connect()
    _ = try await pusher.push(makeBatch(from: 1, count: 1))
    let stream = watcher.pull(cursor: nil, live: true)
    let received = Task {
      var seqNums: [Int64] = []
      var resumedAt: [Int64] = []
      for try await page in stream {
        // The first page after the reconnect begins with the last event delivered, again.
        if let resumed = page.resumedAt { resumedAt.append(resumed) }
        seqNums += page.items.map(\.event.seqNum).filter { $0 > (seqNums.last ?? 0) }
        if seqNums.count >= 4 { break }
      }
      return (seqNums, resumedAt)
    }
    try await Task.sleep(for: .milliseconds(200))
    await pusher.close()

    // Restart the server on the same port and data; push while the watcher is away.
    let port = server.port, directory = server.directory
    await server.stop()
    server = try await TestServer(directory: directory, port: port)
    let second = try await connect()
    let result = try await second.push(makeBatch(from: 2, count: 3, clientId: "while-away"))
    XCTAssertNotNil(result.createdAt)

    let (seqNums, resumedAt) = try await withDeadline(15) { try await received.value }
    XCTAssertEqual(seqNums, [1, 2, 3, 4], "the watcher re-pulled from e1 after reconnecting")
    XCTAssertEqual(resumedAt, [1], "from one event before e1, the last one it had, marked so it can be checked")
    await second.close()
    await watcher.close()
  }
}

/// The `SyncTransport` adapter the CLI's push/pull use.
final class WebSocketTransportTests: XCTestCase {
  func testPushPullAndRejectionThroughTheTransport() async throws {
    let server = try await TestServer()
    defer { server.removeData() }
    let transport = try await WebSocketTransport.connect(url: server.wsURL, storeId: "todos", payload: nil)
    let events = makeBatch(from: 1, count: 3).map {
      RemoteEvent(seqNum: $0.seqNum, parentSeqNum: $0.parentSeqNum, name: $0.name, args: $0.args,
                  clientId: $0.clientId, sessionId: $0.sessionId)
    }
    let accepted = try await transport.push(events)
    guard case .accepted(let metadata) = accepted else { return XCTFail("\(accepted)") }
    XCTAssertNotNil(metadata?["createdAt"]?.stringValue)
    let stale = try await transport.push(Array(events.prefix(1)))
    XCTAssertEqual(stale, .rejected(reason: "Invalid parent event number. Received e0 but expected e3", backendHead: 3))
    var pulled: [RemoteEvent] = []
    try await transport.pull(after: 1) { page in pulled += page.events }
    XCTAssertEqual(pulled.map(\.seqNum), [2, 3])
    XCTAssertEqual(pulled[0].metadata, metadata)
    await transport.close()
    do {
      _ = try await WebSocketTransport.connect(url: "ws://127.0.0.1:1", storeId: "todos", payload: nil)
      XCTFail("connected to a closed port")
    } catch let error as TransportError {
      XCTAssertEqual(error.kind, .unavailable)
    }
    await server.stop()
  }
}
