import Foundation
import XCTest

/// Branches that travel over the sync protocol through a real `lstore serve`: each branch
/// other than main on a remote store of its own, listed for other clones, fetched by
/// `switch`, and never written into main's store.
final class BranchSyncTests: XCTestCase {
  private var sandbox: Sandbox!
  private var server: SyncEndToEndTests.Server!

  override func setUpWithError() throws {
    sandbox = try Sandbox()
    server = try SyncEndToEndTests.Server(sandbox: sandbox)
  }

  override func tearDown() {
    server?.kill()
  }

  /// A clone with `origin` pointing at the server.
  private func clone(_ directory: String, client: String) throws -> VCStore {
    let store = try VCStore(sandbox: sandbox, directory: directory, clientId: client)
    try store.ok("remote", "add", "origin", server.url)
    return store
  }

  /// The app's own store on the backend, as a LiveStore app would read it.
  private func appStoreEvents() throws -> [String] {
    let result = try sandbox.shell("curl -sf \(server.httpURL)/api/v1/stores/todos/events")
    XCTAssertEqual(result.status, 0, result.description)
    let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    let batch = object?["batch"] as? [[String: Any]] ?? []
    return batch.map { item in "\((item["eventEncoded"] as? [String: Any])?["name"] ?? "")" }
  }

