import Foundation
import LStoreKit
import LStoreSQLite
import XCTest
@testable import LStoreSync

/// Storage that counts its appends and can hold them (to let pushes queue up behind a
/// commit in flight), delegating to a real `SQLiteSyncStorage`.
final class GatedStorage: SyncBackendStorage, @unchecked Sendable {
  let inner: SQLiteSyncStorage
  private let lock = NSLock()
  private var appendSizes: [Int] = []
  private var gate: DispatchSemaphore?
  /// Signalled when an append starts waiting at the gate.
  let entered = DispatchSemaphore(value: 0)

  init(path: String) throws { inner = try SQLiteSyncStorage(path: path) }

  var appends: [Int] { lock.withLock { appendSizes } }

  func close() { lock.withLock { gate = DispatchSemaphore(value: 0) } }
  func open() { lock.withLock { let g = gate; gate = nil; return g }?.signal() }

  /// Whether it stands for a storage other nodes share (PostgreSQL's calls to the backend).
  var shared = false
  var isShared: Bool { shared }

  /// Whether reading the backend id waits at the gate too (a database that does not answer).
  var holdsBackendId = false

  /// Waits while the gate is closed; once opened, every waiter passes.
  private func passGate() {
    guard let gate = lock.withLock({ gate }) else { return }
    entered.signal()
    gate.wait()
    gate.signal()
  }

  func append(storeId: String, events: [WireEvent], createdAt: String, expectedHead: Int64) throws {
    passGate()
    try inner.append(storeId: storeId, events: events, createdAt: createdAt, expectedHead: expectedHead)
    lock.withLock { appendSizes.append(events.count) }
  }

  /// Whether reading the head waits at the gate too, and whether the next read then fails
  /// (a database that did not answer in time).
  var holdsHead = false
  var failsNextHead = false
  struct TimedOut: Error {}

  func head(storeId: String) throws -> Int64 {
    if holdsHead {
      passGate()
      if lock.withLock({ defer { failsNextHead = false }; return failsNextHead }) { throw TimedOut() }
    }
    return try inner.head(storeId: storeId)
  }
  func events(storeId: String, after: Int64, through: Int64, limit: Int) throws -> [PullItem] {
    try inner.events(storeId: storeId, after: after, through: through, limit: limit)
  }
  func count(storeId: String, after: Int64, through: Int64) throws -> Int64 {
    try inner.count(storeId: storeId, after: after, through: through)
  }
  func reset(storeId: String) throws -> Int64 { try inner.reset(storeId: storeId) }
  /// Whether the next backend-id read that waited at the gate then fails; how many reads.
  var failsNextBackendId = false
  private(set) var backendIdReads = 0

  func backendId(storeId: String) throws -> String {
    lock.withLock { backendIdReads += 1 }
    if holdsBackendId {
      passGate()
      if lock.withLock({ defer { failsNextBackendId = false }; return failsNextBackendId }) { throw TimedOut() }
    }
    return try inner.backendId(storeId: storeId)
  }
}

