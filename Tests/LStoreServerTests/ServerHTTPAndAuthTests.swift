import Foundation
import JWTKit
import LStoreKit
import LStoreSync
import LStoreSyncWebSocket
import XCTest
@testable import LStoreServer

/// Connect checks with LiveStore's status codes, token and JWT auth, and the HTTP API.
final class ServerHTTPAndAuthTests: XCTestCase {
  func connectTarget(store: String = "todos", payload: JSONValue?) -> String {
    let url = SyncURL.webSocketURL(base: "ws://x", storeId: store, payload: payload)
    return String(url.dropFirst("ws://x".count))
  }

  let upgradeHeaders = ["Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="]

  func testConnectChecksUseLiveStoresStatusCodes() async throws {
    let server = try await TestServer(authToken: "insecure-token-change-me")
    defer { server.removeData() }
    let port = server.port
    let info = try RawHTTP.request(port: port, "GET", "/")
    XCTAssertEqual(info.status, 200)
    XCTAssertTrue(info.body.hasPrefix("Info: WebSocket sync backend endpoint"))
    let other = try RawHTTP.request(port: port, "GET", "/nope")
    XCTAssertEqual([other.status], [400])
    XCTAssertEqual(other.body, "Invalid path")

    // Plain GETs get LiveStore's exact statuses and texts.
    let noStore = try RawHTTP.request(port: port, "GET", "/websocket?payload=%257B%257D")
    XCTAssertEqual(noStore.status, 500)
    XCTAssertEqual(noStore.body, "Invalid search params: storeId is missing")
    let badToken = try RawHTTP.request(port: port, "GET", connectTarget(payload: ["authToken": "wrong"]))
    XCTAssertEqual(badToken.status, 400)
    XCTAssertEqual(badToken.body, "Invalid auth token")
    let noPayload = try RawHTTP.request(port: port, "GET", connectTarget(payload: nil))
    XCTAssertEqual(noPayload.status, 400)
    XCTAssertTrue(noPayload.body.hasPrefix("Missing auth token"))
    let badStore = try RawHTTP.request(port: port, "GET", connectTarget(store: "a%20b", payload: nil))
    XCTAssertEqual(badStore.status, 400)
    XCTAssertTrue(badStore.body.hasPrefix("Invalid storeId"))
    // A refused WebSocket handshake is a 400 (Hummingbird answers refused upgrades itself,
    // with an empty body: see docs/sync-server.md).
    let refusedUpgrade = try RawHTTP.request(port: port, "GET", connectTarget(payload: ["authToken": "wrong"]), headers: upgradeHeaders)
    XCTAssertEqual(refusedUpgrade.status, 400)
    let accepted = try RawHTTP.request(port: port, "GET", connectTarget(payload: ["authToken": "insecure-token-change-me"]),
                                       headers: upgradeHeaders, untilHeaders: true)
    XCTAssertEqual(accepted.status, 101)

    let noUpgrade = try RawHTTP.request(port: port, "GET", connectTarget(payload: ["authToken": "insecure-token-change-me"]))
    XCTAssertEqual(noUpgrade.status, 426)

    // The WebSocket client is refused with a bad token and accepted with the right one.
    do {
      _ = try await WebSocketSyncClient.connect(url: server.wsURL, storeId: "todos", payload: ["authToken": "wrong"])
      XCTFail("connected with a wrong token")
    } catch let error as WebSocketSyncError {
      XCTAssertEqual(error.kind, .connectFailed)
      XCTAssertFalse(error.message.contains("wrong"), "the token must not appear in messages")
    }
    let client = try await WebSocketSyncClient.connect(url: server.wsURL, storeId: "todos",
                                                       payload: ["authToken": "insecure-token-change-me"])
    let result = try await client.push(makeBatch(from: 1, count: 1))
    XCTAssertNotNil(result.createdAt)
    await client.close()
    await server.stop()
  }

