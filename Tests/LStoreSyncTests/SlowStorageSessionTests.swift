import Foundation
import LStoreKit
import XCTest
@testable import LStoreSync

/// Connections whose storage does not answer (a database away): what the client sends
/// meanwhile is still read and answered.
final class SlowStorageSessionTests: XCTestCase {
  var directory: String!
  var storage: GatedStorage!
  var backend: SyncBackend!
  let sent = Locked<[String]>([])
  var client: AsyncStream<String>.Continuation!
  var running: Task<Void, Error>!

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "lstore-slow-storage-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    storage = try GatedStorage(path: directory + "/backend.db")
    backend = SyncBackend(storage: storage, clock: { "2026-01-01T00:00:00.000Z" })
  }

  override func tearDownWithError() throws {
    storage?.open()
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// Runs `run` (a session's) with frames the test yields, recording what it sends.
  func start(_ run: @escaping @Sendable (AsyncStream<String>, @escaping @Sendable (String) async throws -> Void) async throws -> Void) {
    let (inbound, continuation) = AsyncStream<String>.makeStream()
    client = continuation
    let sent = sent
    running = Task { try await run(inbound, { text in sent.withLock { $0.append(text) } }) }
  }

  func waitForFrame(_ what: String, _ matches: @escaping (String) -> Bool) async throws {
    let deadline = Date().addingTimeInterval(10)
    while !sent.withLock({ $0.contains(where: matches) }) {
      guard Date() < deadline else { return XCTFail("no \(what) within 10 s; sent: \(sent.withLock { $0 })") }
      try await Task.sleep(nanoseconds: 10_000_000)
    }
  }

  func waitUntilTheStorageIsEntered() async -> Bool {
    let storage = storage!
    return await withCheckedContinuation { continuation in
      DispatchQueue.global().async { continuation.resume(returning: storage.entered.wait(timeout: .now() + 10) == .success) }
    }
  }

  /// LiveStore 0.4: a push waits for the storage; the client's `Ping` read behind it is
  /// answered at once (its keepalive would otherwise take the slow database for a dead
  /// connection), and the push's `Exit` follows once the storage answers.
  func testAPingBehindAPushWaitingForTheStorageIsAnsweredAtOnce() async throws {
    let session = RPC04ServerSession(backend: backend, storeId: "todos")
    start { inbound, send in try await session.run(inbound: inbound, send: send) }

    storage.holdsBackendId = true
    storage.close()
    let event = WireEvent(name: "v1.TodoCreated", args: ["id": "t1"], seqNum: 1, parentSeqNum: 0, clientId: "c", sessionId: "s")
    let push = RPC04.ClientMessage.request(RPC04.Request(
      id: "7", tag: SyncRPC04.wsPush, payload: SyncRPC04.PushRequest(storeId: "todos", batch: [event], backendId: nil).jsonValue))
    client.yield(push.encoded())
    // The push is waiting for the storage now.
    let entered = await waitUntilTheStorageIsEntered()
    XCTAssertTrue(entered, "the push reached the storage")
    client.yield(#"{"_tag":"Ping"}"#)
    try await waitForFrame("Pong") { $0 == #"{"_tag":"Pong"}"# }
    XCTAssertFalse(sent.withLock { $0.contains { $0.contains(#""_tag":"Exit""#) } }, "the push is not answered before the storage is")

    storage.open()
    try await waitForFrame("the push's Exit") { $0.contains(#""_tag":"Exit""#) && $0.contains(#""requestId":"7""#) }
    XCTAssertTrue(sent.withLock { $0.last?.contains("Success") ?? false }, "\(sent.withLock { $0 })")
    XCTAssertEqual(try storage.head(storeId: "todos"), 1)
    client.finish()
    try await running.value
  }

  /// Pushes that arrived while the one before them waited for a storage that then failed
  /// get the same failure at once, not each after a wait of their own.
  func testPushesBehindAPushWhoseStorageFailedAreAnsweredAtOnce() async throws {
    let session = RPC04ServerSession(backend: backend, storeId: "todos")
    start { inbound, send in try await session.run(inbound: inbound, send: send) }
    storage.holdsBackendId = true
    storage.failsNextBackendId = true
    storage.close()
    for (index, id) in ["7", "8", "9"].enumerated() {
      let seqNum = Int64(index * 2 + 1)
      let events = [seqNum, seqNum + 1].map {
        WireEvent(name: "v1.TodoCreated", args: ["id": .string("t\($0)")], seqNum: $0, parentSeqNum: $0 - 1, clientId: "c", sessionId: "s")
      }
      client.yield(RPC04.ClientMessage.request(RPC04.Request(
        id: id, tag: SyncRPC04.wsPush, payload: SyncRPC04.PushRequest(storeId: "todos", batch: events, backendId: nil).jsonValue)).encoded())
    }
    let entered = await waitUntilTheStorageIsEntered()
    XCTAssertTrue(entered, "the first push reached the storage")
    // Let the reading loop queue the other two behind it (a Ping answered says it read on).
    client.yield(#"{"_tag":"Ping"}"#)
    try await waitForFrame("Pong") { $0 == #"{"_tag":"Pong"}"# }
    let readsBefore = storage.backendIdReads
    storage.open()
    for id in ["7", "8", "9"] {
      try await waitForFrame("push \(id)'s Exit") { $0.contains(#""_tag":"Exit""#) && $0.contains(#""requestId":"\#(id)""#) }
    }
    let exits = sent.withLock { $0.filter { $0.contains(#""_tag":"Exit""#) } }
    XCTAssertTrue(exits.allSatisfy { $0.contains("Push failed: internal server error") }, "\(exits)")
    XCTAssertEqual(storage.backendIdReads, readsBefore, "no read of their own")
    XCTAssertEqual(try storage.head(storeId: "todos"), 0)
    client.finish()
    try await running.value
  }

  /// LiveStore 0.3, a connection opened while the storage does not answer: it subscribes to
  /// its store in the background, so its pings are answered at once; the pull waiting for
  /// the subscription fails with an error for that request (not a closed connection), and
  /// the next pull subscribes again and is served.
  func testAConnectionOpenedWhileTheStorageDoesNotAnswerKeepsAnsweringAndServesOnceItDoes() async throws {
    storage.holdsHead = true
    storage.failsNextHead = true
    storage.close()
    let session = SyncSession(backend: backend, storeId: "todos", adminSecret: nil)
    start { inbound, send in try await session.run(inbound: inbound, send: send) }

    let entered = await waitUntilTheStorageIsEntered()
    XCTAssertTrue(entered, "subscribing reads the head")
    client.yield(SyncMessage.pullRequest(requestId: "r1", cursor: nil).encoded())
    client.yield(SyncMessage.pingText)
    try await waitForFrame("Pong") { $0 == SyncMessage.pongText }

    // The storage answers with a failure: the waiting pull is told, the connection stays.
    storage.open()
    try await waitForFrame("the pull's error") { $0.contains("WSMessage.Error") && $0.contains(#""requestId":"r1""#) }
    XCTAssertTrue(sent.withLock { $0.contains { $0.contains("Pull failed: internal server error") } }, "\(sent.withLock { $0 })")
    client.yield(SyncMessage.pullRequest(requestId: "r2", cursor: nil).encoded())
    try await waitForFrame("the second pull's answer") { $0.contains("WSMessage.PullRes") && $0.contains(#""requestId":"r2""#) }
    let subscribers = await backend.subscriberCount(storeId: "todos")
    XCTAssertEqual(subscribers, 1, "subscribed once")
    client.finish()
    try await running.value
    let afterwards = await backend.subscriberCount(storeId: "todos")
    XCTAssertEqual(afterwards, 0, "unsubscribed at the end")
  }
}