final class GroupCommitTests: XCTestCase {
  var directory: String!
  var storage: GatedStorage!
  var backend: SyncBackend!

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "lstore-group-commit-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    storage = try GatedStorage(path: directory + "/backend.db")
    backend = SyncBackend(storage: storage, clock: { "2026-01-01T00:00:00.000Z" })
  }

  override func tearDownWithError() throws {
    storage?.open()
    backend = nil
    storage = nil
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// Records every completion in order: "ok:<head>" or "no:<message>".
  final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    private var waiters: [(Int, CheckedContinuation<Void, Never>)] = []

    func record(_ result: Result<Int64, Error>) {
      let ready: [CheckedContinuation<Void, Never>] = lock.withLock {
        switch result {
        case .success(let head): list.append("ok:\(head)")
        case .failure(let error as PushRejection): list.append("no:\(error.message)")
        case .failure(let error): list.append("error:\(error)")
        }
        let count = list.count
        let ready = waiters.filter { $0.0 <= count }.map(\.1)
        waiters.removeAll { $0.0 <= count }
        return ready
      }
      for waiter in ready { waiter.resume() }
    }

    var all: [String] { lock.withLock { list } }

    func wait(for count: Int) async {
      await withCheckedContinuation { continuation in
        let now: Bool = lock.withLock {
          if list.count >= count { return true }
          waiters.append((count, continuation))
          return false
        }
        if now { continuation.resume() }
      }
    }
  }

  /// Starts one push and holds the storage inside its commit, so later pushes queue up.
  func holdFirstCommit(_ outcomes: Outcomes) async {
    storage.close()
    await backend.submitPush(storeId: "todos", batch: makeEvents(from: 1, count: 10), requestId: "p0") { outcomes.record($0) }
    let storage = storage!
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      DispatchQueue.global().async { storage.entered.wait(); continuation.resume() }
    }
  }

  func testPushesQueuedDuringACommitAreCommittedTogetherAndAckedOnlyAfterIt() async throws {
    let outcomes = Outcomes()
    await holdFirstCommit(outcomes)
    for index in 1...20 {
      await backend.submitPush(storeId: "todos", batch: makeEvents(from: Int64(index * 10 + 1), count: 10),
                               requestId: "p\(index)") { outcomes.record($0) }
    }
    // Nothing is acknowledged while the first commit is not durable.
    try await Task.sleep(for: .milliseconds(50))
    XCTAssertEqual(outcomes.all, [])
    storage.open()
    await outcomes.wait(for: 21)
    XCTAssertEqual(outcomes.all, (0...20).map { "ok:\(($0 + 1) * 10)" }, "acked in order, each with its own head")
    XCTAssertEqual(storage.appends, [10, 200], "the 20 queued pushes were written in one transaction")
    let pushCommits = await backend.pushCommits
    XCTAssertEqual(pushCommits, 2)
    XCTAssertEqual(try storage.head(storeId: "todos"), 210)
    let stored = try storage.events(storeId: "todos", after: 0, through: 1000, limit: 1000).map(\.event)
    XCTAssertEqual(stored, makeEvents(from: 1, count: 210))
  }

  func testARejectionInAGroupKeepsTheAcceptedPushesBeforeItAndRefusesWhatBuildsOnIt() async throws {
    let outcomes = Outcomes()
    await holdFirstCommit(outcomes)
    let batches: [[WireEvent]] = [
      makeEvents(from: 11, count: 5),   // ok → e15
      makeEvents(from: 16, count: 5),   // ok → e20
      makeEvents(from: 30, count: 5),   // wrong parent e29
      makeEvents(from: 35, count: 5),   // builds on the refused one
      makeEvents(from: 21, count: 5, clientId: "other"),  // continues e20: accepted
    ]
    for (index, batch) in batches.enumerated() {
      await backend.submitPush(storeId: "todos", batch: batch, requestId: "q\(index)") { outcomes.record($0) }
    }
    storage.open()
    await outcomes.wait(for: 6)
    XCTAssertEqual(outcomes.all, [
      "ok:10", "ok:15", "ok:20",
      "no:Invalid parent event number. Received e29 but expected e20",
      "no:Invalid parent event number. Received e34 but expected e20",
      "ok:25",
    ])
    XCTAssertEqual(storage.appends, [10, 15])
    let stored = try storage.events(storeId: "todos", after: 0, through: 1000, limit: 1000).map(\.event)
    XCTAssertEqual(stored, makeEvents(from: 1, count: 20) + makeEvents(from: 21, count: 5, clientId: "other"))
  }

  func testTheRestOfARefusedPipelineIsRefusedEvenWhenItContinuesTheHead() async throws {
    let outcomes = Outcomes()
    await holdFirstCommit(outcomes)  // e1…e10 by p0
    // Pipeline x thought the head was e5: its first push is refused; its second continues
    // e10 by coincidence but builds on the refused events.
    await backend.submitPush(storeId: "todos", batch: makeEvents(from: 6, count: 5, clientId: "x"), requestId: "x~0") { outcomes.record($0) }
    await backend.submitPush(storeId: "todos", batch: makeEvents(from: 11, count: 5, clientId: "x"), requestId: "x~1") { outcomes.record($0) }
    // A push outside the pipeline that continues the head is accepted.
    await backend.submitPush(storeId: "todos", batch: makeEvents(from: 11, count: 5, clientId: "y"), requestId: "plainNanoId") { outcomes.record($0) }
    storage.open()
    await outcomes.wait(for: 4)
    XCTAssertEqual(outcomes.all, [
      "ok:10",
      "no:Invalid parent event number. Received e5 but expected e10",
      "no:Invalid push: an earlier push of the same pipeline was refused (pull, then push again)",
      "ok:15",
    ])
    XCTAssertEqual(SyncBackend.pipelineId(of: "abc~12"), "abc")
    XCTAssertNil(SyncBackend.pipelineId(of: "V1StGXR8_Z5jdHi6B-myT"))
  }

  func testAFailedGroupCommitAcknowledgesNothingAndTheNextPushesWork() async throws {
    let outcomes = Outcomes()
    await holdFirstCommit(outcomes)
    for index in 1...3 {
      await backend.submitPush(storeId: "todos", batch: makeEvents(from: Int64(index * 10 + 1), count: 10),
                               requestId: "p\(index)") { outcomes.record($0) }
    }
    // Make the group's insert fail half way: e25 already exists.
    let other = try Connection(path: directory + "/backend.db")
    try other.execute("CREATE TABLE IF NOT EXISTS \(try SQLiteSyncStorage.tableName("todos")) (seqNum INTEGER PRIMARY KEY NOT NULL, parentSeqNum INTEGER NOT NULL, name TEXT NOT NULL, args TEXT, createdAt TEXT NOT NULL, clientId TEXT NOT NULL, sessionId TEXT NOT NULL) STRICT")
    try other.execute("INSERT INTO \(try SQLiteSyncStorage.tableName("todos")) VALUES (25, 24, 'x', NULL, 't', 'c', 's')")
    storage.open()
    await outcomes.wait(for: 4)
    let all = outcomes.all
    XCTAssertEqual(all.first, "ok:10")
    XCTAssertTrue(all.dropFirst().allSatisfy { $0.hasPrefix("error:") }, "\(all)")
    XCTAssertEqual(try storage.head(storeId: "todos"), 10)
    XCTAssertEqual(try storage.count(storeId: "todos", after: 10, through: 100), 1, "only the planted row")
    try other.execute("DELETE FROM \(try SQLiteSyncStorage.tableName("todos")) WHERE seqNum = 25")
    let head = try await backend.push(storeId: "todos", batch: makeEvents(from: 11, count: 30), requestId: "again")
    XCTAssertEqual(head, 40)
  }

  func testPushesQueuedBehindAGroupWhoseStorageFailedAreAnsweredAtOnce() async throws {
    let outcomes = Outcomes()
    // The first group's head read waits at the gate, then fails (a database that did not
    // answer in time); meanwhile two pushes queue up behind it.
    storage.holdsHead = true
    storage.failsNextHead = true
    await holdFirstCommit(outcomes)
    await backend.submitPush(storeId: "todos", batch: makeEvents(from: 1, count: 5, clientId: "b"), requestId: "b0") { outcomes.record($0) }
    await backend.submitPush(storeId: "todos", batch: makeEvents(from: 1, count: 5, clientId: "c"), requestId: "c0") { outcomes.record($0) }
    storage.open()
    await outcomes.wait(for: 3)
    // Answered with the same failure, not each after a storage call of its own (which,
    // the storage answering again, would have stored b0).
    XCTAssertEqual(outcomes.all.count, 3)
    XCTAssertTrue(outcomes.all.allSatisfy { $0.hasPrefix("error:") }, "\(outcomes.all)")
    XCTAssertEqual(try storage.head(storeId: "todos"), 0, "nothing stored")
    let head = try await backend.push(storeId: "todos", batch: makeEvents(from: 1, count: 5, clientId: "b"), requestId: "b1")
    XCTAssertEqual(head, 5, "the next push works")
  }

  func testAPipelineWhosePushFailedForAnyReasonIsRefusedAfterwards() async throws {
    let outcomes = Outcomes()
    await holdFirstCommit(outcomes)  // e1…e10
    await backend.submitPush(storeId: "todos", batch: makeEvents(from: 11, count: 10, clientId: "z"), requestId: "z~0") { outcomes.record($0) }
    // The storage fails the group (e15 already exists): not a parent refusal, an error.
    let other = try Connection(path: directory + "/backend.db")
    try other.execute("CREATE TABLE IF NOT EXISTS \(try SQLiteSyncStorage.tableName("todos")) (seqNum INTEGER PRIMARY KEY NOT NULL, parentSeqNum INTEGER NOT NULL, name TEXT NOT NULL, args TEXT, createdAt TEXT NOT NULL, clientId TEXT NOT NULL, sessionId TEXT NOT NULL) STRICT")
    try other.execute("INSERT INTO \(try SQLiteSyncStorage.tableName("todos")) VALUES (15, 14, 'x', NULL, 't', 'c', 's')")
    storage.open()
    await outcomes.wait(for: 2)
    XCTAssertTrue(outcomes.all.last?.hasPrefix("error:") ?? false, "\(outcomes.all)")
    try other.execute("DELETE FROM \(try SQLiteSyncStorage.tableName("todos")) WHERE seqNum = 15")
    // Someone else's push ends exactly where z~0 would have.
    let head = try await backend.push(storeId: "todos", batch: makeEvents(from: 11, count: 10, clientId: "y"), requestId: "plain")
    XCTAssertEqual(head, 20)
    // z~1 was built on z~0's events: it continues the head by number only, and is refused.
    await backend.submitPush(storeId: "todos", batch: makeEvents(from: 21, count: 5, clientId: "z"), requestId: "z~1") { outcomes.record($0) }
    await outcomes.wait(for: 3)
    XCTAssertEqual(outcomes.all.last, "no:Invalid push: an earlier push of the same pipeline was refused (pull, then push again)")
    XCTAssertEqual(try storage.head(storeId: "todos"), 20)
  }

  func testResetWaitsForThePushesQueuedBeforeIt() async throws {
    let outcomes = Outcomes()
    await holdFirstCommit(outcomes)
    await backend.submitPush(storeId: "todos", batch: makeEvents(from: 11, count: 10), requestId: "p1") { outcomes.record($0) }
    let backend = backend!
    let reset = Task { try await backend.reset(storeId: "todos") }
    storage.open()
    try await reset.value
    XCTAssertEqual(outcomes.all, ["ok:10", "ok:20"])
    XCTAssertEqual(try storage.head(storeId: "todos"), 0)
  }
}
