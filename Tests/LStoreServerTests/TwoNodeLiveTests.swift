import Foundation
import LStoreKit
import LStoreSync
import XCTest
@testable import LStoreServer

/// Two servers on one PostgreSQL database (LSTORE_TEST_POSTGRES_URL, which
/// `scripts/test.sh` provides): a live pull on one node, 0.3 or 0.4, gets the pushes made on
/// the other, in order and once each.
final class TwoNodeLiveTests: XCTestCase {
  var nodeA: TestServer!
  var nodeB: TestServer!

  override func setUp() async throws {
    guard let url = ProcessInfo.processInfo.environment["LSTORE_TEST_POSTGRES_URL"] else {
      throw XCTSkip("LSTORE_TEST_POSTGRES_URL is not set: run `bash scripts/test.sh`, or `source scripts/postgres-cluster.sh && postgres_cluster_start` first")
    }
    nodeA = try await TestServer(databaseURL: url)
    nodeB = try await TestServer(databaseURL: url)
  }

  override func tearDown() async throws {
    await nodeA?.stop()
    await nodeB?.stop()
  }

  func freshStore() -> String { "live-\(UUID().uuidString.prefix(13).lowercased())" }

  func event(_ n: Int64, client: String = "c") -> WireEvent {
    WireEvent(name: "v1.TodoCreated", args: ["id": .string("t\(n)")], seqNum: n, parentSeqNum: n - 1,
              clientId: client, sessionId: "s")
  }

  func testA03LivePullOnOneNodeSeesPushesMadeOnTheOther() async throws {
    let store = freshStore()
    let watcher = try await RawWebSocket(url: SyncURL.webSocketURL(base: nodeA.wsURL, storeId: store, payload: nil))
    let pusher = try await RawWebSocket(url: SyncURL.webSocketURL(base: nodeB.wsURL, storeId: store, payload: nil))
    watcher.send(SyncMessage.pullRequest(requestId: "p", cursor: nil).encoded())
    let first = try SyncMessage.decode(try await watcher.receive()).pullResponseValue
    XCTAssertEqual(first?.batch.count, 0)
    for n in Int64(1)...3 {
      pusher.send(SyncMessage.pushRequest(requestId: "push\(n)", batch: [event(n)]).encoded())
    }
    var seen: [Int64] = []
    while seen.count < 3 {
      guard let page = try SyncMessage.decode(try await watcher.receive()).pullResponseValue else { continue }
      XCTAssertEqual(page.context, .push)
      seen += page.batch.map(\.event.seqNum)
    }
    XCTAssertEqual(seen, [1, 2, 3])
    // And the other way round, on top of what the other node wrote.
    watcher.send(SyncMessage.pushRequest(requestId: "w4", batch: [event(4, client: "w")]).encoded())
    var echoed: [Int64] = []
    while !echoed.contains(4) {
      guard let page = try SyncMessage.decode(try await pusher.receive()).pullResponseValue else { continue }
      echoed += page.batch.map(\.event.seqNum)
    }
    XCTAssertEqual(echoed.filter { $0 == 4 }.count, 1)
    await watcher.close()
    await pusher.close()
  }

  func testA04LivePullOnOneNodeSeesPushesMadeOnTheOther() async throws {
    let store = freshStore()
    let watcher = try await RawWebSocket(url: SyncURL.url04(base: nodeA.wsURL + "/", storeId: store, payload: nil, transport: .webSocket))
    let pusher = try await RawWebSocket(url: SyncURL.url04(base: nodeB.wsURL + "/websocket", storeId: store, payload: nil, transport: .webSocket))
    func request(_ id: String, _ tag: String, _ payload: JSONValue) -> String {
      RPC04.ClientMessage.request(RPC04.Request(id: id, tag: tag, payload: payload, traceId: "0af7651916cd43dd8448eb211c80319c",
                                                spanId: "b7ad6b7169203331", sampled: true)).encoded()
    }
    func page() async throws -> SyncRPC04.PullResponse? {
      let text = try await watcher.receive()
      guard case .chunk(_, let values) = try RPC04.ServerMessage.decode(text), values.count == 1 else { return nil }
      return try SyncRPC04.PullResponse(json: values[0])
    }
    watcher.send(request("0", SyncRPC04.wsPull, SyncRPC04.PullRequest(storeId: store, live: true, cursor: nil).jsonValue))
    let empty = try await page()
    XCTAssertEqual(empty?.batch.count, 0)
    watcher.send(RPC04.ClientMessage.ack(requestId: "0").encoded())
    var seen: [Int64] = []
    for n in Int64(1)...3 {
      pusher.send(request("\(n)", SyncRPC04.wsPush, SyncRPC04.PushRequest(storeId: store, batch: [event(n)], backendId: nil).jsonValue))
      _ = try await pusher.receive()  // its Exit
      while seen.last != n {
        guard let live = try await page() else { continue }
        XCTAssertEqual(live.backendId, empty?.backendId, "one backend id for the store on every node")
        seen += live.batch.map(\.event.seqNum)
        watcher.send(RPC04.ClientMessage.ack(requestId: "0").encoded())
      }
    }
    XCTAssertEqual(seen, [1, 2, 3])
    await watcher.close()
    await pusher.close()
  }

  func testHealthReportsTheNodeAndTheDatabase() async throws {
    let port = nodeA.port
    let reply = try await Task.detached { try RawHTTP.request(port: port, "GET", "/health") }.value
    XCTAssertEqual(reply.status, 200, reply.body)
    let json = try JSONParser.parse(reply.body)
    XCTAssertEqual(json["status"], "ok")
    XCTAssertEqual(json["database"]?["kind"], "postgres")
    XCTAssertEqual(json["database"]?["reachable"], true)
    XCTAssertNotNil(json["node"]?["id"]?.stringValue)
  }
}
