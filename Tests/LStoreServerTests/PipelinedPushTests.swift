import Foundation
import LStoreKit
import LStoreSync
import LStoreSyncWebSocket
import XCTest
@testable import LStoreServer

/// Pipelined pushes (many `PushReq`s in flight on one socket) against a real server with
/// group commit.
final class PipelinedPushTests: XCTestCase {
  func batches(from first: Int64, count: Int, size: Int = 100, clientId: String = "c1") -> [[WireEvent]] {
    stride(from: 0, to: count, by: size).map { offset in
      makeBatch(from: first + Int64(offset), count: min(size, count - offset), clientId: clientId)
    }
  }

  func pullAll(_ client: WebSocketSyncClient, cursor: Int64? = nil) async throws -> [WireEvent] {
    try await withDeadline(30) {
      var events: [WireEvent] = []
      for try await page in client.pull(cursor: cursor) { events += page.items.map(\.event) }
      return events
    }
  }

  func testPipelinedPushesArriveInOrderAndAreDurable() async throws {
    let server = try await TestServer()
    defer { server.removeData() }
    var options = WebSocketSyncClient.Options()
    options.pushWindow = 16
    let client = try await WebSocketSyncClient.connect(url: server.wsURL, storeId: "todos", payload: nil, options: options)
    let sent = batches(from: 1, count: 5_000)
    let result = try await withDeadline(60) { try await client.push(batches: sent) }
    XCTAssertEqual(result.acknowledged, 50)
    XCTAssertNil(result.rejection)
    XCTAssertNotNil(result.metadata?["createdAt"]?.stringValue, "the last batch's echo carries createdAt")
    let pulled = try await pullAll(client)
    XCTAssertEqual(pulled, sent.flatMap { $0 })
    await client.close()

    // Everything acknowledged is on disk: a new server on the same data has it all.
    await server.stop()
    let restarted = try await TestServer(directory: server.directory)
    let again = try await WebSocketSyncClient.connect(url: restarted.wsURL, storeId: "todos", payload: nil)
    let reread = try await pullAll(again)
    XCTAssertEqual(reread.map(\.seqNum), Array(1...5_000))
    await again.close()
    await restarted.stop()
  }

  func testARejectionMidPipelineKeepsTheAcceptedPrefixAndRefusesTheRest() async throws {
    let server = try await TestServer()
    defer { server.removeData() }
    let client = try await WebSocketSyncClient.connect(url: server.wsURL, storeId: "todos", payload: nil)
    // Batch 10 does not continue batch 9 (parent e1001 while the head is e1000); the
    // batches after it build on it.
    let sent = batches(from: 1, count: 1_000) + batches(from: 1_002, count: 1_000)
    let result = try await withDeadline(60) { try await client.push(batches: sent) }
    XCTAssertEqual(result.acknowledged, 10)
    XCTAssertEqual(result.rejection, "Invalid parent event number. Received e1001 but expected e1000")
    let pulled = try await pullAll(client)
    XCTAssertEqual(pulled.map(\.seqNum), Array(1...1_000))
    // The connection is still usable and the next push continues the accepted prefix.
    let next = try await client.push(batches: batches(from: 1_001, count: 250))
    XCTAssertEqual(next.acknowledged, 3)
    XCTAssertNil(next.rejection)
    await client.close()
    await server.stop()
  }

  func testTwoPipelinesRacingEndWithOneGapFreeOrder() async throws {
    let server = try await TestServer()
    defer { server.removeData() }
    let a = try await WebSocketSyncClient.connect(url: server.wsURL, storeId: "todos", payload: nil)
    let b = try await WebSocketSyncClient.connect(url: server.wsURL, storeId: "todos", payload: nil)
    let batchesA = batches(from: 1, count: 2_000, clientId: "a"), batchesB = batches(from: 1, count: 2_000, clientId: "b")
    async let first = a.push(batches: batchesA)
    async let second = b.push(batches: batchesB)
    let (ra, rb) = try await (first, second)
    // Both started from e0: one pipeline's first push wins, the other's is refused, and
    // so is the rest of that pipeline, even the pushes that happen to continue the head
    // (they build on the refused events).
    let pulled = try await pullAll(a)
    XCTAssertEqual(pulled.map(\.seqNum), Array(1...2_000))
    for (index, event) in pulled.enumerated() { XCTAssertEqual(event.parentSeqNum, Int64(index)) }
    XCTAssertEqual(Set([ra.acknowledged, rb.acknowledged]), [0, 20])
    let winner = ra.acknowledged == 20 ? "a" : "b"
    XCTAssertTrue(pulled.allSatisfy { $0.clientId == winner }, "no event of the refused pipeline was stored")
    let refusal = (ra.acknowledged == 20 ? rb : ra).rejection ?? ""
    XCTAssertTrue(refusal.hasPrefix("Invalid parent event number. Received e0 but expected e"), refusal)
    await a.close()
    await b.close()
    await server.stop()
  }

  func testTransportPushesALargeBatchAsPipelinedRequests() async throws {
    let server = try await TestServer()
    defer { server.removeData() }
    let transport = try await WebSocketTransport.connect(url: server.wsURL, storeId: "todos", payload: nil)
    XCTAssertGreaterThanOrEqual(transport.maxBatchSize, 5_000)
    let events = makeBatch(from: 1, count: 2_550).map {
      RemoteEvent(seqNum: $0.seqNum, parentSeqNum: $0.parentSeqNum, name: $0.name, args: $0.args,
                  clientId: $0.clientId, sessionId: $0.sessionId)
    }
    let accepted = try await transport.push(events)
    guard case .accepted(let metadata) = accepted else { return XCTFail("\(accepted)") }
    XCTAssertNotNil(metadata?["createdAt"]?.stringValue)
    // A stale large push is refused with the backend head.
    let stale = try await transport.push(Array(events.prefix(300)))
    XCTAssertEqual(stale, .rejected(reason: "Invalid parent event number. Received e0 but expected e2550", backendHead: 2_550))
    var pulled: [RemoteEvent] = []
    try await transport.pull(after: 0) { page in pulled += page.events }
    XCTAssertEqual(pulled.map(\.seqNum), Array(1...2_550))
    await transport.close()
    await server.stop()
  }

  func testEchoRequestIdIsFoundWithoutParsing() {
    let echo = SyncMessage.pullResponse(PullResponse(batch: [PullItem(event: makeBatch(from: 1, count: 1)[0], createdAt: "t")],
                                                     context: .push, requestId: "abc_DEF-123", remaining: 0)).encoded()
    XCTAssertEqual(WebSocketSyncClient.pushEchoRequestId(echo), "abc_DEF-123")
    let page = SyncMessage.pullResponse(PullResponse(batch: [], context: .pull, requestId: "abc", remaining: 0)).encoded()
    XCTAssertNil(WebSocketSyncClient.pushEchoRequestId(page))
    XCTAssertNil(WebSocketSyncClient.pushEchoRequestId(SyncMessage.pushAck(requestId: "x").encoded()))
  }
}
