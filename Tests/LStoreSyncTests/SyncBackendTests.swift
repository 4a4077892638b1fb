import Foundation
import LStoreKit
import LStoreSQLite
import XCTest
@testable import LStoreSync

func makeEvents(from first: Int64, count: Int, clientId: String = "c1") -> [WireEvent] {
  (0..<Int64(count)).map { offset in
    WireEvent(name: "v1.TodoCreated", args: ["id": .string("t\(first + offset)")], seqNum: first + offset,
              parentSeqNum: first + offset - 1, clientId: clientId, sessionId: "s1")
  }
}

final class SyncBackendTests: XCTestCase {
  var directory: String!
  var storage: SQLiteSyncStorage!
  var backend: SyncBackend!

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "lstore-sync-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    storage = try SQLiteSyncStorage(path: directory + "/backend.db")
    backend = SyncBackend(storage: storage, clock: { "2026-01-01T00:00:00.000Z" })
  }

  override func tearDownWithError() throws {
    backend = nil
    storage = nil
    try? FileManager.default.removeItem(atPath: directory)
  }

  func rejection(_ batch: [WireEvent], store: String = "todos") async -> PushRejection? {
    do {
      try await backend.push(storeId: store, batch: batch, requestId: "r")
      return nil
    } catch let rejection as PushRejection {
      return rejection
    } catch {
      XCTFail("unexpected \(error)")
      return nil
    }
  }

  func testAcceptsContiguousBatchesAndAdvancesTheHead() async throws {
    let head1 = try await backend.push(storeId: "todos", batch: makeEvents(from: 1, count: 3), requestId: "a")
    XCTAssertEqual(head1, 3)
    let head2 = try await backend.push(storeId: "todos", batch: makeEvents(from: 4, count: 1), requestId: "b")
    XCTAssertEqual(head2, 4)
    let stored = try await backend.head(storeId: "todos")
    XCTAssertEqual(stored, 4)
    XCTAssertEqual(try storage.head(storeId: "todos"), 4)
  }

  func testWrongParentGetsLiveStoresText() async throws {
    try await backend.push(storeId: "todos", batch: makeEvents(from: 1, count: 43), requestId: "a")
    let stale = makeEvents(from: 42, count: 1)
    let rejection = await rejection(stale)
    XCTAssertEqual(rejection?.message, "Invalid parent event number. Received e41 but expected e43")
    XCTAssertEqual(rejection?.kind, .notAtHead(head: 43))
    let ahead = await self.rejection(makeEvents(from: 50, count: 1))
    XCTAssertEqual(ahead?.message, "Invalid parent event number. Received e49 but expected e43")
  }

  func testGapInsideABatchIsRejectedAndNothingIsStored() async throws {
    var batch = makeEvents(from: 1, count: 3)
    batch[2] = WireEvent(name: "x", args: nil, seqNum: 4, parentSeqNum: 3, clientId: "c", sessionId: "s")
    let rejection = await rejection(batch)
    XCTAssertEqual(rejection?.kind, .malformed)
    XCTAssertEqual(rejection?.message, "Invalid push batch: event 2 has parent e3 but the previous event is e2")
    let head = try await backend.head(storeId: "todos")
    XCTAssertEqual(head, 0)
    XCTAssertEqual(try storage.count(storeId: "todos", after: 0, through: 100), 0)
  }

  func testNonContiguousSeqNumIsRejected() async throws {
    let batch = [WireEvent(name: "x", args: nil, seqNum: 3, parentSeqNum: 0, clientId: "c", sessionId: "s")]
    let rejection = await rejection(batch)
    XCTAssertEqual(rejection?.message, "Invalid push batch: event 0 is e3 but its parent e0 requires e1")
  }

  func testAnEventWithoutANameIsRejected() async throws {
    let batch = makeEvents(from: 1, count: 2).enumerated().map { index, event in
      var event = event
      if index == 1 { event.name = "" }
      return event
    }
    let rejection = await rejection(batch)
    XCTAssertEqual(rejection?.message, "Invalid push batch: event 1 has an empty name")
    XCTAssertEqual(try storage.count(storeId: "todos", after: 0, through: 100), 0, "nothing of the batch is stored")
  }

  func testBatchSizeMustBeOneToHundred() async throws {
    let empty = await rejection([])
    XCTAssertEqual(empty?.message, "Invalid push batch: expected 1 to 100 events, got 0")
    let tooMany = await rejection(makeEvents(from: 1, count: 101))
    XCTAssertEqual(tooMany?.message, "Invalid push batch: expected 1 to 100 events, got 101")
    let hundred = await rejection(makeEvents(from: 1, count: 100))
    XCTAssertNil(hundred)
  }

  func testInvalidStoreIdsNeverReachSQL() async throws {
    for storeId in ["", "a b", "x\"; DROP TABLE lstore_sync_heads; --", "../etc", String(repeating: "a", count: 65)] {
      do {
        try await backend.push(storeId: storeId, batch: makeEvents(from: 1, count: 1), requestId: "r")
        XCTFail("accepted \(storeId)")
      } catch {
        XCTAssertTrue(error is InvalidStoreID, "\(error)")
      }
      XCTAssertThrowsError(try storage.head(storeId: storeId))
    }
    // A store id with quotes-looking but valid characters is stored in its own quoted table.
    try await backend.push(storeId: "a.b-c_d", batch: makeEvents(from: 1, count: 1), requestId: "r")
    XCTAssertEqual(try storage.head(storeId: "a.b-c_d"), 1)
  }

  func testStoresAreIndependent() async throws {
    try await backend.push(storeId: "a-b", batch: makeEvents(from: 1, count: 2), requestId: "r")
    try await backend.push(storeId: "a_b", batch: makeEvents(from: 1, count: 5), requestId: "r")
    let ab = try await backend.head(storeId: "a-b")
    let a_b = try await backend.head(storeId: "a_b")
    XCTAssertEqual([ab, a_b], [2, 5])
  }

  func testPagingMathMatchesLiveStore() {
    XCTAssertEqual(PullPaging.pageCount(total: 0), 1)
    XCTAssertEqual(PullPaging.pageCount(total: 100), 1)
    XCTAssertEqual(PullPaging.pageCount(total: 101), 2)
    XCTAssertEqual(PullPaging.remaining(total: 250, pageIndex: 0), 150)
    XCTAssertEqual(PullPaging.remaining(total: 250, pageIndex: 1), 50)
    XCTAssertEqual(PullPaging.remaining(total: 250, pageIndex: 2), 0)
  }

  func collectPages(cursor: Int64?) async throws -> [BackendPullPage] {
    let snapshot = try await backend.pullSnapshot(storeId: "todos", cursor: cursor)
    var pages: [BackendPullPage] = []
    for try await page in backend.pages(of: snapshot) { pages.append(page) }
    return pages
  }

  func testPullPagesBy100WithRemaining() async throws {
    for start in stride(from: Int64(1), through: 250, by: 50) {
      try await backend.push(storeId: "todos", batch: makeEvents(from: start, count: 50), requestId: "r")
    }
    let pages = try await collectPages(cursor: nil)
    XCTAssertEqual(pages.map(\.items.count), [100, 100, 50])
    XCTAssertEqual(pages.map(\.remaining), [150, 50, 0])
    XCTAssertEqual(pages.flatMap(\.items).map(\.event.seqNum), Array(1...250))
    XCTAssertEqual(pages[0].items[0].createdAt, "2026-01-01T00:00:00.000Z")

    let fromCursor = try await collectPages(cursor: 200)
    XCTAssertEqual(fromCursor.map(\.items.count), [50])
    XCTAssertEqual(fromCursor.map(\.remaining), [0])
    XCTAssertEqual(fromCursor[0].items.first?.event.seqNum, 201)
  }

  func testEmptyPullIsOneEmptyPage() async throws {
    let pages = try await collectPages(cursor: nil)
    XCTAssertEqual(pages, [BackendPullPage(items: [], remaining: 0)])
    try await backend.push(storeId: "todos", batch: makeEvents(from: 1, count: 3), requestId: "r")
    let caughtUp = try await collectPages(cursor: 3)
    XCTAssertEqual(caughtUp, [BackendPullPage(items: [], remaining: 0)])
    let beyond = try await collectPages(cursor: 99)
    XCTAssertEqual(beyond, [BackendPullPage(items: [], remaining: 0)])
  }

  func testArgsRoundTripThroughStorage() async throws {
    let events = [
      WireEvent(name: "a", args: nil, seqNum: 1, parentSeqNum: 0, clientId: "c", sessionId: "s"),
      WireEvent(name: "b", args: .null, seqNum: 2, parentSeqNum: 1, clientId: "c", sessionId: "s"),
      WireEvent(name: "c", args: ["z": 1, "a": [1.5, "x\n"], "d": "2025-06-06T10:01:00.000Z"], seqNum: 3, parentSeqNum: 2,
                clientId: "c", sessionId: "s"),
    ]
    try await backend.push(storeId: "todos", batch: events, requestId: "r")
    let pulled = try await collectPages(cursor: nil)[0].items.map(\.event)
    XCTAssertEqual(pulled, events)
    XCTAssertEqual(pulled[2].jsonValue.compactText, events[2].jsonValue.compactText)
  }

  func testHeadAndEventsAreCommittedInOneDurableTransaction() async throws {
    try await backend.push(storeId: "todos", batch: makeEvents(from: 1, count: 2), requestId: "r")
    // Another writer moves the head behind the backend's back: the append must refuse,
    // leaving events and head exactly as they were.
    let other = try Connection(path: directory + "/backend.db")
    try other.execute("UPDATE lstore_sync_heads SET head = 7 WHERE storeId = 'todos'")
    XCTAssertThrowsError(try storage.append(storeId: "todos", events: makeEvents(from: 3, count: 1),
                                            createdAt: "t", expectedHead: 2)) { error in
      XCTAssertEqual((error as? StorageHeadMismatch)?.storedHead, 7)
    }
    XCTAssertEqual(try storage.count(storeId: "todos", after: 0, through: 100), 2)
    try other.execute("UPDATE lstore_sync_heads SET head = 2 WHERE storeId = 'todos'")

    // An insert that fails half way (duplicate seqNum) rolls back the head too.
    try other.execute("INSERT INTO \(try SQLiteSyncStorage.tableName("todos")) VALUES (4, 3, 'x', NULL, 't', 'c', 's')")
    XCTAssertThrowsError(try storage.append(storeId: "todos", events: makeEvents(from: 3, count: 2),
                                            createdAt: "t", expectedHead: 2))
    XCTAssertEqual(try storage.head(storeId: "todos"), 2)
    XCTAssertEqual(try storage.count(storeId: "todos", after: 2, through: 3), 0)

    // Durability settings: WAL and synchronous=FULL on the writer.
    XCTAssertEqual(try other.scalar("PRAGMA journal_mode"), .text("wal"))

    // A fresh storage on the same file sees what was acknowledged.
    let reopened = try SQLiteSyncStorage(path: directory + "/backend.db")
    XCTAssertEqual(try reopened.head(storeId: "todos"), 2)
    XCTAssertEqual(try reopened.events(storeId: "todos", after: 0, through: 2, limit: 10).map(\.event), makeEvents(from: 1, count: 2))
  }

  func testBackendRecoversWhenStorageHeadMoved() async throws {
    try await backend.push(storeId: "todos", batch: makeEvents(from: 1, count: 2), requestId: "r")
    let other = try Connection(path: directory + "/backend.db")
    try other.execute("UPDATE lstore_sync_heads SET head = 5 WHERE storeId = 'todos'")
    let rejection = await rejection(makeEvents(from: 3, count: 1))
    XCTAssertEqual(rejection?.message, "Invalid parent event number. Received e2 but expected e5")
  }

  func testResetDeletesEventsAndHead() async throws {
    try await backend.push(storeId: "todos", batch: makeEvents(from: 1, count: 5), requestId: "r")
    try await backend.reset(storeId: "todos")
    let head = try await backend.head(storeId: "todos")
    XCTAssertEqual(head, 0)
    XCTAssertEqual(try storage.head(storeId: "todos"), 0)
    XCTAssertEqual(try storage.count(storeId: "todos", after: 0, through: 100), 0)
    // Pushing from e0 again works (LiveStore 0.3's reset would hit the primary key here).
    let newHead = try await backend.push(storeId: "todos", batch: makeEvents(from: 1, count: 1), requestId: "r")
    XCTAssertEqual(newHead, 1)
  }

  /// Subscribers learn that a broadcast begins a new history: the first one after a reset.
  func testTheFirstBroadcastAfterAResetSaysItRestartsTheHistory() async throws {
    let seen = Locked<[String]>([])
    _ = try await backend.subscribe(storeId: "todos") { b in seen.withLock { $0.append("\(b.lastSeqNum):\(b.restartsHistory)") } }
    try await backend.push(storeId: "todos", batch: makeEvents(from: 1, count: 2), requestId: "a")
    try await backend.reset(storeId: "todos")
    try await backend.push(storeId: "todos", batch: makeEvents(from: 1, count: 1), requestId: "b")
    try await backend.push(storeId: "todos", batch: makeEvents(from: 2, count: 1), requestId: "c")
    XCTAssertEqual(seen.withLock { $0 }, ["2:false", "1:true", "2:false"])
  }

  func testBroadcastReachesEverySubscriberAfterOnAccepted() async throws {
    let log = Locked<[String]>([])
    let first = try await backend.subscribe(storeId: "todos") { b in log.withLock { $0.append("one:\(b.lastSeqNum)") } }
    _ = try await backend.subscribe(storeId: "todos") { b in log.withLock { $0.append("two:\(b.lastSeqNum)") } }
    _ = try await backend.subscribe(storeId: "other") { _ in log.withLock { $0.append("other") } }
    try await backend.push(storeId: "todos", batch: makeEvents(from: 1, count: 2), requestId: "req") { head in
      log.withLock { $0.append("ack:\(head)") }
    }
    let entries = log.withLock { $0 }
    XCTAssertEqual(entries.first, "ack:2")
    XCTAssertEqual(Set(entries.dropFirst()), ["one:2", "two:2"])
    await backend.unsubscribe(first)
    let count = await backend.subscriberCount(storeId: "todos")
    XCTAssertEqual(count, 1)
  }

  func testConcurrentPushersEndWithOneGapFreeOrder() async throws {
    let backend = backend!
    let results = await withTaskGroup(of: Int.self) { group in
      for client in 0..<20 {
        group.addTask {
          var accepted = 0
          var attempts = 0
          while accepted < 5 && attempts < 2000 {
            attempts += 1
            let head = (try? await backend.head(storeId: "todos")) ?? 0
            let batch = makeEvents(from: head + 1, count: 2, clientId: "client\(client)")
            if (try? await backend.push(storeId: "todos", batch: batch, requestId: "r")) != nil { accepted += 1 }
          }
          return accepted
        }
      }
      return await group.reduce(into: [Int]()) { $0.append($1) }
    }
    XCTAssertEqual(results, Array(repeating: 5, count: 20))
    let events = try storage.events(storeId: "todos", after: 0, through: 1000, limit: 1000).map(\.event)
    XCTAssertEqual(events.map(\.seqNum), Array(1...200))
    for (index, event) in events.enumerated() { XCTAssertEqual(event.parentSeqNum, Int64(index)) }
  }
}
