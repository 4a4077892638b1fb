import Foundation
import XCTest

/// Stores used as remotes of other stores (`lstore pull ../other`), chained: a store that
/// takes pushes and pulls from its own remote rebases what it took, which rewrites the
/// history the stores downstream of it confirmed.
final class PathRemoteTests: XCTestCase {
  /// O ← M ← L, and O ← P: L pushes to M, P pushes to O first, M pulls O (renumbering L's
  /// event after P's), then L pulls M.
  func makeRewrittenChain(_ sandbox: Sandbox) throws {
    for (name, client) in [("O", "o"), ("M", "m"), ("L", "l"), ("P", "p")] {
      try sandbox.initStore(name, storeId: "x", clientId: client, sessionId: client + "s")
    }
    try expectSuccess(sandbox, "-C", "O", "commit", "-q", "v1.TodoCreated", #"{"id":"t1","text":"one"}"#, "-m", "base")
    try expectSuccess(sandbox, "-C", "M", "pull", "O")
    try expectSuccess(sandbox, "-C", "L", "pull", "M")
    try expectSuccess(sandbox, "-C", "P", "pull", "O")
    try expectSuccess(sandbox, "-C", "L", "commit", "v1.TodoCompleted", #"{"id":"t1"}"#, "-m", "L completes")
    try expectSuccess(sandbox, "-C", "L", "push", "M")
    try expectSuccess(sandbox, "-C", "P", "commit", "v1.TodoCreated", #"{"id":"t2","text":"two"}"#, "-m", "P creates")
    try expectSuccess(sandbox, "-C", "P", "push", "O")
    try expectSuccess(sandbox, "-C", "M", "pull", "O")
  }

  @discardableResult
  func expectSuccess(_ sandbox: Sandbox, _ arguments: String..., file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
    let result = try sandbox.lstore(arguments)
    XCTAssertEqual(result.status, 0, result.description, file: file, line: line)
    return result
  }

  /// Each synced event as `seqNum name args client`.
  func syncedEvents(_ sandbox: Sandbox, _ store: String) throws -> [String] {
    let result = try sandbox.lstore(["-C", store, "log", "--json", "--reverse"])
    XCTAssertEqual(result.status, 0, result.description)
    return try result.lines.compactMap { line -> String? in
      let event = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      guard event["clientOnly"] as? Bool != true else { return nil }
      let args = try JSONSerialization.data(withJSONObject: event["args"] ?? NSNull(), options: [.sortedKeys, .fragmentsAllowed])
      return "\(event["seqNum"] ?? "") \(event["name"] ?? "") \(String(decoding: args, as: UTF8.self)) \(event["clientId"] ?? "")"
    }
  }

  func testPullFromAPathRemoteThatRewroteConfirmedEventsIsRefusedAndAdoptTakesItsHistory() throws {
    let sandbox = try Sandbox()
    try makeRewrittenChain(sandbox)
    let before = try syncedEvents(sandbox, "L")
    let pulled = try sandbox.lstore("-C", "L", "pull", "M")
    XCTAssertEqual(pulled.status, 2, pulled.description)
    XCTAssertTrue(pulled.stderr.contains("e2 is not the e2 this store synced with it"), pulled.stderr)
    XCTAssertTrue(pulled.stderr.contains("Nothing was changed"), pulled.stderr)
    XCTAssertEqual(try syncedEvents(sandbox, "L"), before)

    // The advice the error gives.
    let adopted = try expectSuccess(sandbox, "-C", "L", "pull", "--adopt-backend", "M")
    XCTAssertTrue(adopted.stdout.contains("1 pending event left out as the remote holds it already"), adopted.stdout)
    let events = try syncedEvents(sandbox, "L")
    XCTAssertEqual(events, try syncedEvents(sandbox, "M"))
    XCTAssertEqual(events.count, 3)
    XCTAssertEqual(events.filter { $0.contains("v1.TodoCompleted") }.count, 1, "\(events)")
    XCTAssertTrue(events[1].contains(#""id":"t2""#) && events[2].contains("v1.TodoCompleted"), "\(events)")
    let status = try expectSuccess(sandbox, "-C", "L", "status", "--json")
    XCTAssertTrue(status.stdout.contains(#""pending":0"#) || status.stdout.contains(#""pendingSynced":0"#), status.stdout)
    try expectSuccess(sandbox, "-C", "L", "fsck")
    // The commit message L pushed to M went with the event, and came back renumbered.
    XCTAssertTrue(try expectSuccess(sandbox, "-C", "M", "log").stdout.contains("L completes"))
    XCTAssertTrue(try expectSuccess(sandbox, "-C", "L", "log").stdout.contains("L completes"))
    // The state is M's: t1 completed, t2 there.
    XCTAssertEqual(try expectSuccess(sandbox, "-C", "L", "sql", "SELECT id, completed FROM todos ORDER BY id").stdout,
                   try expectSuccess(sandbox, "-C", "M", "sql", "SELECT id, completed FROM todos ORDER BY id").stdout)
  }

  func testPushToAPathRemoteThatRewroteTheParentIsRefused() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore("M", storeId: "x", clientId: "m", sessionId: "ms")
    try sandbox.initStore("L", storeId: "x", clientId: "l", sessionId: "ls")
    try expectSuccess(sandbox, "-C", "L", "commit", "v1.TodoCreated", #"{"id":"t1","text":"one"}"#, "-m", "L creates")
    try expectSuccess(sandbox, "-C", "L", "push", "M")
    // M drops what it took (pending there) and commits another event at e1.
    try expectSuccess(sandbox, "-C", "M", "reset", "--hard", "e0")
    try expectSuccess(sandbox, "-C", "M", "commit", "v1.TodoCreated", #"{"id":"m1","text":"mine"}"#, "-m", "M creates")
    let mBefore = try syncedEvents(sandbox, "M")
    try expectSuccess(sandbox, "-C", "L", "commit", "v1.TodoCompleted", #"{"id":"t1"}"#, "-m", "L completes")
    let pushed = try sandbox.lstore("-C", "L", "push", "M")
    XCTAssertEqual(pushed.status, 2, pushed.description)
    XCTAssertTrue(pushed.stderr.contains("e1 is not the e1 this store synced with it"), pushed.stderr)
    XCTAssertEqual(try syncedEvents(sandbox, "M"), mBefore, "a refused push leaves the remote as it was")
  }

  func testCommitMessagesTravelThroughAPathRemoteBothWays() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore("a", clientId: "a", sessionId: "as")
    try sandbox.initStore("hub", clientId: "h", sessionId: "hs")
    try sandbox.initStore("b", clientId: "b", sessionId: "bs")
    try expectSuccess(sandbox, "-C", "a", "commit", "v1.TodoCreated", #"{"id":"t1","text":"x"}"#, "-m", "from a")
    let pushed = try expectSuccess(sandbox, "-C", "a", "push", "hub")
    XCTAssertTrue(pushed.stderr.contains("Published 1 commit record"), pushed.stderr)
    let hubLog = try expectSuccess(sandbox, "-C", "hub", "log", "--json").stdout
    XCTAssertTrue(hubLog.contains(#""message":"from a""#), hubLog)
    // A commit made in the hub itself reaches a store pulling from it.
    try expectSuccess(sandbox, "-C", "hub", "commit", "v1.TodoCompleted", #"{"id":"t1"}"#, "-m", "from hub")
    let pulled = try expectSuccess(sandbox, "-C", "b", "pull", "hub")
    XCTAssertTrue(pulled.stderr.contains("Received 2 commit records"), pulled.stderr)
    let bLog = try expectSuccess(sandbox, "-C", "b", "log", "--json").stdout
    XCTAssertTrue(bLog.contains(#""message":"from a""#) && bLog.contains(#""message":"from hub""#), bLog)
    // Nothing is received twice.
    let again = try expectSuccess(sandbox, "-C", "b", "pull", "hub")
    XCTAssertFalse(again.stderr.contains("commit record"), again.stderr)
  }
}
