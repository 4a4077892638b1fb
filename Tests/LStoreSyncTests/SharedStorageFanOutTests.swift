import Foundation
import LStoreKit
import XCTest
@testable import LStoreSync

/// A storage other "nodes" write behind the backend's back: one SQLite file shared by
/// several wrappers, each telling its backend of changes only when the test says so (a
/// lost notification is one the test never sends).
final class SharedTestStorage: SyncBackendStorage, @unchecked Sendable {
  let inner: SQLiteSyncStorage
  /// Each store's generation, shared by the wrappers of one file (as a database's rows are).
  let resets: Locked<[String: Int64]>
  private let handler = Locked<(@Sendable (StorageChange) -> Void)?>(nil)

  init(_ inner: SQLiteSyncStorage, resets: Locked<[String: Int64]> = Locked([:])) {
    self.inner = inner
    self.resets = resets
  }

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
  func reset(storeId: String) throws -> Int64 {
    try resets.withLock { resets in
      try inner.reset(storeId: storeId)
      resets[storeId, default: 0] += 1
      return resets[storeId]!
    }
  }
  func position(storeId: String) throws -> StorePosition {
    try resets.withLock { StorePosition(head: try inner.head(storeId: storeId), generation: $0[storeId] ?? 0) }
  }
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
    let resets = Locked<[String: Int64]>([:])
    storageA = SharedTestStorage(inner, resets: resets)
    storageB = SharedTestStorage(inner, resets: resets)
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

  /// The events (seqNum/clientId) a subscriber received, to tell two histories apart.
  final class ReceivedEvents: @unchecked Sendable {
    let events = Locked<[String]>([])
    func add(_ broadcast: SyncBackend.Broadcast) {
      events.withLock { $0 += broadcast.response.batch.map { "\($0.event.seqNum)/\($0.event.clientId)" } }
    }
    var value: [String] { events.withLock { $0 } }
    func wait(for count: Int, file: StaticString = #filePath, line: UInt = #line) async throws {
      let deadline = Date().addingTimeInterval(10)
      while value.count < count && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
      XCTAssertGreaterThanOrEqual(value.count, count, "received \(value)", file: file, line: line)
    }
  }

  /// A reset made on node A reaches node B's subscribers, however B learns of it (a late
  /// notification with a head, or a push of its own): they get the new history from its
  /// first event, as A's subscribers do, never a mix of the old and the new.
  func testAResetOnOneNodeStartsTheOtherNodesSubscribersOver() async throws {
    let (receivedA, receivedB) = (ReceivedEvents(), ReceivedEvents())
    _ = try await nodeA.subscribe(storeId: "s") { receivedA.add($0) }
    _ = try await nodeB.subscribe(storeId: "s") { receivedB.add($0) }
    try await nodeA.push(storeId: "s", batch: makeEvents(from: 1, count: 3, clientId: "old"), requestId: "a1")
    storageB.notify(.store("s", head: 3))
    try await receivedB.wait(for: 3)
    try await nodeA.reset(storeId: "s")
    try await nodeA.push(storeId: "s", batch: makeEvents(from: 1, count: 2, clientId: "new"), requestId: "a2")
    // Node B missed the reset's notification; the next one it gets names a head below what
    // its subscribers hold.
    storageB.notify(.store("s", head: 2))
    try await receivedB.wait(for: 5)
    XCTAssertEqual(receivedB.value, ["1/old", "2/old", "3/old", "1/new", "2/new"])
    // Again, and this time node B hears nothing before its own client pushes on the new
    // history: the push finds the reset, and its subscribers get the new events first.
    try await nodeA.reset(storeId: "s")
    try await nodeA.push(storeId: "s", batch: makeEvents(from: 1, count: 2, clientId: "newer"), requestId: "a3")
    try await nodeB.push(storeId: "s", batch: makeEvents(from: 3, count: 1, clientId: "b"), requestId: "b1")
    try await receivedB.wait(for: 8)
    XCTAssertEqual(Array(receivedB.value.dropFirst(5)), ["1/newer", "2/newer", "3/b"])
    XCTAssertEqual(Array(receivedA.value.prefix(5)), ["1/old", "2/old", "3/old", "1/new", "2/new"], "node A's own subscribers, for comparison")
  }

  /// A node's own last commit belongs to the store's history before a reset made elsewhere:
  /// a subscriber that comes later starts at the new head, so it gets every new event.
  func testANewSubscriberAfterAResetElsewhereMissesNoNewEvent() async throws {
    try await nodeB.push(storeId: "s", batch: makeEvents(from: 1, count: 5, clientId: "old"), requestId: "b1")
    try await nodeA.reset(storeId: "s")
    try await nodeA.push(storeId: "s", batch: makeEvents(from: 1, count: 2, clientId: "new"), requestId: "a1")
    let received = ReceivedEvents()
    _ = try await nodeB.subscribe(storeId: "s") { received.add($0) }
    try await nodeA.push(storeId: "s", batch: makeEvents(from: 3, count: 4, clientId: "new"), requestId: "a2")
    storageB.notify(.store("s", head: 6))
    try await received.wait(for: 4)
    XCTAssertEqual(received.value, ["3/new", "4/new", "5/new", "6/new"])
  }
}
