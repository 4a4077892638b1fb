import Foundation
import LStoreKit
import LStoreSQLite
import LStoreSync
import XCTest
@testable import LStoreServer
@testable import LStoreSync

/// What a hostile client can try against a real server on loopback: storeIds that collide
/// in SQLite, admin messages aimed at a neighbour, errors that would leak SQL.
final class AdversarialTests: XCTestCase {
  var server: TestServer!
  var log: LogCapture!

  override func setUp() async throws {
    log = LogCapture()
    server = try await TestServer(logLines: log)
  }

  override func tearDown() async throws {
    await server.stop()
    server.removeData()
  }

  static func body(from first: Int64, count: Int, clientId: String = "c") -> String {
    let events = (0..<Int64(count)).map { offset -> String in
      let seq = first + offset
      return #"{"name":"v1.X","args":{"n":\#(seq)},"seqNum":\#(seq),"parentSeqNum":\#(seq - 1),"clientId":"\#(clientId)","sessionId":"s"}"#
    }
    return #"{"batch":["# + events.joined(separator: ",") + "]}"
  }

  func http(_ method: String, _ target: String, body: String? = nil) throws -> RawHTTP.Reply {
    try RawHTTP.request(port: server.port, method, target, body: body)
  }

  func pulledClientIds(_ store: String) throws -> [String] {
    let reply = try http("GET", "/api/v1/stores/\(store)/events?limit=1000")
    XCTAssertEqual(reply.status, 200, reply.body)
    guard let batch = try JSONParser.parse(reply.body)["batch"]?.arrayValue else {
      XCTFail("not a page: \(reply.body)")
      return []
    }
    return try batch.map { try PullItem(json: $0).event.clientId }
  }

  func socket(_ store: String) async throws -> RawWebSocket {
    try await RawWebSocket(url: SyncURL.webSocketURL(base: server.wsURL, storeId: store, payload: nil))
  }

  // MARK: - storeId isolation

