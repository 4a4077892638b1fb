import Foundation
import XCTest

/// SIGKILL in the middle of a rebase: an `exec` step kills lstore (the exec runs with /bin/sh,
/// whose parent is lstore), leaving a rebase that `status` shows and that `--abort` or
/// `--continue` finishes.
final class RebaseCrashTests: XCTestCase {
  /// main: c1, c2, m1; feat (forked at c2): f1, f2 (two events), f3.
  private func store() throws -> VCStore {
    let store = try VCStore.forked()
    try store.ok("switch", "feat")
    try store.create("f1", "feat one")
    try store.sandbox.write("two.ndjson", """
      {"name":"v1.TodoCreated","args":{"id":"f2","text":"f2"}}
      {"name":"v1.TodoCompleted","args":{"id":"f1"}}

      """)
    try store.ok("commit", "-m", "feat two", "--file", store.sandbox.path("two.ndjson"))
    try store.create("f3", "feat three")
    try store.ok("switch", "main")
    try store.create("m1", "main one")
    try store.ok("switch", "feat")
    return store
  }

  private func plan(_ store: VCStore, exec: String) throws -> String {
    try store.sandbox.write("plan.txt", """
      pick e3
      pick e4..e5
      exec \(exec)
      pick e6

      """)
  }

  private func assertKilledMidway(_ store: VCStore, _ result: CommandResult, file: StaticString = #filePath, line: UInt = #line) throws {
    XCTAssertEqual(result.status, 128 + SIGKILL, "\(result)", file: file, line: line)
    // Two steps were done before the kill, and the exec that killed it counts as done (as
    // in git: it is not run again).
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main one", "e4 feat one", "e5..e6 feat two"], file: file, line: line)
    let rebase = try XCTUnwrap(try store.rebaseStatus(), "status shows the rebase", file: file, line: line)
    XCTAssertEqual(rebase["onto"] as? String, "main", file: file, line: line)
    XCTAssertEqual(rebase["step"] as? Int, 3, file: file, line: line)
    XCTAssertEqual(rebase["steps"] as? Int, 4, file: file, line: line)
    XCTAssertEqual(rebase["originalHead"] as? String, "e6", file: file, line: line)
    XCTAssertTrue(rebase["stop"] is NSNull, "\(rebase)", file: file, line: line)
    let status = try store.ok("status").stdout
    XCTAssertTrue(status.contains("Rebase in progress onto main (was at e6): 3 steps done of 4"), status, file: file, line: line)
    XCTAssertTrue(status.contains("interrupted between steps: 'lstore rebase --continue' goes on, '--abort' restores the branch"), status,
                  file: file, line: line)
    // The store is sound as it is: state at the head, integrity intact.
    try store.assertSound("after the kill", file: file, line: line)
    XCTAssertEqual(try store.sqlite(store.eventlogPath("feat"), "PRAGMA integrity_check;"), "ok\n", file: file, line: line)
    XCTAssertEqual(try store.sqlite(try store.statePath("feat"), "PRAGMA integrity_check;"), "ok\n", file: file, line: line)
    XCTAssertNotEqual(try store.run("reset", "--hard", "HEAD~1").status, 0, "no reset while it is in progress", file: file, line: line)
  }

