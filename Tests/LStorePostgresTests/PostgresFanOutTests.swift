import Foundation
import LStoreKit
import LStoreSync
import Logging
import PostgresNIO
import XCTest
@testable import LStorePostgres

/// Two backends on one database, as two nodes: pushes on one reach the other's
/// subscribers through LISTEN/NOTIFY, and a node whose listening connection drops catches up.
final class PostgresFanOutTests: PostgresTestCase {
  final class Received: @unchecked Sendable {
    private let lock = NSLock()
    private var seqNums: [Int64] = []
    func add(_ broadcast: SyncBackend.Broadcast) {
      lock.lock()
      seqNums += broadcast.response.batch.map(\.event.seqNum)
      lock.unlock()
    }
    var value: [Int64] { lock.lock(); defer { lock.unlock() }; return seqNums }
    func wait(for count: Int, file: StaticString = #filePath, line: UInt = #line) async throws {
      let deadline = Date().addingTimeInterval(20)
      while value.count < count && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
      XCTAssertGreaterThanOrEqual(value.count, count, "received \(value)", file: file, line: line)
    }
  }

  func waitUntilListening(_ storage: PostgresSyncStorage) async throws {
    let deadline = Date().addingTimeInterval(20)
    while await !storage.health().listening {
      guard Date() < deadline else { return XCTFail("the listener never connected") }
      try await Task.sleep(for: .milliseconds(20))
    }
  }

  /// Two nodes on the test database: their storages and their backends, returned once the
  /// listening ones are listening. The caller shuts them down (`shutdown()`).
  struct TwoNodes {
    let url: PostgresURL
    let a: PostgresSyncStorage
    let b: PostgresSyncStorage
    let nodeA: SyncBackend
    let nodeB: SyncBackend

    func shutdown() {
      a.shutdown()
      b.shutdown()
    }
  }

  func twoNodes(bothListening: Bool = false) async throws -> TwoNodes {
    let url = try requirePostgres()
    let (a, b) = (try await PostgresSyncStorage.open(url, logger: logger), try await PostgresSyncStorage.open(url, logger: logger))
    let nodes = TwoNodes(url: url, a: a, b: b, nodeA: SyncBackend(storage: a), nodeB: SyncBackend(storage: b))
    do {
      if bothListening { try await waitUntilListening(a) }
      try await waitUntilListening(b)
    } catch {
      nodes.shutdown()
      throw error
    }
    return nodes
  }

