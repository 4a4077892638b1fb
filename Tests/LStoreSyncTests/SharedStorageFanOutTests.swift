import Foundation
import LStoreKit
import XCTest
@testable import LStoreSync

/// A storage other "nodes" write behind the backend's back: one SQLite file shared by
/// several wrappers, each telling its backend of changes only when the test says so (a
/// lost notification is one the test never sends).
final class SharedTestStorage: SyncBackendStorage, @unchecked Sendable {
  let inner: SQLiteSyncStorage
  private let handler = Locked<(@Sendable (StorageChange) -> Void)?>(nil)

  init(_ inner: SQLiteSyncStorage) { self.inner = inner }

  var isShared: Bool { true }
  func observeChanges(_ handler: @escaping @Sendable (StorageChange) -> Void) { self.handler.withLock { $0 = handler } }
  func notify(_ change: StorageChange) { handler.withLock { $0 }?(change) }

  func head(storeId: String) throws -> Int64 { try inner.head(storeId: storeId) }
  func append(storeId: String, events: [WireEvent], createdAt: String, expectedHead: Int64) throws {
    try inner.append(storeId: storeId, events: events, createdAt: createdAt, expectedHead: expectedHead)
  }
  func events(storeId: String, after: Int64, through: Int64, limit: Int) throws -> [PullItem] {
    try inner.events(storeId: storeId, after: after, through: through, limit: limit)
  }
  func count(storeId: String, after: Int64, through: Int64) throws -> Int64 {
    try inner.count(storeId: storeId, after: after, through: through)
  }
  func reset(storeId: String) throws { try inner.reset(storeId: storeId) }
  func backendId(storeId: String) throws -> String { try inner.backendId(storeId: storeId) }
}

/// Two backends on one shared storage, as two `lstore serve` nodes on one database: the
/// subscribers of each see every event once, in order, whichever node committed it.
final class SharedStorageFanOutTests: XCTestCase {
  var directory: String!
  var storageA: SharedTestStorage!
  var storageB: SharedTestStorage!
  var nodeA: SyncBackend!
  var nodeB: SyncBackend!

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "lstore-shared-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let inner = try SQLiteSyncStorage(path: directory + "/backend.db")
    storageA = SharedTestStorage(inner)
    storageB = SharedTestStorage(inner)
    nodeA = SyncBackend(storage: storageA)
    nodeB = SyncBackend(storage: storageB)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

  /// Collects what a subscriber receives.
  final class Received: @unchecked Sendable {
    let seqNums = Locked<[Int64]>([])
    func add(_ broadcast: SyncBackend.Broadcast) {
      seqNums.withLock { $0 += broadcast.response.batch.map(\.event.seqNum) }
    }
    var value: [Int64] { seqNums.withLock { $0 } }

    func wait(for count: Int, file: StaticString = #filePath, line: UInt = #line) async throws {
      let deadline = Date().addingTimeInterval(10)
      while value.count < count && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
      XCTAssertGreaterThanOrEqual(value.count, count, "received \(value)", file: file, line: line)
    }
  }

  func testANodeThatMissedNotificationsCatchesUpWhenToldItMayHave() async throws {
    let received = Received()
    _ = try await nodeB.subscribe(storeId: "s") { received.add($0) }
    try await nodeA.push(storeId: "s", batch: makeEvents(from: 1, count: 3), requestId: "a1")
    try await nodeA.push(storeId: "s", batch: makeEvents(from: 4, count: 2), requestId: "a2")
    XCTAssertEqual(received.value, [], "no notification reached node B")
    // What a reconnected listener reports.
    storageB.notify(.unknown)
    try await received.wait(for: 5)
    XCTAssertEqual(received.value, [1, 2, 3, 4, 5])
    // Told again (late notifications, with and without the head): nothing is sent twice.
    storageB.notify(.store("s", head: 5))
    storageB.notify(.store("s", head: nil))
    try await nodeB.push(storeId: "s", batch: makeEvents(from: 6, count: 1), requestId: "b1")
    try await received.wait(for: 6)
    XCTAssertEqual(received.value, [1, 2, 3, 4, 5, 6])
  }

  /// A node's own push lands above events another node committed that it was not told of
  /// yet: its subscribers get those first, so they never see a gap.
  func testALocalCommitAboveUnseenEventsBroadcastsThemFirst() async throws {
    let received = Received()
    _ = try await nodeB.subscribe(storeId: "s") { received.add($0) }
    try await nodeA.push(storeId: "s", batch: makeEvents(from: 1, count: 2), requestId: "a1")
    // Node B's head is read from the storage, not a cache: a push on top of A's events is accepted.
    let head = try await nodeB.push(storeId: "s", batch: makeEvents(from: 3, count: 1, clientId: "c2"), requestId: "b1")
    XCTAssertEqual(head, 3)
    try await received.wait(for: 3)
    XCTAssertEqual(received.value, [1, 2, 3])
  }

  /// Pushes on both nodes at once, each retried on top of the head it is refused with:
  /// one gap-free order, nothing lost or doubled, and each node's subscriber sees it all.
  func testConcurrentPushesOnTwoNodesMakeOneOrder() async throws {
    let (receivedA, receivedB) = (Received(), Received())
    _ = try await nodeA.subscribe(storeId: "s") { receivedA.add($0) }
    _ = try await nodeB.subscribe(storeId: "s") { receivedB.add($0) }
    let (nodeA, nodeB, storageA, storageB) = (nodeA!, nodeB!, storageA!, storageB!)
    let perClient = 15
    try await withThrowingTaskGroup(of: Void.self) { group in
      for client in 0..<6 {
        let node = client % 2 == 0 ? nodeA : nodeB
        let other = client % 2 == 0 ? storageB : storageA
        group.addTask {
          for index in 0..<perClient {
            var head = try await node.head(storeId: "s")
            while true {
              let event = WireEvent(name: "v1.X", args: ["i": .integer(Int64(index))], seqNum: head + 1, parentSeqNum: head,
                                    clientId: "c\(client)", sessionId: "s")
              do {
                try await node.push(storeId: "s", batch: [event], requestId: "c\(client)-\(index)")
                other.notify(.store("s", head: nil))
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
    let total = 6 * perClient
    let stored = try storageA.events(storeId: "s", after: 0, through: Int64(total) + 10, limit: total + 10)
    XCTAssertEqual(stored.map(\.event.seqNum), Array(1...Int64(total)))
    let keys = Set(stored.map { "\($0.event.clientId)/\($0.event.args?["i"]?.compactText ?? "")" })
    XCTAssertEqual(keys.count, total, "every push stored once")
    try await receivedA.wait(for: total)
    try await receivedB.wait(for: total)
    XCTAssertEqual(receivedA.value, Array(1...Int64(total)))
    XCTAssertEqual(receivedB.value, Array(1...Int64(total)))
  }
}