  func testKilledRebaseThenAbortRestoresTheExactRows() throws {
    let store = try store()
    let before = try store.dump("feat")
    let reflogBefore = try store.ok("reflog", "--json").lines
    let killed = try store.run("rebase", "--plan", try plan(store, exec: "kill -9 $PPID"), "main")
    try assertKilledMidway(store, killed)
    let aborted = try store.ok("rebase", "--abort")
    XCTAssertEqual(aborted.stdout, "Rebase aborted: 'feat' is back at e6\n")
    XCTAssertEqual(try store.dump("feat"), before)
    XCTAssertNil(try store.rebaseStatus())
    try store.assertSound("after --abort")
    // The reflog keeps what happened, after what was there.
    let reflog = try store.ok("reflog", "--json").lines
    XCTAssertEqual(Array(reflog.suffix(reflogBefore.count)).map { $0.replacingOccurrences(of: #""ref":"HEAD@\{\d+\}","#, with: "", options: .regularExpression) },
                   reflogBefore.map { $0.replacingOccurrences(of: #""ref":"HEAD@\{\d+\}","#, with: "", options: .regularExpression) })
    XCTAssertTrue(reflog.first?.contains(#""action":"rebase (abort)""#) == true, "\(reflog.first ?? "")")
    // And the rebase can be done again, to the end.
    try store.ok("rebase", "main")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main one", "e4 feat one", "e5..e6 feat two", "e7 feat three"])
    try store.assertSound()
  }

  func testKilledRebaseThenContinueFinishes() throws {
    let store = try store()
    // The exec kills lstore the first time only; --continue runs it again.
    let killed = try store.run("rebase", "--plan", try plan(store, exec: "test -e killed || { touch killed; kill -9 $PPID; }"), "main")
    try assertKilledMidway(store, killed)
    let continued = try store.ok("rebase", "--continue")
    XCTAssertEqual(continued.stdout, "Successfully rebased 'feat' onto main: head e7, 4 events replayed\n")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main one", "e4 feat one", "e5..e6 feat two", "e7 feat three"])
    XCTAssertEqual(try store.todos("feat"), ["f1|f1|1|", "f2|f2|0|", "f3|f3|0|", "m1|m1|0|", "t1|t1|0|", "t2|t2|0|"])
    XCTAssertNil(try store.rebaseStatus())
    try store.assertSound("after --continue")
    // The result equals an uninterrupted rebase of the same branch.
    let twin = try self.store()
    try twin.ok("rebase", "main")
    XCTAssertEqual(try twin.history(), try store.history())
    XCTAssertEqual(try twin.todos("feat"), try store.todos("feat"))
    XCTAssertEqual(try twin.commitRows("feat").map { $0.split(separator: "|").dropFirst().joined(separator: "|") },
                   try store.commitRows("feat").map { $0.split(separator: "|").dropFirst().joined(separator: "|") })
  }

  func testCtrlCMidwaySaysHowToGoOnAndTheAdviceWorks() throws {
    let store = try store()
    // The exec sends lstore SIGINT (Ctrl-C) the first time only.
    let interrupted = try store.run("rebase", "--plan", try plan(store, exec: "test -e interrupted || { touch interrupted; kill -INT $PPID; }"), "main")
    XCTAssertEqual(interrupted.status, 130, "\(interrupted)")
    XCTAssertTrue(interrupted.stderr.hasSuffix("lstore: error: interrupted; the rebase of 'feat' is in progress: 'lstore rebase --continue' goes on, 'lstore rebase --abort' restores the branch (see 'lstore status')\n"),
                  interrupted.stderr)
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main one", "e4 feat one", "e5..e6 feat two"])
    XCTAssertTrue(try store.ok("status").stdout.contains("interrupted between steps"))
    let continued = try store.ok("rebase", "--continue")
    XCTAssertEqual(continued.stdout, "Successfully rebased 'feat' onto main: head e7, 4 events replayed\n")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main one", "e4 feat one", "e5..e6 feat two", "e7 feat three"])
    try store.assertSound("after --continue")
  }

  func testKilledEditorStartsNothing() throws {
    let store = try store()
    let before = try store.dump("feat")
    // The editor kills its nearest ancestor named lstore (sh -c may or may not fork).
    let editor = try store.script("killer.sh", """
      p=$PPID
      while [ "$p" -gt 1 ] && [ "$(cat /proc/$p/comm)" != lstore ]; do p=$(cut -d' ' -f4 /proc/$p/stat); done
      [ "$p" -gt 1 ] && kill -9 "$p"
      """)
    let killed = try store.run(["rebase", "-i", "main"], env: ["LSTORE_SEQUENCE_EDITOR": editor])
    XCTAssertEqual(killed.status, 128 + SIGKILL, "\(killed)")
    XCTAssertNil(try store.rebaseStatus())
    XCTAssertEqual(try store.dump("feat"), before)
    try store.assertSound()
  }

  func testKilledAtAnEditStopIsAnOrdinaryStop() throws {
    let store = try store()
    let before = try store.dump("feat")
    try store.sandbox.write("plan.txt", "pick e3\nedit e4..e5\nexec kill -9 $PPID\npick e6\n")
    XCTAssertEqual(try store.run("rebase", "--plan", store.sandbox.path("plan.txt"), "main").status, 0, "stops at the edit")
    try store.create("x1", "made at the stop")
    // --continue runs the exec, which kills it.
    XCTAssertEqual(try store.run("rebase", "--continue").status, 128 + SIGKILL)
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main one", "e4 feat one", "e5..e6 feat two", "e7 made at the stop"])
    try store.assertSound("after the kill")
    try store.ok("rebase", "--abort")
    XCTAssertEqual(try store.dump("feat"), before)
    try store.assertSound("after --abort")
  }
}