  func testABranchPushedByOneCloneIsFetchedAndExtendedByAnother() throws {
    let a = try clone("a", client: "A")
    let b = try clone("b", client: "B")
    try a.create("t1", "First")
    try a.create("t2", "Second")
    try a.ok("push")
    let mainTodos = try a.todos()
    try a.ok("switch", "-c", "feat")
    try a.create("f1", "Feature one")
    try a.event("v1.TodoRenamed", #"{"id":"t1","text":"renamed on feat"}"#, "Rename on feat")
    let pushed = try a.ok("push")
    XCTAssertTrue(pushed.stdout.contains("Pushed 4 events"), "the whole history of the branch: \(pushed)")
    XCTAssertEqual(try appStoreEvents(), ["v1.TodoCreated", "v1.TodoCreated"], "main's store gets nothing of the branch")
    XCTAssertEqual(try a.ok("branch", "-r").lines, ["  origin/feat\te4", "  origin/main\te2"])
    XCTAssertEqual(try a.ok("log", "--oneline", "@{u}..").lines, [], "@{u} is what the branch's own store holds")

    // Another clone learns of the branch on its next pull, and fetches it by switching.
    try b.ok("pull")
    XCTAssertEqual(try b.ok("branch", "-r", "--json").lines.sorted(), [
      #"{"remote":"origin","name":"feat","head":null}"#, #"{"remote":"origin","name":"main","head":"e2"}"#,
    ])
    let switched = try b.ok("switch", "feat")
    XCTAssertTrue(switched.stderr.contains("Fetched branch 'feat' from origin (4 events, head e4)"), switched.stderr)
    XCTAssertEqual(try b.history(), try a.history(), "the same commits and messages")
    XCTAssertEqual(try b.commitIds(), try a.commitIds(), "with the same ids")
    XCTAssertEqual(try b.todos("feat"), try a.todos("feat"))
    XCTAssertEqual(try b.ok("status", "--json").stdout.contains(#""upstream":{"branch":"feat""#), true)

    // B extends the branch; A pulls it on its branch, and main stays as it was everywhere.
    try b.create("f2", "From B on feat")
    XCTAssertTrue(try b.ok("push").stdout.contains("Pushed 1 event"))
    let pulled = try a.ok("pull")
    XCTAssertTrue(pulled.stdout.contains("Pulled 1 event"), pulled.stdout)
    XCTAssertTrue(pulled.stderr.contains("Received 1 commit record"), pulled.stderr)
    XCTAssertEqual(try a.history(), try b.history())
    XCTAssertEqual(try appStoreEvents().count, 2)
    try a.ok("switch", "main")
    XCTAssertEqual(try a.ok("pull").stdout.contains("Already up to date"), true)
    XCTAssertEqual(try a.todos(), mainTodos)
    try a.assertSound("a")
    try b.assertSound("b")
  }

  /// `rebase --abort` after a pull stopped on a pending event puts the store back exactly as
  /// before the pull: the events, the backend head, and the sync cursors the pull and its
  /// commit-record exchange moved (how far the remote store holds the branch, how far
  /// records went each way). On a branch and on main.
  func testAbortOfAStoppedPullRestoresTheSyncCursors() throws {
    let a = try clone("a", client: "A")
    let b = try clone("b", client: "B")
    try a.create("t1", "one")
    try a.ok("push")
    try a.ok("switch", "-c", "feat")
    try a.create("t3", "A3")
    try a.ok("push")
    try b.ok("pull")
    try b.ok("switch", "feat")
    for branch in ["feat", "main"] {
      if branch == "main" {
        try a.ok("switch", "main")
        try b.ok("switch", "main")
      }
      // The same todo id created on both sides: B's pending one fails on top of A's.
      try b.create("t4", "B4 on \(branch)")
      try a.create("t4", "A4 on \(branch)")
      try a.ok("push")
      let cursors = "SELECT key || '=' || value FROM lstore_meta WHERE key LIKE 'upstream.%' OR key LIKE 'records.%' OR key = 'backendHead' ORDER BY key"
      let before = try b.sqlite(b.eventlogPath(branch), cursors)
      let exportBefore = try b.ok("export").stdout
      let statusBefore = try b.ok("status").stdout
      let stopped = try b.run("pull")
      XCTAssertEqual(stopped.status, 4, branch)
      // The pulled events are kept and the line says so; what stopped is the replay.
      XCTAssertTrue(stopped.stdout.contains("Pulled 1 event") && stopped.stdout.contains("; replaying pending events stopped at step 1"),
                    stopped.stdout)
      let status = try XCTUnwrap(try b.statusJSON())
      let rebase = try XCTUnwrap(status["rebase"] as? [String: Any])
      XCTAssertEqual(rebase["kind"] as? String, "pull")
      XCTAssertEqual(rebase["ontoHead"] as? String, status["backendHead"] as? String, "\(branch): onto the pulled head")
      XCTAssertNotEqual(try b.sqlite(b.eventlogPath(branch), cursors), before, "\(branch): the pull moved them")
      try b.ok("rebase", "--abort")
      XCTAssertEqual(try b.sqlite(b.eventlogPath(branch), cursors), before, branch)
      XCTAssertEqual(try b.ok("export").stdout.replacingOccurrences(of: #""exportedAt":"[^"]*""#, with: "", options: .regularExpression),
                     exportBefore.replacingOccurrences(of: #""exportedAt":"[^"]*""#, with: "", options: .regularExpression), branch)
      XCTAssertEqual(try b.ok("status").stdout, statusBefore, branch)
      try b.assertSound(branch)
    }
  }

  /// The backend replaced under a branch that was pushed: the branch's pull and push find
  /// its remote store no longer holds it (also with nothing pending), and the advice they
  /// print, followed on the branch itself, sends the branch to the new backend whole.
  func testABranchWhoseBackendWasReplacedIsRefusedAndTheAdviceWorks() throws {
    let a = try clone("a", client: "A")
    try a.create("t1", "First")
    try a.ok("push")
    try a.ok("switch", "-c", "feat")
    try a.create("f1", "Feature one")
    try a.ok("push")
    let history = try a.history()

    let port = server.port
    server.kill(SIGKILL)
    server = try SyncEndToEndTests.Server(sandbox: sandbox, data: "replaced", port: port)
    try a.ok("switch", "main")
    try a.ok("pull", "--adopt-backend")
    try a.ok("push")
    try a.ok("switch", "feat")

    for command in [["pull"], ["push"]] {
      let refused = try a.run(command)
      XCTAssertEqual(refused.status, 2, "\(command): \(refused)")
      XCTAssertTrue(refused.stderr.contains("it was reset or replaced"), refused.stderr)
      XCTAssertTrue(refused.stderr.contains("'lstore pull --adopt-backend'"), refused.stderr)
    }
    try a.create("f2", "Feature two")
    XCTAssertEqual(try a.run("push").status, 2)
    try a.ok("pull", "--adopt-backend")
    let pushed = try a.ok("push")
    XCTAssertTrue(pushed.stdout.contains("Pushed 3 events"), "the branch's whole history: \(pushed)")
    let after = try a.history()
    XCTAssertEqual(Array(after.prefix(history.count)), history, "no event or message changed")
    XCTAssertEqual(after.count, history.count + 1, "\(after)")

    // Another clone fetches the branch from the new backend.
    let b = try clone("b", client: "B")
    try b.ok("pull")
    try b.ok("switch", "feat")
    XCTAssertEqual(try b.history(), try a.history())
  }

  func testPushOriginBranchPublishesAnotherBranchWithoutSwitching() throws {
    let a = try clone("a", client: "A")
    try a.create("t1", "First")
    try a.ok("branch", "feat")
    try a.ok("switch", "feat")
    try a.create("f1", "Feature one")
    try a.ok("switch", "main")
    let pushed = try a.ok("push", "origin", "feat")
    XCTAssertTrue(pushed.stdout.contains("Pushed 2 events"), pushed.stdout)
    XCTAssertEqual(try a.ok("status").stdout.contains("On branch main"), true, "still on main")
    XCTAssertEqual(try appStoreEvents(), [], "main was not pushed")
    XCTAssertEqual(try a.ok("branch", "-r").lines, ["  origin/feat\te2"])
    let unknown = try a.run("push", "origin", "nope")
    XCTAssertEqual(unknown.status, 66, unknown.description)
    XCTAssertTrue(unknown.stderr.contains("no branch 'nope'"), unknown.stderr)
  }

  func testTwoBranchesWithOneNameAreRefusedAndTheAdviceWorks() throws {
    let a = try clone("a", client: "A")
    let b = try clone("b", client: "B")
    try a.create("t1", "First")
    try a.create("t2", "Second")
    try a.ok("push")
    // A's feat parts from main at e1; B's starts at main's head (e2, confirmed).
    try a.ok("branch", "feat", "e1")
    try a.ok("switch", "feat")
    try a.create("f1", "A's feature")
    try a.ok("push")
    try b.ok("pull")
    try b.ok("switch", "-c", "feat")
    try b.create("g1", "B's own feat")
    let before = try b.dump("feat")
    let advice = "rename this one ('lstore branch -m <new-name>'), then 'lstore switch <name>' fetches the remote one"
    // Push and pull both say what is wrong (push used to say "pull first", which refuses).
    for command in ["push", "pull"] {
      let refused = try b.run(command)
      XCTAssertEqual(refused.status, 2, "\(command): \(refused)")
      XCTAssertTrue(refused.stderr.contains("the remote branch's e2 differs from this branch's e2, which is confirmed"), refused.stderr)
      XCTAssertTrue(refused.stderr.contains(advice), refused.stderr)
    }
    XCTAssertEqual(try b.dump("feat"), before, "nothing changed")
    // The advice, followed.
    try b.ok("branch", "-m", "mine")
    try b.ok("switch", "feat")
    XCTAssertEqual(try b.history(), try a.history())
    try b.ok("switch", "mine")
    XCTAssertEqual(try b.history().last?.hasSuffix("B's own feat"), true)
    XCTAssertTrue(try b.ok("push").stdout.contains("Pushed 3 events"), "mine is a branch of its own on the remote")
    XCTAssertEqual(try b.ok("branch", "-r").lines, ["  origin/feat\te2", "  origin/main\te2", "  origin/mine\te3"])
    try b.assertSound()
  }

  func testSwitchToAnUnknownBranchSaysWhereBranchesAreListed() throws {
    let a = try clone("a", client: "A")
    let result = try a.run("switch", "nope")
    XCTAssertEqual(result.status, 66)
    XCTAssertTrue(result.stderr.contains("'lstore branch -r' lists the remote's branches after a push or pull"), result.stderr)
  }

  func testLogGraphAllDrawsEveryBranchFromWhereItPartsWithLocalAndRemoteHeads() throws {
    let a = try clone("a", client: "A")
    try a.create("t1", "First")
    try a.create("t2", "Second")
    try a.ok("push")
    try a.ok("branch", "feat", "e1")
    try a.ok("switch", "feat")
    try a.create("f1", "f1")
    try a.ok("push")
    try a.ok("switch", "-c", "sub")
    try a.create("s1", "s1")
    try a.ok("switch", "main")
    try a.create("c3", "c3")
    try a.ok("branch", "same")
    func drawn(_ arguments: String...) throws -> [String] {
      try a.ok(["log"] + arguments).lines.map {
        $0.replacingOccurrences(of: "[0-9a-f]{16}", with: "ID", options: .regularExpression)
      }
    }
    XCTAssertEqual(try drawn("--graph", "--all"), [
      "* ID e3 (HEAD -> main, same) c3",
      "* ID e2 (origin/main) Second",
      "| * ID e3 (sub) s1",
      "| * ID e2 (feat, origin/feat) f1",
      "|/",
      "* ID e1 First",
    ])
    XCTAssertEqual(try drawn("--all", "-n", "3"), ["ID e3 (HEAD -> main, same) c3", "ID e2 (origin/main) Second", "ID e3 (sub) s1"])
    XCTAssertEqual(try drawn("--graph"), ["* ID e3 (HEAD -> main) c3", "* ID e2 (origin/main) Second", "* ID e1 First"])
    XCTAssertEqual(try a.run("log", "--graph", "--json").status, 64, "--graph draws lines, not JSON")
  }

  func testPushDeleteTakesABranchOffTheRemotesList() throws {
    let a = try clone("a", client: "A")
    let b = try clone("b", client: "B")
    try a.create("t1", "First")
    try a.ok("push")
    try a.ok("switch", "-c", "feat")
    try a.create("f1", "f1")
    try a.ok("push")
    try b.ok("pull")
    XCTAssertEqual(try b.ok("branch", "-r").lines, ["  origin/feat\t(head not seen)", "  origin/main\te1"])
    let deleted = try a.ok("push", "origin", "--delete", "feat")
    XCTAssertEqual(deleted.stdout, "Deleted branch 'feat' from the remote's list\n")
    XCTAssertEqual(try a.ok("branch", "-r").lines, ["  origin/main\te1"])
    XCTAssertEqual(try a.ok("branch").lines.count, 2, "the local branch stays")
    // A pull made on the deleted branch does not list it again.
    try a.ok("pull")
    XCTAssertEqual(try a.ok("branch", "-r").lines, ["  origin/main\te1"])
    try b.ok("pull")
    XCTAssertEqual(try b.ok("branch", "-r").lines, ["  origin/main\te1"])
    XCTAssertEqual(try b.run("switch", "feat").status, 66)
    let again = try a.run("push", "origin", "--delete", "feat")
    XCTAssertEqual(again.status, 66, again.description)
    XCTAssertTrue(again.stderr.contains("no branch 'feat' on the remote"), again.stderr)
    XCTAssertEqual(try a.run("push", "--delete").status, 64)
    // Pushing the branch lists it again.
    try a.ok("push")
    XCTAssertEqual(try a.ok("branch", "-r").lines, ["  origin/feat\te2", "  origin/main\te1"])
  }
}
