import Foundation
import XCTest

/// History that crosses the sync protocol: commit records seen by another clone, a pull
/// whose pending event fails becoming a stopped rebase with working ways out, and the
/// commands that make new history from old (cherry-pick, revert).
final class SyncedHistoryTests: XCTestCase {
  private var sandbox: Sandbox!

  override func setUpWithError() throws {
    sandbox = try Sandbox()
    // A rename event, so that two clones can write the same cell.
    var schema = try String(contentsOfFile: sandbox.path("examples/todomvc/schema.yaml"), encoding: .utf8)
    schema += """

      v1.TodoRenamed:
        args: { id: string, text: string }
        materializer: UPDATE todos SET text = $text WHERE id = $id

    """
    try sandbox.write("schema.yaml", schema)
  }

  private func initStore(_ directory: String, client: String) throws {
    let result = try sandbox.lstore(["init", "--schema", sandbox.path("schema.yaml"), "--store-id", "todos",
                                     "--client-id", client, "--session-id", "s-\(client)", directory])
    XCTAssertEqual(result.status, 0, result.description)
  }

  @discardableResult
  private func run(_ arguments: String..., status: Int32 = 0) throws -> CommandResult {
    let result = try sandbox.lstore(Array(arguments))
    XCTAssertEqual(result.status, status, "lstore \(arguments.joined(separator: " ")): \(result)")
    return result
  }

  private func commits(_ store: String) throws -> [String] {
    try run("-C", store, "log", "--oneline").lines.map { line in
      let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
      return "\(parts[0].prefix(8)) \(parts[1]) \(parts[2])"
    }
  }