  func testJWTSignatureAndExpiryAreChecked() async throws {
    let secret = "a-jwt-secret-of-at-least-32-bytes!"
    let server = try await TestServer(jwtSecret: secret)
    defer { server.removeData() }
    let keys = JWTKeyCollection()
    await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
    let valid = try await keys.sign(SyncTokenClaims(exp: .init(value: Date().addingTimeInterval(600)), storeId: .unlimited))
    let expired = try await keys.sign(SyncTokenClaims(exp: .init(value: Date().addingTimeInterval(-600)), storeId: .unlimited))
    let otherStore = try await keys.sign(SyncTokenClaims(exp: .init(value: Date().addingTimeInterval(600)), storeId: .only("other")))
    let otherKeys = JWTKeyCollection()
    await otherKeys.add(hmac: HMACKey(from: "not-the-secret-but-also-32-bytes-long"), digestAlgorithm: .sha256)
    let forged = try await otherKeys.sign(SyncTokenClaims(exp: .init(value: Date().addingTimeInterval(600)), storeId: .unlimited))

    // Signed with the right key, the header naming another algorithm.
    var otherAlgorithm = JWTHeader()
    otherAlgorithm.alg = "HS512"
    let mislabelled = try await keys.sign(SyncTokenClaims(exp: .init(value: Date().addingTimeInterval(600)), storeId: .unlimited),
                                          header: otherAlgorithm)
    let acceptedByJWTKit = try? await keys.verify(mislabelled, as: SyncTokenClaims.self)
    XCTAssertNotNil(acceptedByJWTKit, "JWTKit alone accepts it")
    var none = JWTHeader()
    none.alg = "none"
    let unsigned = try await keys.sign(SyncTokenClaims(exp: .init(value: Date().addingTimeInterval(600)), storeId: .unlimited),
                                       header: none)

    func status(_ token: String) throws -> RawHTTP.Reply {
      try RawHTTP.request(port: server.port, "GET", connectTarget(payload: ["authToken": .string(token)]))
    }
    XCTAssertEqual(try status(valid).status, 426, "valid token: only the missing Upgrade is wrong")
    XCTAssertEqual(try status(expired).status, 400)
    XCTAssertEqual(try status(expired).body, "Invalid auth token: expired")
    XCTAssertEqual(try status(forged).body, "Invalid auth token")
    XCTAssertEqual(try status(otherStore).body, "Invalid auth token: not valid for this storeId")
    for token in [mislabelled, unsigned] {
      XCTAssertEqual(try status(token).body, "Invalid auth token: the JWT must be signed with HS256", token)
    }
    // Not a JWT: no header, a header without `alg` (`{}`), a header that is not base64url.
    for token in ["", "e30.e30.", "!!!.x.y"] {
      XCTAssertEqual(try status(token).body, "Invalid auth token", token)
    }

    // A token limited to a store covers the companion stores derived from that store id
    // alone, and no branch store (named by a hash of a branch name a client picks).
    let todosOnly = try await keys.sign(SyncTokenClaims(exp: .init(value: Date().addingTimeInterval(600)), storeId: .only("todos")))
    func status(_ token: String, store: String) throws -> RawHTTP.Reply {
      try RawHTTP.request(port: server.port, "GET", connectTarget(store: store, payload: ["authToken": .string(token)]))
    }
    for store in ["todos", CompanionStores.records(of: "todos"), CompanionStores.branches(of: "todos")] {
      XCTAssertEqual(try status(todosOnly, store: store).status, 426, store)
    }
    for store in ["other", CompanionStores.records(of: "other"), CompanionStores.branches(of: "other")] {
      XCTAssertEqual(try status(todosOnly, store: store).body, "Invalid auth token: not valid for this storeId", store)
    }
    XCTAssertTrue(try status(todosOnly, store: CompanionStores.branch(of: "todos", named: "feature")).body
      .hasPrefix("Invalid auth token: a token limited to one storeId does not cover lstore's branch stores"))
    // A claim that is there but names no store is refused, not read as "every store".
    let nullScope = try await keys.sign(SyncTokenClaims(exp: .init(value: Date().addingTimeInterval(600)), storeId: .invalid))
    XCTAssertEqual(try status(nullScope).body, "Invalid auth token: its storeId claim must be a store id")

    let head = try RawHTTP.request(port: server.port, "GET", "/api/v1/stores/todos/head", headers: ["Authorization": "Bearer \(valid)"])
    XCTAssertEqual(head.status, 200)
    // The scheme is case-insensitive.
    XCTAssertEqual(try RawHTTP.request(port: server.port, "GET", "/api/v1/stores/todos/head",
                                       headers: ["Authorization": "bearer \(todosOnly)"]).status, 200)
    XCTAssertEqual(try RawHTTP.request(port: server.port, "GET", "/api/v1/stores/other/head",
                                       headers: ["Authorization": "BEARER \(todosOnly)"]).status, 401)
    let refused = try RawHTTP.request(port: server.port, "GET", "/api/v1/stores/todos/head", headers: ["Authorization": "Bearer \(expired)"])
    XCTAssertEqual(refused.status, 401)
    await server.stop()
  }