  func testStoreIdsThatDifferOnlyInCaseAreIsolatedOnEveryTransport() async throws {
    for (store, count) in [("abc", 3), ("ABC", 2), ("Abc", 1)] {
      let reply = try http("POST", "/api/v1/stores/\(store)/events", body: Self.body(from: 1, count: count, clientId: store))
      XCTAssertEqual(reply.status, 200, "\(store): \(reply.body)")
      XCTAssertTrue(reply.body.hasPrefix(#"{"head":\#(count),"#), reply.body)
    }
    XCTAssertEqual(try pulledClientIds("abc"), ["abc", "abc", "abc"])
    XCTAssertEqual(try pulledClientIds("ABC"), ["ABC", "ABC"])
    XCTAssertEqual(try pulledClientIds("Abc"), ["Abc"])
    XCTAssertEqual(try pulledClientIds("aBC"), [])
    // Over WebSocket too: ABC continues its own head, not abc's.
    let ws = try await socket("ABC")
    ws.send(#"{"_tag":"WSMessage.PushReq","requestId":"p","batch":[{"name":"v1.X","seqNum":3,"parentSeqNum":2,"clientId":"ws","sessionId":"s"}]}"#)
    let ack = try await ws.receive()
    XCTAssertEqual(ack, #"{"_tag":"WSMessage.PushAck","requestId":"p"}"#)
    await ws.close()
    XCTAssertEqual(try http("GET", "/api/v1/stores/abc/head").body, #"{"head":3}"#)
    XCTAssertEqual(try http("GET", "/api/v1/stores/ABC/head").body, #"{"head":3}"#)
  }

  func testAdminResetOfAStoreNeverTouchesItsCaseVariant() async throws {
    XCTAssertEqual(try http("POST", "/api/v1/stores/tenantA/events", body: Self.body(from: 1, count: 3)).status, 200)
    XCTAssertEqual(try http("POST", "/api/v1/stores/TENANTA/events", body: Self.body(from: 1, count: 1)).status, 200)
    let ws = try await socket("TENANTA")
    ws.send(#"{"_tag":"WSMessage.AdminResetRoomReq","requestId":"r","adminSecret":"admin-secret"}"#)
    let reset = try await ws.receive()
    XCTAssertEqual(reset, #"{"_tag":"WSMessage.AdminResetRoomRes","requestId":"r"}"#)
    ws.send(#"{"_tag":"WSMessage.AdminInfoReq","requestId":"i","adminSecret":"admin-secret"}"#)
    let info = try await ws.receive()
    XCTAssertTrue(info.contains(#""storeId":"TENANTA","head":0"#), info)
    await ws.close()
    XCTAssertEqual(try http("GET", "/api/v1/stores/tenantA/head").body, #"{"head":3}"#)
    XCTAssertEqual(try pulledClientIds("tenantA").count, 3)
    XCTAssertEqual(try pulledClientIds("TENANTA").count, 0)
    // An admin secret opens admin messages for the connection's own store only.
    let neighbour = try await socket("tenantA")
    neighbour.send(#"{"_tag":"WSMessage.AdminInfoReq","requestId":"i","adminSecret":"admin-secret"}"#)
    let neighbourInfo = try await neighbour.receive()
    XCTAssertTrue(neighbourInfo.contains(#""storeId":"tenantA","head":3"#), neighbourInfo)
    await neighbour.close()
  }

  func testUnicodeAndNormalizationVariantsOfAStoreIdAreRefusedOnEveryTransport() async throws {
    // "café" composed and decomposed, fullwidth "ａｂｃ", a Cyrillic "а" that looks like "a".
    for store in ["caf%C3%A9", "cafe%CC%81", "%EF%BD%81%EF%BD%82%EF%BD%83", "%D0%B0bc", "a%00b", "a%20b", "a%2Fb"] {
      let head = try http("GET", "/api/v1/stores/\(store)/head")
      let push = try http("POST", "/api/v1/stores/\(store)/events", body: Self.body(from: 1, count: 1))
      let connect = try http("GET", "/websocket?storeId=\(store)")
      for reply in [head, push, connect] {
        XCTAssertEqual(reply.status, 400, "\(store): \(reply.body)")
        XCTAssertTrue(reply.body.contains("Invalid storeId"), "\(store): \(reply.body)")
      }
    }
    XCTAssertEqual(try http("GET", "/api/v1/stores/abc/head").body, #"{"head":0}"#)
    // Dots are storeId characters: "." and ".." are ordinary stores (the backend keeps no
    // file per store), each its own.
    XCTAssertEqual(try http("POST", "/api/v1/stores/../events", body: Self.body(from: 1, count: 2)).status, 200)
    XCTAssertEqual(try http("POST", "/api/v1/stores/./events", body: Self.body(from: 1, count: 1)).status, 200)
    XCTAssertEqual(try http("GET", "/api/v1/stores/../head").body, #"{"head":2}"#)
    XCTAssertEqual(try http("GET", "/api/v1/stores/./head").body, #"{"head":1}"#)
    XCTAssertEqual(try pulledClientIds("..").count, 2)
  }

  // MARK: - Errors never show SQL

  func testStorageErrorsReachNoClientAsSQLAndAreLogged() async throws {
    // Plant a table where the store's events belong, with the wrong columns: every insert
    // then fails inside SQLite with a message naming tables and columns.
    let table = try SQLiteSyncStorage.tableName("victim")
    let planted = try Connection(path: server.directory + "/backend.db")
    try planted.execute("CREATE TABLE \(table) (x)")
    let reply = try http("POST", "/api/v1/stores/victim/events", body: Self.body(from: 1, count: 1))
    XCTAssertEqual(reply.status, 500)
    XCTAssertEqual(reply.body, #"{"error":"internal server error (the server log has the details)"}"#)

    let ws = try await socket("victim")
    ws.send(#"{"_tag":"WSMessage.PushReq","requestId":"p","batch":[{"name":"v1.X","seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}]}"#)
    let error = try await ws.receive()
    XCTAssertEqual(error, #"{"_tag":"WSMessage.Error","requestId":"p","message":"Push failed: internal server error (the server log has the details)"}"#)
    // A stored row the backend cannot read back fails the pull the same way.
    try planted.execute("DROP TABLE \(table)")
    try planted.execute("CREATE TABLE \(table) (seqNum INTEGER PRIMARY KEY NOT NULL, parentSeqNum INTEGER NOT NULL, name TEXT NOT NULL, args TEXT, createdAt TEXT NOT NULL, clientId TEXT NOT NULL, sessionId TEXT NOT NULL) STRICT")
    try planted.execute("INSERT INTO \(table) VALUES (1, 0, 'v1.X', '{not json', 't', 'c', 's')")
    try planted.execute("INSERT INTO lstore_sync_heads VALUES ('victim', 1) ON CONFLICT (storeId) DO UPDATE SET head = 1")
    await ws.close()
    let fresh = try await socket("victim")
    fresh.send(#"{"_tag":"WSMessage.PullReq","requestId":"q"}"#)
    let pullError = try await fresh.receive()
    XCTAssertEqual(pullError, #"{"_tag":"WSMessage.Error","requestId":"q","message":"Pull failed: internal server error (the server log has the details)"}"#)
    await fresh.close()
    let httpPull = try http("GET", "/api/v1/stores/victim/events")
    XCTAssertEqual(httpPull.status, 500)
    XCTAssertFalse(httpPull.body.contains("json") || httpPull.body.contains("lstore_events"), httpPull.body)

    // The detail is in the server's log, for the operator.
    XCTAssertTrue(log.text.contains("has no column named seqNum"), log.text)
  }
}
