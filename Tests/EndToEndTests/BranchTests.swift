import Foundation
import XCTest

/// Branches: their own eventlog and state, instant switching.
final class BranchTests: XCTestCase {
  func testCreateSwitchCommitAndDelete() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore()
    XCTAssertEqual(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t1","text":"a"}"#, "-m", "one").status, 0)
    XCTAssertEqual(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t2","text":"b"}"#, "-m", "two").status, 0)
    let created = try sandbox.lstore("branch", "experiment", "e1")
    XCTAssertEqual(created.status, 0, created.description)
    XCTAssertEqual(created.stdout, "Created branch 'experiment' at e1 (1 event)\n")
    XCTAssertEqual(try sandbox.lstore("branch", "experiment").status, 2, "an existing branch is refused")
    XCTAssertEqual(try sandbox.lstore("switch", "experiment").status, 0)
    XCTAssertEqual(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"x","text":"c"}"#, "-m", "three").status, 0)
    XCTAssertEqual(try sandbox.lstore("log", "--oneline", "--events").lines,
                   [#"e2 v1.TodoCreated {"id":"x","text":"c"}"#, #"e1 v1.TodoCreated {"id":"t1","text":"a"}"#])
    let state = try sandbox.shell("sqlite3 .lstore/branches/experiment/state*@4.db 'SELECT group_concat(id) FROM todos'")
    XCTAssertEqual(state.stdout, "t1,x\n", "the branch has its own state")
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath(), "SELECT group_concat(id) FROM todos"), "t1,t2\n",
                   "main's state is untouched")
    XCTAssertEqual(try sandbox.lstore("branch", "--json").lines, [
      #"{"name":"experiment","current":true,"head":"e2","events":2}"#,
      #"{"name":"main","current":false,"head":"e2","events":2}"#,
    ])
    XCTAssertEqual(try sandbox.lstore("switch", "main").status, 0)
    XCTAssertEqual(try sandbox.lstore("log", "--oneline").lines.map { String($0.drop { $0 != " " }.dropFirst()) },
                   ["e2 two", "e1 one"])
    XCTAssertEqual(try sandbox.lstore("fsck", "--replay").status, 0)
    XCTAssertEqual(try sandbox.lstore("switch", "nope").status, 66)
    XCTAssertEqual(try sandbox.lstore("branch", "-d", "main").status, 2, "the current branch cannot be deleted")
    let refused = try sandbox.lstore("branch", "-d", "experiment")
    XCTAssertEqual(refused.status, 2, "experiment has an event main does not have")
    XCTAssertEqual(refused.stderr, "lstore: error: branch 'experiment' has 1 event that 'main' does not have; 'lstore branch -D experiment' deletes it anyway\n")
    XCTAssertEqual(try sandbox.lstore("branch", "-D", "experiment").status, 0, "the advice works")
    XCTAssertEqual(try sandbox.lstore("branch").lines, ["* main\te2 (2 events)"])
  }

  func testABranchCanStartOnAnotherBranch() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore()
    XCTAssertEqual(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t1","text":"a"}"#, "-m", "one").status, 0)
    XCTAssertEqual(try sandbox.lstore("switch", "-c", "feat").status, 0)
    XCTAssertEqual(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"f1","text":"f"}"#, "-m", "f1").status, 0)
    XCTAssertEqual(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"f2","text":"g"}"#, "-m", "f2").status, 0)
    XCTAssertEqual(try sandbox.lstore("switch", "main").status, 0)
    // As git's `branch <name> <start-point>`: from main, at feat's history.
    let created = try sandbox.lstore("branch", "fix", "feat~1")
    XCTAssertEqual(created.stdout, "Created branch 'fix' at e2 (2 events)\n", created.description)
    XCTAssertEqual(try sandbox.lstore("branch", "--at", "feat", "fix2").stdout, "Created branch 'fix2' at e3 (3 events)\n")
    XCTAssertEqual(try sandbox.lstore("log", "--oneline", "--events", "fix").lines,
                   [#"e2 v1.TodoCreated {"id":"f1","text":"f"}"#, #"e1 v1.TodoCreated {"id":"t1","text":"a"}"#])
    XCTAssertEqual(try sandbox.shell("sqlite3 .lstore/branches/fix/state*@4.db 'SELECT id FROM todos ORDER BY id'").stdout,
                   "f1\nt1\n", "the new branch's state is at its head")
    XCTAssertTrue(try sandbox.lstore("branch").lines.contains("* main\te1 (1 event)"), "still on main")
  }

  func testCreatingAndSwitchingBranchesIsJournaled() throws {
    let store = try VCStore()
    try store.create("t1", "one")
    try store.create("t2", "two")
    try store.ok("branch", "feat", "e1")
    try store.ok("switch", "feat")
    func entries() throws -> [String] {
      try store.ok("reflog", "--json").lines.map { line in
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        return "\(object["action"] ?? "?"): \(object["message"] ?? "?")"
      }
    }
    XCTAssertEqual(try entries(), ["switch: moving from main to feat", "branch: created from main at e1"])
    // Moves that change no event leave the head where it is when reset to.
    try store.ok("reset", "--hard", "HEAD@{1}")
    XCTAssertEqual(try store.history(), ["e1 one"])
    try store.ok("switch", "main")
    XCTAssertEqual(try entries().first, "switch: moving from feat to main")
    XCTAssertEqual(try entries().count, 3, "main's two commits, then the switch back")
    try store.assertSound()
  }
}