  func testHTTPAPIRoundTrip() async throws {
    let server = try await TestServer(authToken: "tok")
    defer { server.removeData() }
    let port = server.port
    let auth = ["Authorization": "Bearer tok"]
    let batch = #"{"batch":[{"name":"a","args":{"x":1},"seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"},{"name":"b","seqNum":2,"parentSeqNum":1,"clientId":"c","sessionId":"s"}]}"#
    let unauthorized = try RawHTTP.request(port: port, "POST", "/api/v1/stores/todos/events", body: batch)
    XCTAssertEqual(unauthorized.status, 401)
    let pushed = try RawHTTP.request(port: port, "POST", "/api/v1/stores/todos/events", headers: auth, body: batch)
    XCTAssertEqual(pushed.status, 200)
    XCTAssertTrue(pushed.body.range(of: #"^\{"head":2,"createdAt":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"\}$"#,
                                    options: .regularExpression) != nil, pushed.body)
    let stale = try RawHTTP.request(port: port, "POST", "/api/v1/stores/todos/events", headers: auth, body: batch)
    XCTAssertEqual(stale.status, 409)
    XCTAssertEqual(stale.body, #"{"error":"Invalid parent event number. Received e0 but expected e2","head":2}"#)
    let malformed = try RawHTTP.request(port: port, "POST", "/api/v1/stores/todos/events", headers: auth, body: #"{"batch":[{"name":1}]}"#)
    XCTAssertEqual(malformed.status, 400)
    let gap = try RawHTTP.request(port: port, "POST", "/api/v1/stores/todos/events", headers: auth,
      body: #"{"batch":[{"name":"a","seqNum":4,"parentSeqNum":2,"clientId":"c","sessionId":"s"}]}"#)
    XCTAssertEqual(gap.status, 400)
    XCTAssertEqual(gap.body, #"{"error":"Invalid push batch: event 0 is e4 but its parent e2 requires e3"}"#)
    let nameless = try RawHTTP.request(port: port, "POST", "/api/v1/stores/todos/events", headers: auth,
      body: #"{"batch":[{"name":"","seqNum":3,"parentSeqNum":2,"clientId":"c","sessionId":"s"}]}"#)
    XCTAssertEqual(nameless.status, 400)
    XCTAssertEqual(nameless.body, #"{"error":"Invalid push batch: event 0 has an empty name"}"#)

    let head = try RawHTTP.request(port: port, "GET", "/api/v1/stores/todos/head", headers: auth)
    XCTAssertEqual(head.body, #"{"head":2}"#)
    let page = try RawHTTP.request(port: port, "GET", "/api/v1/stores/todos/events?cursor=0&limit=1", headers: auth)
    XCTAssertEqual(page.status, 200)
    let json = try JSONParser.parse(page.body)
    XCTAssertEqual(json["remaining"], 1)
    XCTAssertEqual(json["head"], 2)
    let items = try json["batch"]!.arrayValue!.map(PullItem.init(json:))
    XCTAssertEqual(items.map(\.event.name), ["a"])
    XCTAssertNotNil(items[0].createdAt)
    let rest = try JSONParser.parse(try RawHTTP.request(port: port, "GET", "/api/v1/stores/todos/events?cursor=1", headers: auth).body)
    let restItems = try rest["batch"]!.arrayValue!.map(PullItem.init(json:))
    XCTAssertEqual(restItems.map(\.event.seqNum), [2])
    XCTAssertNil(restItems[0].event.args, "absent args stay absent")
    XCTAssertEqual(rest["remaining"], 0)
    let badStore = try RawHTTP.request(port: port, "GET", "/api/v1/stores/bad%20id/head", headers: auth)
    XCTAssertEqual(badStore.status, 400)

    // What the HTTP API stored is what a WebSocket puller sees.
    let client = try await WebSocketSyncClient.connect(url: server.wsURL, storeId: "todos", payload: ["authToken": "tok"])
    var seqNums: [Int64] = []
    for try await page in client.pull(cursor: nil) { seqNums += page.items.map(\.event.seqNum) }
    XCTAssertEqual(seqNums, [1, 2])
    await client.close()
    // A LiveStore 0.4 query on an API path does not take the request to the 0.4 RPC (which
    // answered such a POST 200 with a Defect, and a client took that as stored).
    let queried = try RawHTTP.request(port: port, "POST", "/api/v1/stores/todos/events?storeId=todos&transport=http", headers: auth,
      body: #"{"batch":[{"name":"c","seqNum":3,"parentSeqNum":2,"clientId":"c","sessionId":"s"}]}"#)
    XCTAssertEqual(queried.status, 200)
    XCTAssertTrue(queried.body.hasPrefix(#"{"head":3,"#), queried.body)
    await server.stop()
  }
}

final class ServerLoggingTests: XCTestCase {
  func testLogsNameStoreAndCountsButNeverTheToken() async throws {
    let token = "super-secret-token-value-123"
    let capture = LogCapture()
    let server = try await TestServer(authToken: token, logLines: capture)
    defer { server.removeData() }
    let client = try await WebSocketSyncClient.connect(url: server.wsURL, storeId: "todos", payload: ["authToken": .string(token)])
    _ = try await client.push(makeBatch(from: 1, count: 2))
    for try await _ in client.pull(cursor: nil) {}
    await client.close()
    _ = try RawHTTP.request(port: server.port, "GET", "/api/v1/stores/todos/head", headers: ["Authorization": "Bearer \(token)"])
    _ = try RawHTTP.request(port: server.port, "GET", "/websocket?storeId=todos&payload=%257B%2522authToken%2522%253A%2522\(token)x%2522%257D")
    await server.stop()
    let log = capture.text
    XCTAssertFalse(log.contains(token), log)
    XCTAssertTrue(log.contains("listening on 127.0.0.1:\(server.port)"), log)
    XCTAssertTrue(log.contains("push accepted") && log.contains("events=2") && log.contains("storeId=todos"), log)
    XCTAssertTrue(log.contains("pull served"), log)
    XCTAssertTrue(log.contains("connection refused"), log)
  }
}
