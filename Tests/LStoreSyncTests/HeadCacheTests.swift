import Foundation
import LStoreKit
import XCTest
@testable import LStoreSync

/// Storage whose next head read can be held after it has read its value (a slow read), and
/// whose appends can be made to fail.
final class SlowHeadStorage: SyncBackendStorage, @unchecked Sendable {
  let inner: SQLiteSyncStorage
  private let lock = NSLock()
  private var holdNext = false
  private var failAppends = false
  private let release = DispatchSemaphore(value: 0)
  /// Signalled when a held read has its value and waits.
  let held = DispatchSemaphore(value: 0)
  struct Planted: Error {}

  init(path: String) throws { inner = try SQLiteSyncStorage(path: path) }

  func holdNextHeadRead() { lock.withLock { holdNext = true } }
  func releaseHeldRead() { release.signal() }
  func setFailAppends(_ fail: Bool) { lock.withLock { failAppends = fail } }

  func head(storeId: String) throws -> Int64 {
    let value = try inner.head(storeId: storeId)
    let hold = lock.withLock { () -> Bool in
      defer { holdNext = false }
      return holdNext
    }
    if hold {
      held.signal()
      release.wait()
    }
    return value
  }

  func append(storeId: String, events: [WireEvent], createdAt: String, expectedHead: Int64) throws {
    if lock.withLock({ failAppends }) { throw Planted() }
    try inner.append(storeId: storeId, events: events, createdAt: createdAt, expectedHead: expectedHead)
  }

  func events(storeId: String, after: Int64, through: Int64, limit: Int) throws -> [PullItem] {
    try inner.events(storeId: storeId, after: after, through: through, limit: limit)
  }
  func count(storeId: String, after: Int64, through: Int64) throws -> Int64 {
    try inner.count(storeId: storeId, after: after, through: through)
  }
  func reset(storeId: String) throws -> Int64 { try inner.reset(storeId: storeId) }
  func backendId(storeId: String) throws -> String { try inner.backendId(storeId: storeId) }
}

final class HeadCacheTests: XCTestCase {
  var directory: String!

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "lstore-head-cache-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

  func waitHeld(_ storage: SlowHeadStorage) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      DispatchQueue.global().async { storage.held.wait(); continuation.resume() }
    }
  }

  /// A head read that started before a commit and a failed commit must not refill the
  /// cache (cleared by the failure) with the head it read before the commit.
  func testAHeadReadFromBeforeAFailedCommitCannotRefillTheCacheWithAnOldHead() async throws {
    let storage = try SlowHeadStorage(path: directory + "/backend.db")
    let backend = SyncBackend(storage: storage)
    storage.holdNextHeadRead()
    let early = Task { try await backend.head(storeId: "todos") }
    await waitHeld(storage)  // it has read 0 and is slow to return
    let head = try await backend.push(storeId: "todos", batch: makeEvents(from: 1, count: 3), requestId: "a")
    XCTAssertEqual(head, 3)
    storage.setFailAppends(true)
    do {
      try await backend.push(storeId: "todos", batch: makeEvents(from: 4, count: 1), requestId: "b")
      XCTFail("the planted failure did not happen")
    } catch is SlowHeadStorage.Planted {}
    storage.setFailAppends(false)
    storage.releaseHeldRead()
    let earlyHead = try await early.value
    XCTAssertEqual(earlyHead, 3, "the early read is answered with the head after the commit, not the one it read")
    let cached = try await backend.head(storeId: "todos")
    XCTAssertEqual(cached, 3)
    // The next push continues the real head.
    let next = try await backend.push(storeId: "todos", batch: makeEvents(from: 4, count: 1), requestId: "c")
    XCTAssertEqual(next, 4)
  }

  func testAHeadReadFromBeforeAResetCannotBringTheOldHeadBack() async throws {
    let storage = try SlowHeadStorage(path: directory + "/backend.db")
    let backend = SyncBackend(storage: storage)
    try storage.inner.append(storeId: "todos", events: makeEvents(from: 1, count: 5), createdAt: "t", expectedHead: 0)
    storage.holdNextHeadRead()
    let early = Task { try await backend.head(storeId: "todos") }
    await waitHeld(storage)  // it has read 5
    let reset = Task { try await backend.reset(storeId: "todos") }
    try await reset.value
    storage.setFailAppends(true)
    _ = try? await backend.push(storeId: "todos", batch: makeEvents(from: 1, count: 1), requestId: "x")  // clears the cache
    storage.setFailAppends(false)
    storage.releaseHeldRead()
    _ = try await early.value
    let head = try await backend.head(storeId: "todos")
    XCTAssertEqual(head, 0)
  }
}
