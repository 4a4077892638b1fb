import Foundation
import XCTest

/// Stores used as remotes of other stores (`lstore pull ../other`), chained: a store that
/// takes pushes and pulls from its own remote rebases what it took, which rewrites the
/// history the stores downstream of it confirmed.
final class PathRemoteTests: XCTestCase {
  /// O ← M ← L, and O ← P, each with its own client and session, all holding O's first
  /// event (todo t1).
  func makeChain(_ sandbox: Sandbox) throws {
    for (name, client) in [("O", "o"), ("M", "m"), ("L", "l"), ("P", "p")] {
      try sandbox.initStore(name, storeId: "x", clientId: client, sessionId: client + "s")
    }
    try expectSuccess(sandbox, "-C", "O", "commit", "-q", "v1.TodoCreated", #"{"id":"t1","text":"one"}"#, "-m", "base")
    try expectSuccess(sandbox, "-C", "M", "pull", "O")
    try expectSuccess(sandbox, "-C", "L", "pull", "M")
    try expectSuccess(sandbox, "-C", "P", "pull", "O")
  }

  /// The chain, then: L pushes to M, P pushes to O first, M pulls O (renumbering L's event
  /// after P's), then L pulls M.
  func makeRewrittenChain(_ sandbox: Sandbox) throws {
    try makeChain(sandbox)
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

  func status(_ sandbox: Sandbox, _ store: String) throws -> [String: Any] {
    let result = try expectSuccess(sandbox, "-C", store, "status", "--json")
    return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
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
    XCTAssertTrue(pulled.stderr.contains("'lstore pull --adopt-backend M' takes the remote's history"), pulled.stderr)
    XCTAssertEqual(try syncedEvents(sandbox, "L"), before)

    // The advice the error gives.
    let adopted = try expectSuccess(sandbox, "-C", "L", "pull", "--adopt-backend", "M")
    XCTAssertTrue(adopted.stdout.contains("1 pending event left out: the remote holds it already"), adopted.stdout)
    let events = try syncedEvents(sandbox, "L")
    XCTAssertEqual(events, try syncedEvents(sandbox, "M"))
    XCTAssertEqual(events.count, 3)
    XCTAssertEqual(events.filter { $0.contains("v1.TodoCompleted") }.count, 1, "\(events)")
    XCTAssertTrue(events[1].contains(#""id":"t2""#) && events[2].contains("v1.TodoCompleted"), "\(events)")
    XCTAssertEqual(try status(sandbox, "L")["pending"] as? Int, 0)
    try expectSuccess(sandbox, "-C", "L", "fsck")
    // The commit message L pushed to M went with the event, and came back renumbered.
    XCTAssertTrue(try expectSuccess(sandbox, "-C", "M", "log").stdout.contains("L completes"))
    XCTAssertTrue(try expectSuccess(sandbox, "-C", "L", "log").stdout.contains("L completes"))
    // The state is M's: t1 completed, t2 there.
    XCTAssertEqual(try expectSuccess(sandbox, "-C", "L", "sql", "SELECT id, completed FROM todos ORDER BY id").stdout,
                   try expectSuccess(sandbox, "-C", "M", "sql", "SELECT id, completed FROM todos ORDER BY id").stdout)
  }

  func testAdoptKeepsAnUnpushedEventEqualToOneTheRemoteRenumbered() throws {
    let sandbox = try Sandbox()
    try makeChain(sandbox)
    try expectSuccess(sandbox, "-C", "L", "commit", "v1.TodoCompleted", #"{"id":"t1"}"#, "-m", "pushed")
    try expectSuccess(sandbox, "-C", "L", "push", "M")
    // The same event again (same args, client and session), not pushed.
    try expectSuccess(sandbox, "-C", "L", "commit", "v1.TodoCompleted", #"{"id":"t1"}"#, "-m", "again")
    try expectSuccess(sandbox, "-C", "P", "commit", "v1.TodoCreated", #"{"id":"t2","text":"two"}"#)
    try expectSuccess(sandbox, "-C", "P", "push", "O")
    try expectSuccess(sandbox, "-C", "M", "pull", "O")
    XCTAssertEqual(try sandbox.lstore("-C", "L", "pull", "M").status, 2)
    let adopted = try expectSuccess(sandbox, "-C", "L", "pull", "--adopt-backend", "M")
    XCTAssertTrue(adopted.stdout.contains("rebased 1 pending event; 1 pending event left out: the remote holds it already"), adopted.stdout)
    let events = try syncedEvents(sandbox, "L")
    XCTAssertEqual(Array(events.prefix(3)), try syncedEvents(sandbox, "M"))
    XCTAssertEqual(events.count, 4, "the unpushed copy is kept: \(events)")
    XCTAssertEqual(try status(sandbox, "L")["pending"] as? Int, 1)
    try expectSuccess(sandbox, "-C", "L", "push", "M")
    XCTAssertEqual(try syncedEvents(sandbox, "M"), events)
    XCTAssertTrue(try expectSuccess(sandbox, "-C", "L", "log").stdout.contains("again"))
  }

  /// The same events renumbered can leave an equal event at this store's backend head: the
  /// check reaches back to where the remote's history could have changed.
  func testARewriteThatLeavesAnEqualEventAtTheHeadIsStillRefused() throws {
    let sandbox = try Sandbox()
    try makeChain(sandbox)
    for name in ["v1.TodoCompleted", "v1.TodoUncompleted", "v1.TodoCompleted", "v1.TodoUncompleted"] {
      try expectSuccess(sandbox, "-C", "M", "commit", name, #"{"id":"t1"}"#)
    }
    try expectSuccess(sandbox, "-C", "L", "pull", "M")
    try expectSuccess(sandbox, "-C", "P", "commit", "v1.TodoCreated", #"{"id":"p1","text":"1"}"#)
    try expectSuccess(sandbox, "-C", "P", "commit", "v1.TodoCreated", #"{"id":"p2","text":"2"}"#)
    try expectSuccess(sandbox, "-C", "P", "push", "O")
    // M's toggles move two places on: L's e5 and M's e5 are the same toggle.
    try expectSuccess(sandbox, "-C", "M", "pull", "O")
    let before = try syncedEvents(sandbox, "L")
    let pulled = try sandbox.lstore("-C", "L", "pull", "M")
    XCTAssertEqual(pulled.status, 2, pulled.description)
    XCTAssertTrue(pulled.stderr.contains("the remote's e2 is not the e2"), pulled.stderr)
    XCTAssertEqual(try syncedEvents(sandbox, "L"), before)
    try expectSuccess(sandbox, "-C", "L", "pull", "--adopt-backend", "M")
    XCTAssertEqual(try syncedEvents(sandbox, "L"), try syncedEvents(sandbox, "M"))
    // The next pull compares only what could have changed since, and finds it unchanged.
    XCTAssertTrue(try expectSuccess(sandbox, "-C", "L", "pull", "M").stdout.hasPrefix("Already up to date"))
  }

  /// Events the remote's backend had confirmed at the last sync are not final: `pull
  /// --adopt-backend` there makes them pending, and a rebase then reorders them. The
  /// reflog's record of that rebase is what the check goes by.
  func testARewriteOfEventsTheRemoteHadConfirmedIsRefused() throws {
    let sandbox = try Sandbox()
    for (name, client) in [("H", "h"), ("H2", "h2"), ("M", "m"), ("L", "l")] {
      try sandbox.initStore(name, storeId: "x", clientId: client, sessionId: client + "s")
    }
    try expectSuccess(sandbox, "-C", "M", "commit", "v1.TodoCreated", #"{"id":"a","text":"A"}"#, "-m", "a")
    try expectSuccess(sandbox, "-C", "M", "commit", "v1.TodoCompleted", #"{"id":"a"}"#, "-m", "done")
    try expectSuccess(sandbox, "-C", "M", "commit", "v1.TodoUncompleted", #"{"id":"a"}"#, "-m", "undo")
    try expectSuccess(sandbox, "-C", "M", "commit", "v1.TodoCreated", #"{"id":"z","text":"Z"}"#, "-m", "z")
    try expectSuccess(sandbox, "-C", "M", "push", "H")
    try expectSuccess(sandbox, "-C", "L", "pull", "M")
    try expectSuccess(sandbox, "-C", "M", "pull", "--adopt-backend", "H2")
    // M swaps "done" and "undo"; e4 stays the same event.
    let ids = try expectSuccess(sandbox, "-C", "M", "log", "--json", "--reverse").lines.compactMap { line -> String? in
      let event = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      return (event?["commit"] as? [String: Any])?["id"] as? String
    }
    XCTAssertEqual(ids.count, 4)
    _ = try sandbox.write("plan", "pick \(ids[0])\npick \(ids[2])\npick \(ids[1])\npick \(ids[3])\n")
    try expectSuccess(sandbox, "-C", "M", "rebase", "--plan", sandbox.path("plan"), "e0")
    let before = try syncedEvents(sandbox, "L")
    for command in ["pull", "push"] {
      let refused = try sandbox.lstore("-C", "L", command, "M")
      XCTAssertEqual(refused.status, 2, "\(command): \(refused.description)")
      XCTAssertTrue(refused.stderr.contains("the remote's e2 is not the e2"), refused.stderr)
    }
    XCTAssertEqual(try syncedEvents(sandbox, "L"), before)
  }

  func testARemoteThatDroppedEventsThisStoreSyncedIsRefusedBothWays() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore("M", storeId: "x", clientId: "m", sessionId: "ms")
    try sandbox.initStore("L", storeId: "x", clientId: "l", sessionId: "ls")
    try expectSuccess(sandbox, "-C", "L", "commit", "v1.TodoCreated", #"{"id":"t1","text":"one"}"#)
    try expectSuccess(sandbox, "-C", "L", "commit", "v1.TodoCompleted", #"{"id":"t1"}"#)
    try expectSuccess(sandbox, "-C", "L", "push", "M")
    try expectSuccess(sandbox, "-C", "M", "reset", "--hard", "e1")
    for command in ["pull", "push"] {
      let refused = try sandbox.lstore("-C", "L", command, "M")
      XCTAssertEqual(refused.status, 2, "\(command): \(refused.description)")
      XCTAssertTrue(refused.stderr.contains("the remote no longer has e2, which this store synced with it"), refused.stderr)
    }
    try expectSuccess(sandbox, "-C", "L", "pull", "--adopt-backend", "M")
    XCTAssertTrue(try expectSuccess(sandbox, "-C", "L", "push", "M").stdout.contains("Pushed 1 event"))
    XCTAssertEqual(try syncedEvents(sandbox, "M"), try syncedEvents(sandbox, "L"))
    XCTAssertEqual(try syncedEvents(sandbox, "M").count, 2)
  }

  func testAPathRemoteIsItsMainBranchWhateverBranchItHasCheckedOut() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore("M", storeId: "x", clientId: "m", sessionId: "ms")
    try sandbox.initStore("L", storeId: "x", clientId: "l", sessionId: "ls")
    try expectSuccess(sandbox, "-C", "M", "commit", "v1.TodoCreated", #"{"id":"main1","text":"on main"}"#)
    try expectSuccess(sandbox, "-C", "M", "switch", "-c", "side")
    try expectSuccess(sandbox, "-C", "M", "commit", "v1.TodoCreated", #"{"id":"side1","text":"on side"}"#)
    try expectSuccess(sandbox, "-C", "L", "pull", "M")
    XCTAssertEqual(try syncedEvents(sandbox, "L").count, 1)
    try expectSuccess(sandbox, "-C", "L", "commit", "v1.TodoCompleted", #"{"id":"main1"}"#)
    try expectSuccess(sandbox, "-C", "L", "push", "M")
    XCTAssertEqual(try syncedEvents(sandbox, "M").count, 2, "side is untouched")
    try expectSuccess(sandbox, "-C", "M", "switch", "main")
    XCTAssertEqual(try syncedEvents(sandbox, "M"), try syncedEvents(sandbox, "L"))
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("M"), "SELECT id, completed FROM todos"), "main1|1\n")
  }

  func testAStoreThatOnlyTakesPushesIsSyncedWithAgainAndAgain() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore("hub", storeId: "x", clientId: "h", sessionId: "hs")
    try sandbox.initStore("L", storeId: "x", clientId: "l", sessionId: "ls")
    for id in ["t1", "t2", "t3"] {
      try expectSuccess(sandbox, "-C", "L", "commit", "v1.TodoCreated", "{\"id\":\"\(id)\",\"text\":\"x\"}")
      try expectSuccess(sandbox, "-C", "L", "push", "hub")
      XCTAssertTrue(try expectSuccess(sandbox, "-C", "L", "pull", "hub").stdout.hasPrefix("Already up to date"))
    }
    XCTAssertEqual(try syncedEvents(sandbox, "hub"), try syncedEvents(sandbox, "L"))
  }

  func testAStoreConfirmedByAnotherBackendIsToldSoByANewPathRemote() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore("O", storeId: "x", clientId: "o", sessionId: "os")
    try sandbox.initStore("M", storeId: "x", clientId: "m", sessionId: "ms")
    try sandbox.initStore("L", storeId: "x", clientId: "l", sessionId: "ls")
    try expectSuccess(sandbox, "-C", "L", "commit", "v1.TodoCreated", #"{"id":"t1","text":"one"}"#)
    try expectSuccess(sandbox, "-C", "L", "push", "O")
    let refused = try sandbox.lstore("-C", "L", "push", "M")
    XCTAssertEqual(refused.status, 2, refused.description)
    XCTAssertTrue(refused.stderr.contains("the remote has no e1, which this store has as confirmed: this store's events were confirmed by another backend"),
                  refused.stderr)
    XCTAssertEqual(try syncedEvents(sandbox, "M"), [])
  }

  /// As in git, ORIG_HEAD names the head before a pull; but a reset never drops confirmed
  /// events, so undoing the pull is refused, with advice, and nothing changes.
  func testResetToOrigHeadAfterAPullIsRefusedAsItWouldDropConfirmedEvents() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore("hub", storeId: "x", clientId: "h", sessionId: "hs")
    try sandbox.initStore("a", storeId: "x", clientId: "a", sessionId: "as")
    try sandbox.initStore("b", storeId: "x", clientId: "b", sessionId: "bs")
    try expectSuccess(sandbox, "-C", "a", "commit", "v1.TodoCreated", #"{"id":"a1","text":"from a"}"#)
    try expectSuccess(sandbox, "-C", "a", "push", "hub")
    try expectSuccess(sandbox, "-C", "b", "commit", "v1.TodoCreated", #"{"id":"b1","text":"from b"}"#, "-m", "b's")
    XCTAssertTrue(try expectSuccess(sandbox, "-C", "b", "pull", "hub").stdout.contains("rebased 1 pending event"))
    let after = try syncedEvents(sandbox, "b")
    let refused = try sandbox.lstore("-C", "b", "reset", "--hard", "ORIG_HEAD")
    XCTAssertEqual(refused.status, 2, refused.description)
    XCTAssertTrue(refused.stderr.contains("that the backend has confirmed"), refused.stderr)
    XCTAssertTrue(refused.stderr.contains("use 'lstore revert'"), refused.stderr)
    XCTAssertEqual(try syncedEvents(sandbox, "b"), after)
    XCTAssertEqual(try status(sandbox, "b")["backendHead"] as? String, "e1")
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

  func testAPulledEventThatFailsHereSaysWhyAndTheAdviceWorks() throws {
    let sandbox = try Sandbox()
    // B's schema completes a todo with an INSERT, which fails on a todo that exists.
    let original = try String(contentsOfFile: sandbox.path("examples/todomvc/schema.yaml"), encoding: .utf8)
    let broken = original.replacingOccurrences(of: "materializer: UPDATE todos SET completed = 1 WHERE id = $id",
                                               with: "materializer: INSERT INTO todos (id) VALUES ($id)")
    XCTAssertNotEqual(broken, original)
    try broken.write(toFile: sandbox.path("broken.yaml"), atomically: true, encoding: .utf8)
    try sandbox.initStore("A", storeId: "x", clientId: "a", sessionId: "as")
    XCTAssertEqual(try sandbox.lstore(["init", "--schema", sandbox.path("broken.yaml"), "--store-id", "x", "B"]).status, 0)
    try expectSuccess(sandbox, "-C", "A", "commit", "v1.TodoCreated", #"{"id":"t1","text":"one"}"#)
    try expectSuccess(sandbox, "-C", "A", "commit", "v1.TodoCompleted", #"{"id":"t1"}"#)
    let pulled = try sandbox.lstore("-C", "B", "pull", "A")
    XCTAssertEqual(pulled.status, 65, pulled.description)
    XCTAssertTrue(pulled.stderr.contains(#"pulled event e2 v1.TodoCompleted {"id":"t1"} fails in this store's materializer: UNIQUE constraint failed"#),
                  pulled.stderr)
    XCTAssertTrue(pulled.stderr.contains("nothing was changed"), pulled.stderr)
    XCTAssertEqual(try syncedEvents(sandbox, "B"), [])
    // The same failure after --adopt-backend, which took effect first, says so.
    let adopting = try sandbox.lstore("-C", "B", "pull", "--adopt-backend", "A")
    XCTAssertEqual(adopting.status, 65, adopting.description)
    XCTAssertTrue(adopting.stderr.contains("(the previous backend stays forgotten: every synced event is pending; once this is fixed, 'lstore pull A' goes on from there)"),
                  adopting.stderr)
    // The advice: the remote's schema, then pull again.
    try expectSuccess(sandbox, "-C", "B", "config", "schema", sandbox.path("examples/todomvc/schema.yaml"))
    try expectSuccess(sandbox, "-C", "B", "pull", "A")
    XCTAssertEqual(try syncedEvents(sandbox, "B"), try syncedEvents(sandbox, "A"))
  }

  func testImportingAnotherStoresConfirmedEventsSaysTheyArePendingHere() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore("a", storeId: "todos", clientId: "a", sessionId: "as")
    try sandbox.initStore("hub", storeId: "todos", clientId: "h", sessionId: "hs")
    try sandbox.initStore("same", storeId: "todos", clientId: "s", sessionId: "ss")
    try sandbox.initStore("other", storeId: "elsewhere", clientId: "o", sessionId: "os")
    try expectSuccess(sandbox, "-C", "a", "commit", "v1.TodoCreated", #"{"id":"t1","text":"x"}"#)
    try expectSuccess(sandbox, "-C", "a", "commit", "v1.TodoCreated", #"{"id":"t2","text":"y"}"#)
    try expectSuccess(sandbox, "-C", "a", "push", "hub")
    try expectSuccess(sandbox, "-C", "a", "export", "-o", sandbox.path("a.ndjson"))
    let imported = try expectSuccess(sandbox, "-C", "other", "import", sandbox.path("a.ndjson"))
    XCTAssertTrue(imported.stderr.contains("the export is of store 'todos', not this store's 'elsewhere': the 2 events its backend had confirmed are pending here"),
                  imported.stderr)
    XCTAssertEqual(try status(sandbox, "other")["pending"] as? Int, 2)
    // Into a store with the same id, they stay confirmed and nothing is said.
    let same = try expectSuccess(sandbox, "-C", "same", "import", sandbox.path("a.ndjson"))
    XCTAssertFalse(same.stderr.contains("pending here"), same.stderr)
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
    // A commit that ends with a client-only event is recorded there over its synced events.
    _ = try sandbox.write("mixed.ndjson", #"""
      {"name":"v1.TodoUncompleted","args":{"id":"t1"}}
      {"name":"uiStateSet","args":{"value":{"filter":"completed"}}}

      """#)
    try expectSuccess(sandbox, "-C", "a", "pull", "hub")
    try expectSuccess(sandbox, "-C", "a", "commit", "--file", sandbox.path("mixed.ndjson"), "-m", "mixed")
    try expectSuccess(sandbox, "-C", "a", "push", "hub")
    XCTAssertTrue(try expectSuccess(sandbox, "-C", "hub", "log", "--json").stdout.contains(#""message":"mixed""#))
    try expectSuccess(sandbox, "-C", "b", "pull", "hub")
    // Nothing is received twice.
    let again = try expectSuccess(sandbox, "-C", "b", "pull", "hub")
    XCTAssertFalse(again.stderr.contains("commit record"), again.stderr)
  }
}
