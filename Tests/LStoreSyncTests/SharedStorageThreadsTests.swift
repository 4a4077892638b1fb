import Foundation
import LStoreKit
import XCTest
@testable import LStoreSync

/// A shared storage's calls park their thread until the database answers (PostgreSQL's
/// `blocking`): many at once must all be under way at once, not wait for Dispatch's pool to
/// grow a thread a second, or during an outage each new connection queues behind the others.
final class SharedStorageThreadsTests: XCTestCase {
  func testManyParkedCallsAreAllUnderWayAtOnce() async throws {
    let directory = NSTemporaryDirectory() + "lstore-shared-threads-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let storage = try GatedStorage(path: directory + "/backend.db")
    storage.shared = true
    storage.holdsHead = true
    storage.close()
    defer { storage.open() }
    let backend = SyncBackend(storage: storage)
    let calls = 24
    let started = Date()
    // Counted on a thread of its own: a starved Dispatch pool delays Swift's tasks too (on
    // Linux they run on it), so the test's own tasks could not tell the time.
    let allEntered = Locked<Date?>(nil)
    let counted = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      let deadline = Date().addingTimeInterval(30)
      var entered = 0
      while entered < calls, storage.entered.wait(timeout: .now() + deadline.timeIntervalSinceNow) == .success { entered += 1 }
      if entered == calls { allEntered.withLock { $0 = Date() } }
      counted.signal()
    }
    let heads = Task {
      try await withThrowingTaskGroup(of: Int64.self) { group in
        for index in 0..<calls { group.addTask { try await backend.head(storeId: "s\(index)") } }
        return try await group.reduce(into: [Int64]()) { $0.append($1) }
      }
    }
    await withCheckedContinuation { continuation in
      Thread.detachNewThread { counted.wait(); continuation.resume() }
    }
    storage.open()
    let took = try XCTUnwrap(allEntered.withLock { $0 }, "every call reached the storage").timeIntervalSince(started)
    XCTAssertLessThan(took, 5, "every call under way at once, not a thread a second")
    let answered = try await heads.value
    XCTAssertEqual(answered, Array(repeating: 0, count: calls))
  }
}