  func testASecondCloneSeesTheSameCommitsThroughServe() throws {
    let server = try SyncEndToEndTests.Server(sandbox: sandbox)
    defer { server.kill() }
    try initStore("a", client: "A")
    try initStore("b", client: "B")
    try run("-C", "a", "commit", "v1.TodoCreated", #"{"id":"t1","text":"milk"}"#, "-m", "First todo")
    try run("-C", "a", "commit", "v1.TodoCompleted", #"{"id":"t1"}"#, "-m", "Done\n\nwith a body")
    let pushed = try run("-C", "a", "push", server.url)
    XCTAssertTrue(pushed.stderr.contains("Published 2 commit records"), pushed.stderr)
    let pulled = try run("-C", "b", "pull", server.httpURL)
    XCTAssertTrue(pulled.stderr.contains("Received 2 commit records"), pulled.stderr)
    XCTAssertEqual(try commits("b"), try commits("a"), "the same ids, ranges and messages")
    XCTAssertEqual(try run("-C", "b", "log", "-n", "1").stdout, try run("-C", "a", "log", "-n", "1").stdout,
                   "authors, dates and message bodies too")
    // B's commit goes back to A the same way.
    try run("-C", "b", "commit", "v1.TodoRenamed", #"{"id":"t1","text":"oat milk"}"#, "-m", "From B")
    try run("-C", "b", "push", server.url)
    try run("-C", "a", "pull", server.url)
    let aCommits = try commits("a")
    XCTAssertEqual(aCommits.first?.hasSuffix("e3 From B"), true, aCommits.description)
    // The app's own store holds only app events: lstore's records are on a companion id.
    let appEvents = try sandbox.shell("curl -s \(server.httpURL)/api/v1/stores/todos/events")
    XCTAssertFalse(appEvents.stdout.contains("lstore."), appEvents.stdout)
    XCTAssertTrue(appEvents.stdout.contains("v1.TodoRenamed"), appEvents.stdout)
  }

  func testAPullWhosePendingEventFailsStopsAsARebaseWithWaysOut() throws {
    try initStore("backend", client: "S")
    try initStore("a", client: "A")
    try initStore("b", client: "B")
    try run("-C", "a", "commit", "v1.TodoCreated", #"{"id":"same","text":"from a"}"#, "-m", "A's todo")
    try run("-C", "a", "push", "./backend")
    try run("-C", "b", "commit", "v1.TodoCreated", #"{"id":"other","text":"ok"}"#, "-m", "B's fine todo")
    try run("-C", "b", "commit", "v1.TodoCreated", #"{"id":"same","text":"from b"}"#, "-m", "B's clashing todo")
    let beforeEvents = try sandbox.sqlite("b/.lstore/branches/main/eventlog@4.db", "SELECT * FROM eventlog ORDER BY 1, 2")
    let beforeState = try sandbox.sqlite(try sandbox.statePath("b"), "SELECT * FROM todos ORDER BY id")

    let stopped = try run("-C", "b", "pull", "./backend", status: 4)
    XCTAssertTrue(stopped.stderr.contains("pull stopped replaying pending events"), stopped.stderr)
    XCTAssertTrue(stopped.stderr.contains("'lstore rebase --continue'"), stopped.stderr)
    let status = try run("-C", "b", "status")
    XCTAssertTrue(status.stdout.contains("A pull stopped while rebasing pending events"), status.stdout)
    XCTAssertEqual(try run("-C", "b", "push", "./backend", status: 2).stderr.contains("rebase"), true,
                   "nothing syncs while the rebase is stopped")

    // --abort: exactly as before the pull.
    try run("-C", "b", "rebase", "--abort")
    XCTAssertEqual(try sandbox.sqlite("b/.lstore/branches/main/eventlog@4.db", "SELECT * FROM eventlog ORDER BY 1, 2"), beforeEvents)
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("b"), "SELECT * FROM todos ORDER BY id"), beforeState)
    XCTAssertEqual(try run("-C", "b", "status", "--json").stdout.contains(#""backendHead":"e0""#), true)

    // Again, and --skip: the pulled event and B's first commit stay, the clash is dropped.
    try run("-C", "b", "pull", "./backend", status: 4)
    try run("-C", "b", "rebase", "--skip")
    XCTAssertEqual(try commits("b").map { String($0.dropFirst(9)) }, ["e2 B's fine todo", "e1 A's todo"])
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("b"), "SELECT id, text FROM todos ORDER BY id"),
                   "other|ok\nsame|from a\n")
    try run("-C", "b", "fsck", "--replay")
    // The dropped commit is in the reflog; the store syncs again.
    XCTAssertTrue(try run("-C", "b", "reflog").stdout.contains("pull (abort)"))
    try run("-C", "b", "push", "./backend")
  }

  func testCherryPickTakesAnyRevision() throws {
    try initStore("s", client: "A")
    try run("-C", "s", "commit", "v1.TodoCreated", #"{"id":"t1","text":"milk"}"#, "-m", "t1")
    try run("-C", "s", "switch", "-c", "side")
    try run("-C", "s", "commit", "v1.TodoCreated", #"{"id":"t2","text":"eggs"}"#, "-m", "Side two")
    try run("-C", "s", "commit", "v1.TodoCreated", #"{"id":"t3","text":"jam"}"#, "-m", "Side three")
    try run("-C", "s", "switch", "main")
    // A branch is its head's commit, branch~1 the one before.
    XCTAssertTrue(try run("-C", "s", "cherry-pick", "side").stdout.hasSuffix("e2 Side three\n"))
    XCTAssertTrue(try run("-C", "s", "cherry-pick", "side~1").stdout.hasSuffix("e3 Side two\n"))
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("s"), "SELECT id FROM todos ORDER BY id"), "t1\nt2\nt3\n")
    // A past head is refused as for any command that needs an event or commit; nothing changes.
    let refused = try run("-C", "s", "cherry-pick", "HEAD@{1}", status: 64)
    XCTAssertTrue(refused.stderr.contains("is a past head from the reflog"), refused.stderr)
    XCTAssertEqual(try run("-C", "s", "log", "--oneline").lines.count, 3)
  }

  func testCherryPickAndRevert() throws {
    try initStore("s", client: "A")
    try run("-C", "s", "commit", "v1.TodoCreated", #"{"id":"t1","text":"milk"}"#, "-m", "t1")
    try run("-C", "s", "switch", "-c", "side")
    try run("-C", "s", "commit", "v1.TodoCreated", #"{"id":"t2","text":"eggs"}"#, "-m", "Side todo")
    let sideCommit = String(try run("-C", "s", "log", "--oneline").lines[0].prefix(16))
    try run("-C", "s", "switch", "main")
    try run("-C", "s", "commit", "v1.TodoCompleted", #"{"id":"t1"}"#, "-m", "Complete t1")
    let picked = try run("-C", "s", "cherry-pick", String(sideCommit.prefix(8)))
    XCTAssertTrue(picked.stdout.hasSuffix("e3 Side todo\n"), picked.stdout)
    XCTAssertFalse(picked.stdout.contains(sideCommit.prefix(8)), "a cherry-pick is a new commit")
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("s"), "SELECT id, completed FROM todos ORDER BY id"), "t1|1\nt2|0\n")

    // Unpushed: revert drops the commit and replays what follows.
    try run("-C", "s", "revert", "HEAD~1")
    XCTAssertEqual(try commits("s").map { String($0.dropFirst(9)) }, ["e2 Side todo", "e1 t1"])
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("s"), "SELECT id, completed FROM todos ORDER BY id"), "t1|0\nt2|0\n")

    // Pushed: revert commits the inverse events, found in the schema.
    try initStore("backend", client: "S")
    try run("-C", "s", "commit", "v1.TodoCompleted", #"{"id":"t2"}"#, "-m", "Complete t2")
    try run("-C", "s", "commit", "v1.TodoRenamed", #"{"id":"t1","text":"oat milk"}"#, "-m", "Rename t1")
    try run("-C", "s", "push", "./backend")
    try run("-C", "s", "revert", "HEAD~1")
    try run("-C", "s", "revert", "HEAD~1")
    XCTAssertEqual(try run("-C", "s", "log", "--oneline", "--events", "-n", "2").lines, [
      #"e6 v1.TodoRenamed {"id":"t1","text":"milk"}"#, #"e5 v1.TodoUncompleted {"id":"t2"}"#,
    ])
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("s"), "SELECT id, text, completed FROM todos ORDER BY id"),
                   "t1|milk|0\nt2|eggs|0\n")
    // No event deletes a todo: a pushed create cannot be reverted, and nothing changes.
    let refused = try run("-C", "s", "revert", "e2", status: 2)
    XCTAssertTrue(refused.stderr.contains(#"todos ["t2"] (it inserted the row; no event deletes it)"#), refused.stderr)
    XCTAssertEqual(try run("-C", "s", "log", "--oneline").lines.count, 6)
    // Nor can a reset remove what the backend confirmed.
    let reset = try run("-C", "s", "reset", "--hard", "e1", status: 2)
    XCTAssertTrue(reset.stderr.contains("the backend has confirmed"), reset.stderr)
  }

  private func commitFile(_ name: String, _ lines: [String]) throws -> String {
    try sandbox.write(name, lines.joined(separator: "\n") + "\n")
    return sandbox.path(name)
  }

  /// A pending commit that begins with a client-only event: the pull keeps that event where
  /// it is (LiveStore's rule) and moves the rest, which stays one commit (it became one
  /// commit per event); `--skip` drops the whole moved part and says how many events.
  func testAPullKeepsAPendingCommitThatStartsWithAClientOnlyEventWhole() throws {
    try initStore("backend", client: "S")
    try initStore("a", client: "A")
    try initStore("b", client: "B")
    let events = try commitFile("b.ndjson", [
      #"{"name":"uiStateSet","args":{"value":{"filter":"active"}}}"#,
      #"{"name":"v1.TodoCreated","args":{"id":"q","text":"from b"}}"#,
      #"{"name":"v1.TodoCreated","args":{"id":"y","text":"from b"}}"#,
    ])
    try run("-C", "b", "commit", "-m", "B's three", "--file", events)
    try run("-C", "a", "commit", "v1.TodoCreated", #"{"id":"z","text":"from a"}"#, "-m", "A's todo")
    try run("-C", "a", "push", "./backend")
    try run("-C", "b", "pull", "./backend")
    XCTAssertEqual(try commits("b").map { String($0.dropFirst(9)) }, ["e2..e3 B's three", "e1 A's todo", "e0+1 B's three"])
    // The reflog counts the two moved events as removed, not the one left in place, and
    // names no commit: B's three is in the history (its moved part under a new id).
    let reflog = try run("-C", "b", "reflog").stdout
    XCTAssertTrue(reflog.contains("e3 HEAD@{2}: pull: pull (2 events removed)\n"), reflog)
    try run("-C", "b", "fsck", "--replay")

    // The same, with the moved part failing: --skip drops both of its events.
    try initStore("c", client: "C")
    let clashing = try commitFile("c.ndjson", [
      #"{"name":"uiStateSet","args":{"value":{"filter":"active"}}}"#,
      #"{"name":"v1.TodoCreated","args":{"id":"other","text":"from c"}}"#,
      #"{"name":"v1.TodoCreated","args":{"id":"z","text":"from c"}}"#,
    ])
    try run("-C", "c", "commit", "-m", "C's three", "--file", clashing)
    let stopped = try run("-C", "c", "pull", "./backend", status: 4)
    // The stop names the moved part by the id it got: the reflog keeps it under that id.
    let stopId = try XCTUnwrap(stopped.stderr.range(of: #"pick [0-9a-f]{16}"#, options: .regularExpression)
      .map { String(stopped.stderr[$0].dropFirst(5).prefix(8)) }, stopped.stderr)
    let skipped = try run("-C", "c", "rebase", "--skip")
    XCTAssertTrue(skipped.stdout.contains("2 events dropped"), skipped.stdout)
    XCTAssertTrue(try run("-C", "c", "reflog").stdout.contains("\(stopId) C's three"))
    // cherry-pick finds it (and stops on the same clash: z is A's now), not "unknown revision".
    let picked = try run("-C", "c", "cherry-pick", stopId, status: 65)
    XCTAssertTrue(picked.stderr.contains("UNIQUE constraint failed: todos.id"), picked.stderr)
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("c"), "SELECT id, text FROM todos ORDER BY id"), "z|from a\n",
                   "no event of the dropped commit stays")
    try run("-C", "c", "fsck", "--replay")
  }

  /// A commit a rewrite dropped is in the reflog only; cherry-pick finds it by its id there
  /// (the docs point users to it after `rebase --skip`, where a reset would have to remove
  /// confirmed events).
  func testCherryPickBringsBackACommitOnlyTheReflogHas() throws {
    try initStore("backend", client: "S")
    try initStore("a", client: "A")
    try initStore("b", client: "B")
    try run("-C", "a", "commit", "v1.TodoCreated", #"{"id":"same","text":"from a"}"#, "-m", "A's todo")
    try run("-C", "a", "push", "./backend")
    let made = try run("-C", "b", "commit", "--json", "v1.TodoRenamed", #"{"id":"same","text":"renamed by b"}"#, "-m", "B's rename")
    let id = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(made.stdout.utf8)) as? [String: Any])?["id"] as? String)
    // The clash: B creates the todo A created.
    try run("-C", "b", "commit", "v1.TodoCreated", #"{"id":"same","text":"from b"}"#, "-m", "B's clash")
    try run("-C", "b", "pull", "./backend", status: 4)
    try run("-C", "b", "rebase", "--skip")
    XCTAssertEqual(try commits("b").map { String($0.dropFirst(9)) }, ["e2 B's rename", "e1 A's todo"])
    // A reset to the head before the pull cannot bring the dropped commit back here: it would
    // remove A's confirmed todo.
    XCTAssertTrue(try run("-C", "b", "reflog").lines[3].hasSuffix("HEAD@{3}: commit: B's clash"))
    try run("-C", "b", "reset", "--hard", "HEAD@{3}", status: 2)
    // The pull's entry names the commits it took off (to replay them), the dropped one too.
    let pullEntry = try run("-C", "b", "reflog").lines[2]
    let clashID = try XCTUnwrap(pullEntry.range(of: #"[0-9a-f]{8}(?= B's clash)"#, options: .regularExpression).map { String(pullEntry[$0]) },
                                pullEntry)
    // Cherry-picking it replays it: it fails again, as it would anywhere (the todo exists)...
    let failed = try run("-C", "b", "cherry-pick", String(clashID.prefix(8)), status: 65)
    XCTAssertTrue(failed.stderr.contains("UNIQUE constraint failed"), failed.stderr)
    // ...and one that applies comes back whole, as a new commit after the head.
    try run("-C", "b", "reset", "--hard", "HEAD~1")
    XCTAssertEqual(try commits("b").map { String($0.dropFirst(9)) }, ["e1 A's todo"])
    let picked = try run("-C", "b", "cherry-pick", String(id.prefix(8)))
    XCTAssertTrue(picked.stdout.hasSuffix("e2 B's rename\n"), picked.stdout)
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("b"), "SELECT id, text FROM todos ORDER BY id"), "same|renamed by b\n")
    try run("-C", "b", "fsck", "--replay")
  }

  /// A LiveStore 0.3 backend has no id: one that was reset or replaced is found by the event
  /// it confirmed last. Pull and push are refused (nothing changes), their advice works, and
  /// the commit records go to the new backend from the first one again.
  func testABackendThatLostWhatItConfirmedIsRefusedAndCanBeAdopted() throws {
    let first = try SyncEndToEndTests.Server(sandbox: sandbox, data: "backend1")
    try initStore("a", client: "A")
    try initStore("b", client: "B")
    try run("-C", "a", "commit", "v1.TodoCreated", #"{"id":"t1","text":"milk"}"#, "-m", "First")
    try run("-C", "a", "push", first.url)
    first.kill()
    let second = try SyncEndToEndTests.Server(sandbox: sandbox, data: "backend2")
    defer { second.kill() }
    // With nothing to push, a push still checks (it said "Everything up to date").
    let idle = try run("-C", "a", "push", second.url, status: 2)
    XCTAssertTrue(idle.stderr.contains("the backend no longer has e1"), idle.stderr)
    try run("-C", "a", "commit", "v1.TodoCreated", #"{"id":"t2","text":"eggs"}"#, "-m", "Second")
    let before = try sandbox.sqlite("a/.lstore/branches/main/eventlog@4.db", "SELECT * FROM eventlog ORDER BY 1, 2")
    let pulled = try run("-C", "a", "pull", second.url, status: 2)
    XCTAssertTrue(pulled.stderr.contains("the backend no longer has e1, which it confirmed to this store"), pulled.stderr)
    XCTAssertTrue(pulled.stderr.contains("'lstore pull --adopt-backend'"), pulled.stderr)
    let pushed = try run("-C", "a", "push", second.url, status: 2)
    XCTAssertTrue(pushed.stderr.contains("'lstore pull --adopt-backend'"), pushed.stderr)
    XCTAssertEqual(try sandbox.sqlite("a/.lstore/branches/main/eventlog@4.db", "SELECT * FROM eventlog ORDER BY 1, 2"), before)

    // The advice, followed: both events and both messages reach the new backend.
    try run("-C", "a", "pull", "--adopt-backend", second.url)
    let republished = try run("-C", "a", "push", second.url)
    XCTAssertTrue(republished.stderr.contains("Published 2 commit records"), republished.stderr)
    try run("-C", "b", "pull", second.url)
    XCTAssertEqual(try commits("b"), try commits("a"))

    // A backend replaced by one with another history at the confirmed event is refused too.
    let third = try SyncEndToEndTests.Server(sandbox: sandbox, data: "backend3")
    defer { third.kill() }
    try initStore("c", client: "C")
    try run("-C", "c", "commit", "v1.TodoCreated", #"{"id":"other","text":"jam"}"#, "-m", "C's")
    try run("-C", "c", "commit", "v1.TodoCreated", #"{"id":"more","text":"tea"}"#, "-m", "C's more")
    try run("-C", "c", "push", third.url)
    let differs = try run("-C", "a", "pull", third.url, status: 2)
    XCTAssertTrue(differs.stderr.contains("the backend's e2 is not the e2 it confirmed to this store"), differs.stderr)
  }

  /// The app's store deleted on the server while its commit-records store stays: another
  /// clone's events take the old numbers, and the old records (naming this store's events at
  /// those numbers) must neither stop the adopted store (a UNIQUE error on every sync) nor
  /// give a fresh clone's events the wrong messages.
  func testOldCommitRecordsOnAReusedBackendNameNoOtherEvents() throws {
    var server = try SyncEndToEndTests.Server(sandbox: sandbox, data: "backend")
    defer { server.kill() }
    try initStore("a", client: "A")
    try initStore("b", client: "B")
    try initStore("fresh", client: "F")
    try run("-C", "a", "commit", "v1.TodoCreated", #"{"id":"a1","text":"A"}"#, "-m", "a one")
    try run("-C", "a", "commit", "v1.TodoCreated", #"{"id":"a2","text":"A"}"#, "-m", "a two")
    try run("-C", "a", "push", server.url)
    server.kill()
    // The store "todos" goes; its records store (lstorerec…) stays.
    let dropped = try sandbox.shell("sqlite3 " + sandbox.path("backend/backend.db")
      + #" "DROP TABLE lstore_events_746f646f73; DELETE FROM lstore_sync_heads WHERE storeId = 'todos';""#)
    XCTAssertEqual(dropped.status, 0, dropped.description)
    server = try SyncEndToEndTests.Server(sandbox: sandbox, data: "backend")
    try run("-C", "b", "commit", "v1.TodoCreated", #"{"id":"b1","text":"B"}"#, "-m", "b one")
    try run("-C", "b", "push", server.url)
    try run("-C", "a", "pull", server.url, status: 2)
    try run("-C", "a", "pull", "--adopt-backend", server.url)
    try run("-C", "a", "push", server.url)
    try run("-C", "a", "pull", server.url)
    try run("-C", "fresh", "pull", server.url)
    XCTAssertEqual(try commits("fresh").map { String($0.dropFirst(9)) }, ["e3 a two", "e2 a one", "e1 b one"])
    XCTAssertEqual(try commits("a"), try commits("fresh"))
  }
}
