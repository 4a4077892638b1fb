import Foundation
import LStoreKit
import XCTest
@testable import LStoreSync

/// A shared storage's calls park their thread until the database answers (PostgreSQL's
/// `blocking`): many at once must all be under way at once, not wait for Dispatch's pool to
/// grow a thread a second, or during an outage each new connection queues behind the others.
final class SharedStorageThreadsTests: XCTestCase {
  /// A shared storage whose head reads park until released.
  final class ParkingStorage: SyncBackendStorage, @unchecked Sendable {
    let inner: SQLiteSyncStorage
    let parked = Locked(0)
    let expected: Int
    /// When the last expected call parked (taken on its own thread: a starved pool can
    /// delay the test's own tasks too, Swift's executor runs on Dispatch's pool on Linux).
    let allParkedAt = Locked<Date?>(nil)
    let release = DispatchSemaphore(value: 0)
    init(path: String, expected: Int) throws {
      inner = try SQLiteSyncStorage(path: path)
      self.expected = expected
    }

    var isShared: Bool { true }
    func head(storeId: String) throws -> Int64 {
      if parked.withLock({ $0 += 1; return $0 }) == expected { allParkedAt.withLock { $0 = Date() } }
      release.wait()
      return try inner.head(storeId: storeId)
    }
    func append(storeId: String, events: [WireEvent], createdAt: String, expectedHead: Int64) throws {
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

  func testManyParkedCallsAreAllUnderWayAtOnce() async throws {
    let directory = NSTemporaryDirectory() + "lstore-shared-threads-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let calls = 24
    let storage = try ParkingStorage(path: directory + "/backend.db", expected: calls)
    let backend = SyncBackend(storage: storage)
    let started = Date()
    let heads = Task {
      try await withThrowingTaskGroup(of: Int64.self) { group in
        for index in 0..<calls { group.addTask { try await backend.head(storeId: "s\(index)") } }
        return try await group.reduce(into: [Int64]()) { $0.append($1) }
      }
    }
    let deadline = Date().addingTimeInterval(5)
    while storage.parked.withLock({ $0 }) < calls && Date() < deadline {
      try await Task.sleep(nanoseconds: 10_000_000)
    }
    let parked = storage.parked.withLock { $0 }
    for _ in 0..<calls { storage.release.signal() }
    XCTAssertEqual(parked, calls)
    let took = try XCTUnwrap(storage.allParkedAt.withLock { $0 }).timeIntervalSince(started)
    XCTAssertLessThan(took, 5, "every call under way at once, not a thread a second")
    let answered = try await heads.value
    XCTAssertEqual(answered, Array(repeating: 0, count: calls))
  }
}