  func testPushesOnOneNodeReachTheOthersSubscribersAndSurviveADroppedListener() async throws {
    let nodes = try await twoNodes()
    defer { nodes.shutdown() }
    let (url, b, nodeA, nodeB) = (nodes.url, nodes.b, nodes.nodeA, nodes.nodeB)
    let store = freshStoreId()
    let received = Received()
    _ = try await nodeB.subscribe(storeId: store) { received.add($0) }
    try await nodeA.push(storeId: store, batch: events(from: 1, count: 2), requestId: "a1")
    try await received.wait(for: 2)
    XCTAssertEqual(received.value, [1, 2])

    // Cut every listening connection, as a network failure would, and push at once: node B
    // gets the events whether the notification reaches it or its reconnect's catch-up does.
    let admin = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(), id: 99, logger: logger)
    let name = PostgresSyncStorage.listenerApplicationName
    var terminated = 0
    for try await ok in try await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = \(name)", logger: logger).decode(Bool.self) {
      if ok { terminated += 1 }
    }
    try await admin.close()
    XCTAssertGreaterThanOrEqual(terminated, 2, "both nodes' listeners")
    try await nodeA.push(storeId: store, batch: events(from: 3, count: 2), requestId: "a2")
    try await received.wait(for: 4)
    XCTAssertEqual(received.value, [1, 2, 3, 4])
    try await waitUntilListening(b)
    try await nodeA.push(storeId: store, batch: events(from: 5, count: 1), requestId: "a3")
    try await received.wait(for: 5)
    XCTAssertEqual(received.value, [1, 2, 3, 4, 5])
    let health = await b.health()
    XCTAssertTrue(health.reachable)
  }

  /// What a database restart looks like from a node: every connection, pooled and
  /// listening, is cut. The node reconnects on its own; pushes work again and fan-out
  /// resumes, with nothing missed.
  func testANodeWhoseConnectionsAreAllCutServesAgain() async throws {
    let nodes = try await twoNodes()
    defer { nodes.shutdown() }
    let (url, b, nodeA, nodeB) = (nodes.url, nodes.b, nodes.nodeA, nodes.nodeB)
    let store = freshStoreId()
    let received = Received()
    _ = try await nodeB.subscribe(storeId: store) { received.add($0) }
    try await nodeA.push(storeId: store, batch: events(from: 1, count: 1), requestId: "a1")
    try await received.wait(for: 1)

    let admin = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(), id: 98, logger: logger)
    try await admin.query("""
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE application_name IN ('lstore serve', \(PostgresSyncStorage.listenerApplicationName)) AND pid <> pg_backend_pid()
      """, logger: logger)
    try await admin.close()
    // A push may land on a connection the pool has not yet seen die: it fails, nothing is
    // acknowledged, and the client's retry (here: this loop) gets through.
    let deadline = Date().addingTimeInterval(20)
    var pushed = false
    while !pushed && Date() < deadline {
      do {
        try await nodeA.push(storeId: store, batch: events(from: 2, count: 1), requestId: "a2")
        pushed = true
      } catch is PushRejection {
        XCTFail("the failed attempt must not have stored the event")
        break
      } catch {
        try await Task.sleep(for: .milliseconds(50))
      }
    }
    XCTAssertTrue(pushed, "node A never served again")
    try await received.wait(for: 2)
    XCTAssertEqual(received.value, [1, 2])
    try await waitUntilListening(b)
    let health = await b.health()
    XCTAssertTrue(health.reachable && health.listening && health.error == nil, "\(health)")
  }

  /// Ten writers on two nodes, each retrying on top of the head it is refused with: the row
  /// lock gives one gap-free order, and both nodes' subscribers see all of it, in order.
  func testConcurrentPushesOnTwoNodesMakeOneOrder() async throws {
    let nodes = try await twoNodes(bothListening: true)
    defer { nodes.shutdown() }
    let (a, nodeA, nodeB) = (nodes.a, nodes.nodeA, nodes.nodeB)
    let store = freshStoreId()
    let (receivedA, receivedB) = (Received(), Received())
    _ = try await nodeA.subscribe(storeId: store) { receivedA.add($0) }
    _ = try await nodeB.subscribe(storeId: store) { receivedB.add($0) }
    let clients = 10, perClient = 10
    try await withThrowingTaskGroup(of: Void.self) { group in
      for client in 0..<clients {
        let node = client % 2 == 0 ? nodeA : nodeB
        group.addTask {
          for index in 0..<perClient {
            var head = try await node.head(storeId: store)
            while true {
              let event = WireEvent(name: "v1.X", args: ["i": .integer(Int64(index))], seqNum: head + 1, parentSeqNum: head,
                                    clientId: "c\(client)", sessionId: "s")
              do {
                try await node.push(storeId: store, batch: [event], requestId: "c\(client)-\(index)")
                break
              } catch let rejection as PushRejection {
                guard case .notAtHead(let real) = rejection.kind else { throw rejection }
                head = real
              }
            }
          }
        }
      }
      try await group.waitForAll()
    }
    let total = clients * perClient
    let stored = try await off { try a.events(storeId: store, after: 0, through: Int64(total) + 10, limit: total + 10) }
    XCTAssertEqual(stored.map(\.event.seqNum), Array(1...Int64(total)))
    XCTAssertEqual(Set(stored.map { "\($0.event.clientId)/\($0.event.args?.compactText ?? "")" }).count, total)
    try await receivedA.wait(for: total)
    try await receivedB.wait(for: total)
    XCTAssertEqual(receivedA.value, Array(1...Int64(total)))
    XCTAssertEqual(receivedB.value, Array(1...Int64(total)))
  }

  /// An admin reset through one node, over the database: the other node's subscriber gets
  /// the store's new events from the first (as the resetting node's own subscribers do),
  /// never the new ones as if they continued the old history; the row keeps counting resets.
  func testAResetOnOneNodeReachesTheOtherNodesSubscribers() async throws {
    let nodes = try await twoNodes()
    defer { nodes.shutdown() }
    let (a, b, nodeA, nodeB) = (nodes.a, nodes.b, nodes.nodeA, nodes.nodeB)
    let store = freshStoreId()
    let received = Locked<[String]>([])
    _ = try await nodeB.subscribe(storeId: store) { broadcast in
      received.withLock { $0 += broadcast.response.batch.map { "\($0.event.seqNum)/\($0.event.clientId)" } }
    }
    func wait(for count: Int) async throws {
      let deadline = Date().addingTimeInterval(20)
      while received.withLock({ $0.count }) < count && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
    }
    try await nodeA.push(storeId: store, batch: events(from: 1, count: 3, clientId: "old"), requestId: "a1")
    try await wait(for: 3)
    try await nodeA.reset(storeId: store)
    try await nodeA.push(storeId: store, batch: events(from: 1, count: 2, clientId: "new"), requestId: "a2")
    try await wait(for: 5)
    XCTAssertEqual(received.withLock { $0 }, ["1/old", "2/old", "3/old", "1/new", "2/new"])
    let position = try await off { try b.position(storeId: store) }
    XCTAssertEqual(position, StorePosition(head: 2, generation: 1))
    let again = try await off { try a.reset(storeId: store) }
    XCTAssertEqual(again, 2, "each reset counts")
  }
}
