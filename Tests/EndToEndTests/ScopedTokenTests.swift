import Foundation
import JWTKit
import XCTest

/// A JWT limited to one store (`storeId` claim) against `lstore serve --jwt-secret`: push
/// and pull work with it over every protocol, commit records included (they travel on a
/// companion store derived from the store id); it reaches no other store, and a claim that
/// names no store limits nothing it could be read as.
final class ScopedTokenTests: XCTestCase {
  let secret = "a-jwt-secret-of-at-least-32-bytes!"

  struct Claims: JWTPayload {
    var exp: ExpirationClaim
    var storeId: String??

    enum CodingKeys: String, CodingKey { case exp, storeId }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(exp, forKey: .exp)
      switch storeId {
      case .none: break
      case .some(.none): try container.encodeNil(forKey: .storeId)
      case .some(.some(let id)): try container.encode(id, forKey: .storeId)
      }
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
  }

  func token(storeId: String??) async throws -> String {
    let keys = JWTKeyCollection()
    await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
    return try await keys.sign(Claims(exp: .init(value: Date().addingTimeInterval(600)), storeId: storeId))
  }

  func testATokenForOneStoreSyncsItAndItsCommitRecordsAndNothingElse() async throws {
    let sandbox = try Sandbox()
    let server = try SyncEndToEndTests.Server(sandbox: sandbox, extra: ["--jwt-secret", secret])
    defer { server.kill() }
    let todos = try await token(storeId: "todos")
    let other = try await token(storeId: "other")
    let null = try await token(storeId: .some(nil))

    try sandbox.initStore("a", clientId: "alice")
    assertStatus(try sandbox.lstore("-C", "a", "commit", "v1.TodoCreated", #"{"id":"t1","text":"Buy milk"}"#, "-m", "Buy milk"), 0)
    let pushed = try sandbox.lstore("-C", "a", "push", server.url, "--auth-token", todos)
    assertStatus(pushed, 0)
    XCTAssertTrue(pushed.stdout.contains("Pushed 1 event"), pushed.stdout)

    // Every protocol brings the events and the commit's message with the same token.
    for (clone, url, extra) in [("b", server.url, [String]()), ("c", server.httpURL, []),
                                ("d", server.url, ["--protocol", "livestore-0.4"])] {
      try sandbox.initStore(clone, clientId: "client-\(clone)")
      let pulled = try sandbox.lstore(["-C", clone, "pull", url, "--auth-token", todos] + extra)
      assertStatus(pulled, 0)
      XCTAssertTrue(pulled.stderr.contains("Received 1 commit record"), "\(clone): \(pulled)")
      XCTAssertFalse(pulled.stderr.contains("warning"), "\(clone): \(pulled)")
      let log = try sandbox.lstore("-C", clone, "log", "--oneline")
      XCTAssertEqual(log.lines.count, 1, "\(clone) over \(url) \(extra): \(log)")
      XCTAssertTrue(log.stdout.contains("Buy milk"), "\(clone) over \(url) \(extra): \(log)")
    }

    for url in [server.url, server.httpURL] {
      assertError(try sandbox.lstore("-C", "b", "pull", url, "--auth-token", other), 69,
                  ["the server refused the auth token", "not valid for this storeId"])
      assertError(try sandbox.lstore("-C", "b", "pull", url, "--auth-token", null), 69,
                  ["the server refused the auth token", "its storeId claim must be a store id"])
    }

    // A branch has a store of its own, named by a hash the server cannot check against the
    // token: the push is refused with the reason, and main's store is left as it was.
    assertStatus(try sandbox.lstore("-C", "a", "switch", "-c", "feature"), 0)
    assertStatus(try sandbox.lstore("-C", "a", "commit", "v1.TodoCreated", #"{"id":"t2","text":"On a branch"}"#, "-m", "Branch work"), 0)
    assertError(try sandbox.lstore("-C", "a", "push", server.url, "--auth-token", todos), 69,
                ["does not cover lstore's branch stores", "a token without a storeId claim"])
    let after = try sandbox.lstore("-C", "b", "pull", server.url, "--auth-token", todos)
    assertStatus(after, 0)
    let log = try sandbox.lstore("-C", "b", "log", "--oneline")
    XCTAssertEqual(log.lines.count, 1, "\(log)")
    XCTAssertFalse(log.stdout.contains("Branch work"), "\(log)")
    // A token without the claim publishes the branch.
    let unlimited = try await token(storeId: .none)
    assertStatus(try sandbox.lstore("-C", "a", "push", server.url, "--auth-token", unlimited), 0)
  }
}
