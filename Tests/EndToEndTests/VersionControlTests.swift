import Foundation
import XCTest

/// rebase, reset, reflog, commit --amend and branch management, through the built binary,
/// as a user with git habits would use them.
final class VersionControlTests: XCTestCase {
  // MARK: - Rebase onto a branch

  func testRebaseOntoBranchReplaysCommitsAfterTheBranchHead() throws {
    let store = try VCStore.forked()
    try store.ok("switch", "feat")
    try store.create("f1", "feat one", env: VCStore.featAuthor)
    try store.sandbox.write("two.ndjson", """
      {"name":"v1.TodoCreated","args":{"id":"f2","text":"f2"}}
      {"name":"v1.TodoCompleted","args":{"id":"f1"}}

      """)
    try store.ok("commit", "-m", "feat two\n\nwith a body", "--file", store.sandbox.path("two.ndjson"), env: VCStore.featAuthor)
    let featCommits = try store.commitRows("feat")
    try store.ok("switch", "main")
    try store.create("m1", "main one")
    try store.event("v1.TodoRenamed", #"{"id":"t1","text":"renamed on main"}"#, "main two")
    try store.ok("switch", "feat")

    let rebased = try store.ok("rebase", "main")
    XCTAssertEqual(rebased.stdout, "Successfully rebased 'feat' onto main: head e7, 3 events replayed\n")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main one", "e4 main two", "e5 feat one", "e6..e7 feat two"])
    XCTAssertEqual(try store.events(), [
      #"e1 v1.TodoCreated {"id":"t1","text":"t1"}"#, #"e2 v1.TodoCreated {"id":"t2","text":"t2"}"#,
      #"e3 v1.TodoCreated {"id":"m1","text":"m1"}"#, #"e4 v1.TodoRenamed {"id":"t1","text":"renamed on main"}"#,
      #"e5 v1.TodoCreated {"id":"f1","text":"f1"}"#, #"e6 v1.TodoCreated {"id":"f2","text":"f2"}"#,
      #"e7 v1.TodoCompleted {"id":"f1"}"#,
    ])
    // Ids, messages, authors and times of the replayed commits are kept; main's are main's.
    let after = try store.commitRows("feat")
    let mainRows = try store.commitRows("main")
    XCTAssertEqual(Array(after.prefix(4)), mainRows)
    func renumbered(_ row: String, _ first: String, _ last: String) -> String {
      var fields = row.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
      fields[1] = first
      fields[2] = last
      return fields.joined(separator: "|")
    }
    XCTAssertEqual(Array(after.suffix(2)), [renumbered(featCommits[2], "e5", "e5"), renumbered(featCommits[3], "e6", "e7")])
    XCTAssertTrue(after[5].hasSuffix("|feat two\\n\\nwith a body|Feat Dev|feat@example.com|2026-02-02T00:00:00.000Z"), after[5])
    XCTAssertEqual(try store.todos("feat"), ["f1|f1|1|", "f2|f2|0|", "m1|m1|0|", "t1|renamed on main|0|", "t2|t2|0|"])
    try store.assertSound("after rebase")
    XCTAssertNil(try store.rebaseStatus())
    // The parent chain is LiveStore's: each event's parent is the previous one.
    XCTAssertEqual(try store.sqlite(store.eventlogPath("feat"),
                                    "SELECT count(*) FROM eventlog WHERE parentSeqNumGlobal != seqNumGlobal - 1;"), "0\n")
    XCTAssertEqual(try store.commitRows("main").count, 4, "main is untouched")
    // The reflog tells the story, newest first: one entry per step.
    let actions = try store.ok("reflog", "--json").lines.prefix(5).map {
      (try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["action"] as? String ?? "?"
    }
    XCTAssertEqual(actions, ["rebase (finish)", "rebase (pick)", "rebase (pick)", "rebase (start)", "switch"], "the switch to feat is journaled too")
  }

  func testRebaseOntoAnEarlierPointOfABranchAndFastForward() throws {
    let store = try VCStore.forked()
    try store.create("m1", "main one")
    try store.create("m2", "main two")
    try store.ok("switch", "feat")
    try store.create("f1", "feat one")
    try store.ok("rebase", "main~1")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main one", "e4 feat one"])
    try store.assertSound()
    // A branch with nothing of its own fast-forwards to main's head.
    try store.ok("switch", "main")
    try store.ok("branch", "behind", "HEAD~2")
    try store.ok("switch", "behind")
    XCTAssertEqual(try store.ok("rebase", "main").stdout, "Successfully rebased 'behind' onto main: head e4, 0 events replayed\n")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main one", "e4 main two"])
    XCTAssertEqual(try store.commitRows("behind"), try store.commitRows("main"))
    try store.assertSound()
  }

  // MARK: - Conflicts

  /// main and feat both rename t1 (a conflict on todos.text of t1); feat also adds f1.
  private func conflicted() throws -> VCStore {
    let store = try VCStore.forked()
    try store.ok("switch", "feat")
    try store.event("v1.TodoRenamed", #"{"id":"t1","text":"feat name"}"#, "feat rename")
    try store.create("f1", "feat one")
    try store.ok("switch", "main")
    try store.event("v1.TodoRenamed", #"{"id":"t1","text":"main name"}"#, "main rename")
    try store.ok("switch", "feat")
    return store
  }

  private let conflictBlock = """
      table todos, key ["t1"], column text
        base:   "t1"
        ours:   "main name"   (e3)
        theirs: "feat name"   (e3, replayed)

    """

  private let conflictHint = "'lstore rebase --continue' keeps the replayed events over the new base, '--skip' drops this commit, '--abort' restores the branch"

  func testConflictStopsShowsInStatusAndContinueKeepsTheReplayedValue() throws {
    let store = try conflicted()
    let featRename = try XCTUnwrap(try store.commitIds()["feat rename"])
    let stopped = try store.run("rebase", "main")
    XCTAssertEqual(stopped.status, 4, "\(stopped)")
    XCTAssertEqual(stopped.stdout, conflictBlock)
    XCTAssertEqual(stopped.stderr, "lstore: error: rebase stopped: pick \(featRename) conflicts with main: 1 cell changed on both sides; \(conflictHint)\n")
    // Stopped before the conflicting commit: main's events are there, feat's are not yet.
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main rename"])
    XCTAssertEqual(try store.todos("feat"), ["t1|main name|0|", "t2|t2|0|"])

    let status = try store.ok("status")
    XCTAssertTrue(status.stdout.contains("Rebase in progress onto main (was at e4): stopped at step 1 of 2\n"), status.stdout)
    XCTAssertTrue(status.stdout.contains(#"    ours:   "main name"   (e3, main)"#), status.stdout)
    XCTAssertTrue(status.stdout.contains(conflictHint), status.stdout)
    let rebase = try XCTUnwrap(try store.rebaseStatus())
    XCTAssertEqual(rebase["onto"] as? String, "main")
    XCTAssertEqual(rebase["ontoHead"] as? String, "e3", "main's head")
    XCTAssertEqual(rebase["originalHead"] as? String, "e4")
    XCTAssertEqual(rebase["steps"] as? Int, 2)
    let stop = try XCTUnwrap(rebase["stop"] as? [String: Any])
    XCTAssertEqual(stop["reason"] as? String, "conflict")
    XCTAssertEqual(stop["step"] as? Int, 1)
    let conflicts = try XCTUnwrap(stop["conflicts"] as? [[String: Any]])
    XCTAssertEqual(conflicts.count, 1)
    XCTAssertEqual(conflicts.first?["column"] as? String, "text")
    XCTAssertEqual(conflicts.first?["base"] as? String, "t1")
    XCTAssertEqual(conflicts.first?["ours"] as? String, "main name")
    XCTAssertEqual(conflicts.first?["theirs"] as? String, "feat name")
    XCTAssertEqual(conflicts.first?["key"] as? [String], ["t1"])

    // Commands that move the head are refused while it is stopped.
    // (exit 1 today; 2, "refused by the store's state", in the FAILING commit)
    let refused = try store.run("rebase", "main")
    XCTAssertNotEqual(refused.status, 0, "\(refused)")
    XCTAssertTrue(refused.stderr.contains("a rebase of branch 'feat' onto main is in progress"), refused.stderr)
    XCTAssertNotEqual(try store.run("reset", "--hard", "HEAD~1").status, 0)

    let continued = try store.ok("rebase", "--continue")
    XCTAssertEqual(continued.stdout, "Successfully rebased 'feat' onto main: head e5, 2 events replayed; 1 conflicting cell kept as replayed\n")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main rename", "e4 feat rename", "e5 feat one"])
    XCTAssertEqual(try store.todos("feat"), ["f1|f1|0|", "t1|feat name|0|", "t2|t2|0|"])
    XCTAssertNil(try store.rebaseStatus())
    try store.assertSound("after --continue")
    XCTAssertEqual(try store.run("rebase", "--continue").status, 2, "nothing left to continue")
  }

  func testConflictSkipDropsTheStoppedCommit() throws {
    let store = try conflicted()
    XCTAssertEqual(try store.run("rebase", "main").status, 4)
    let skipped = try store.ok("rebase", "--skip")
    XCTAssertEqual(skipped.stdout, "Successfully rebased 'feat' onto main: head e4, 1 event replayed; 1 event dropped (kept in the reflog)\n")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main rename", "e4 feat one"])
    XCTAssertEqual(try store.todos("feat"), ["f1|f1|0|", "t1|main name|0|", "t2|t2|0|"])
    try store.assertSound("after --skip")
    // "kept in the reflog": the rebase is undone by a reset to the head before it.
    let reflog = try store.ok("reflog", "--json").lines
    let start = try XCTUnwrap(reflog.firstIndex { $0.contains(#""action":"rebase (start)""#) })
    try store.ok("reset", "--hard", "HEAD@{\(start + 1)}")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 feat rename", "e4 feat one"])
    XCTAssertEqual(try store.todos("feat"), ["f1|f1|0|", "t1|feat name|0|", "t2|t2|0|"])
    try store.assertSound("after undoing the rebase")
  }

  func testConflictAbortRestoresTheExactRows() throws {
    let store = try conflicted()
    let before = try store.dump("feat")
    XCTAssertEqual(try store.run("rebase", "main").status, 4)
    XCTAssertNotEqual(try store.dump("feat"), before, "the stopped rebase changed the branch")
    let aborted = try store.ok("rebase", "--abort")
    XCTAssertEqual(aborted.stdout, "Rebase aborted: 'feat' is back at e4\n")
    XCTAssertEqual(try store.dump("feat"), before)
    XCTAssertNil(try store.rebaseStatus())
    try store.assertSound("after --abort")
    // The start's reflog entry removed feat's events, and names none of their commits: the
    // abort put every one back (a cherry-pick of them would make them twice).
    let start = try XCTUnwrap(try store.ok("reflog").lines.first { $0.contains(": rebase (start): onto main") })
    XCTAssertTrue(start.hasSuffix(" events removed)"), start)
    XCTAssertEqual(try store.run("rebase", "--abort").status, 2, "no rebase in progress")
    // A second conflicting commit: --continue past the first stops at it; --abort there
    // still restores the rows from before the rebase.
    try store.event("v1.TodoRenamed", #"{"id":"t2","text":"feat t2"}"#, "feat renames t2")
    try store.ok("switch", "main")
    try store.event("v1.TodoRenamed", #"{"id":"t2","text":"main t2"}"#, "main renames t2")
    try store.ok("switch", "feat")
    let twice = try store.dump("feat")
    XCTAssertEqual(try store.run("rebase", "main").status, 4)
    let second = try store.run("rebase", "--continue")
    XCTAssertEqual(second.status, 4, "\(second)")
    XCTAssertTrue(second.stdout.contains(#"    theirs: "feat t2"   (e5, replayed)"#), second.stdout)
    XCTAssertEqual(try store.rebaseStatus()?["stop"].flatMap { ($0 as? [String: Any])?["step"] as? Int }, 3)
    try store.ok("rebase", "--abort")
    XCTAssertEqual(try store.dump("feat"), twice)
    try store.assertSound("after the second --abort")
  }

  /// While a branch is stopped mid-rebase its head is a partial one: leaving it is refused
  /// (as git refuses to switch during a rebase), with advice that works, and so is deleting
  /// it, even forced, from a store an older lstore left on another branch; its events stay.
  func testAStoppedBranchCannotBeLeftOrDeleted() throws {
    let store = try conflicted()
    let before = try store.dump("feat")
    XCTAssertEqual(try store.run("rebase", "main").status, 4)
    let leave = try store.run("switch", "main")
    XCTAssertEqual(leave.status, 2, "\(leave)")
    XCTAssertEqual(leave.stderr, "lstore: error: a rebase of branch 'feat' onto main is in progress; finish it with 'lstore rebase --continue', '--skip' or '--abort' (see 'lstore status')\n")
    XCTAssertEqual(try store.statusJSON()?["branch"] as? String, "feat")
    // An older lstore let the switch through: the stopped branch is then refused deletion,
    // and other commands' advice starts with going back to it.
    try store.sandbox.write(store.directory + "/.lstore/HEAD", "main\n")
    for flag in ["-d", "-D"] {
      let deleted = try store.run("branch", flag, "feat")
      XCTAssertEqual(deleted.status, 2, "\(flag): \(deleted)")
      XCTAssertEqual(deleted.stderr, "lstore: error: a rebase of branch 'feat' onto main is in progress; finish it on that branch: 'lstore switch feat', then 'lstore rebase --continue', '--skip' or '--abort' (see 'lstore status' there)\n")
    }
    XCTAssertTrue(store.sandbox.exists(store.directory + "/.lstore/branches/feat"))
    // The advice, followed: switching to the stopped branch is allowed, and --abort there
    // restores it; then it can be deleted.
    try store.ok("switch", "feat")
    try store.ok("rebase", "--abort")
    XCTAssertEqual(try store.dump("feat"), before)
    try store.ok("switch", "main")
    XCTAssertEqual(try store.ok("branch", "-D", "feat").stdout, "Deleted branch 'feat' (was e4)\n")
  }

  func testDryRunReportsConflictsAndChangesNothing() throws {
    let store = try conflicted()
    let before = try store.dump("feat")
    let reflogBefore = try store.ok("reflog").stdout
    let dry = try store.run("rebase", "--dry-run", "--json", "main")
    XCTAssertEqual(dry.status, 4, "\(dry)")
    let report = try XCTUnwrap(jsonLines(dry).first)
    XCTAssertEqual(report["result"] as? String, "conflicts")
    XCTAssertEqual(report["onto"] as? String, "main")
    XCTAssertEqual(report["steps"] as? Int, 2)
    let conflicts = try XCTUnwrap(report["conflicts"] as? [[String: Any]])
    XCTAssertEqual(conflicts.map { $0["column"] as? String }, ["text"])
    XCTAssertEqual(conflicts.first?["ours"] as? String, "main name")
    XCTAssertEqual(conflicts.first?["oursEvent"] as? String, "e3")
    XCTAssertEqual(conflicts.first?["theirsEvent"] as? String, "e3")
    XCTAssertEqual(try store.dump("feat"), before)
    XCTAssertEqual(try store.ok("reflog").stdout, reflogBefore, "a dry run leaves no reflog entry")
    XCTAssertNil(try store.rebaseStatus())
    // The human form lists the same conflict.
    let human = try store.run("rebase", "--dry-run", "main")
    XCTAssertEqual(human.status, 4)
    XCTAssertTrue(human.stdout.contains("1 conflicting cell:\n  table todos, key [\"t1\"], column text\n"), human.stdout)
    XCTAssertEqual(try store.dump("feat"), before)
  }

  func testDryRunOfACleanRebaseExitsZero() throws {
    let store = try VCStore.forked()
    try store.ok("switch", "feat")
    try store.create("f1", "feat one")
    try store.ok("switch", "main")
    try store.create("m1", "main one")
    try store.ok("switch", "feat")
    let before = try store.dump("feat")
    let dry = try store.ok("rebase", "--dry-run", "--json", "main")
    let report = try XCTUnwrap(jsonLines(dry).first)
    XCTAssertEqual(report["result"] as? String, "clean")
    XCTAssertEqual(report["head"] as? String, "e4")
    XCTAssertEqual(report["applied"] as? Int, 1)
    XCTAssertEqual((report["conflicts"] as? [Any])?.count, 0)
    XCTAssertEqual(try store.dump("feat"), before)
    XCTAssertEqual(try store.ok("rebase", "--dry-run", "main").stdout,
                   "Dry run of rebasing 'feat' onto main: 1 step, 1 event would be replayed, head e4\nNo conflicts.\n")
  }

  func testStrategiesDecideWithoutStopping() throws {
    let store = try conflicted()
    let before = try store.dump("feat")
    let expectations: [(String, String, [String], String)] = [
      ("ours", "head e4, 1 event replayed; 1 event dropped (kept in the reflog)",
       ["e1 c1", "e2 c2", "e3 main rename", "e4 feat one"], "t1|main name|0|"),
      ("theirs", "head e5, 2 events replayed; 1 conflicting cell kept as replayed",
       ["e1 c1", "e2 c2", "e3 main rename", "e4 feat rename", "e5 feat one"], "t1|feat name|0|"),
      ("replay", "head e5, 2 events replayed",
       ["e1 c1", "e2 c2", "e3 main rename", "e4 feat rename", "e5 feat one"], "t1|feat name|0|"),
    ]
    for (strategy, summary, history, t1) in expectations {
      let result = try store.ok("rebase", "--strategy", strategy, "main")
      XCTAssertEqual(result.stdout, "Successfully rebased 'feat' onto main: \(summary)\n", strategy)
      XCTAssertEqual(try store.history(), history, strategy)
      XCTAssertEqual(try store.todos("feat").first { $0.hasPrefix("t1|") }, t1, strategy)
      try store.assertSound(strategy)
      // Back to before the rebase, for the next strategy.
      let start = try XCTUnwrap(try store.ok("reflog", "--json").lines.firstIndex { $0.contains("rebase (start)") })
      try store.ok("reset", "--hard", "HEAD@{\(start + 1)}")
      XCTAssertEqual(try store.dump("feat"), before, "\(strategy): reset to the head before the rebase")
    }
    // The dry run under each strategy: ours and replay are clean; theirs reports the kept conflict.
    XCTAssertEqual(try store.run("rebase", "--dry-run", "--strategy", "replay", "main").status, 0)
    XCTAssertEqual(try store.run("rebase", "--strategy", "bogus", "main").status, 64)
  }

  func testUpdatesOfDifferentColumnsOfOneRowDoNotConflict() throws {
    let store = try VCStore.forked()
    try store.ok("switch", "feat")
    try store.event("v1.TodoCompleted", #"{"id":"t1"}"#, "feat completes t1")
    try store.event("v1.TodoRenamed", #"{"id":"t2","text":"same"}"#, "feat renames t2")
    try store.ok("switch", "main")
    try store.event("v1.TodoRenamed", #"{"id":"t1","text":"main name"}"#, "main renames t1")
    try store.event("v1.TodoRenamed", #"{"id":"t2","text":"same"}"#, "main renames t2 the same way")
    try store.ok("switch", "feat")
    let dry = try store.run("rebase", "--dry-run", "--json", "main")
    XCTAssertEqual(dry.status, 0, "\(dry)")
    let result = try store.ok("rebase", "main")
    // feat's rename of t2 is the same event as main's (name, args, client, session): left out.
    XCTAssertEqual(result.stdout, "Successfully rebased 'feat' onto main: head e5, 1 event replayed; 1 event left out as already there\n")
    XCTAssertEqual(try store.todos("feat"), ["t1|main name|1|", "t2|same|0|"])
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main renames t1", "e4 main renames t2 the same way", "e5 feat completes t1"])
    try store.assertSound()
  }

  func testDeleteVersusUpdateConflictsBothWays() throws {
    let store = try VCStore.forked()
    try store.ok("switch", "feat")
    try store.event("v1.TodoCompleted", #"{"id":"t1"}"#, "feat completes t1")
    try store.event("v1.TodoPurged", #"{"id":"t2"}"#, "feat purges t2")
    try store.ok("switch", "main")
    try store.event("v1.TodoPurged", #"{"id":"t1"}"#, "main purges t1")
    try store.event("v1.TodoRenamed", #"{"id":"t2","text":"main t2"}"#, "main renames t2")
    try store.ok("switch", "feat")
    let dry = try store.run("rebase", "--dry-run", "--json", "main")
    XCTAssertEqual(dry.status, 4, "\(dry)")
    let conflicts = try XCTUnwrap(jsonLines(dry).first?["conflicts"] as? [[String: Any]])
    XCTAssertEqual(conflicts.map { $0["key"] as? [String] }, [["t1"], ["t2"]])
    XCTAssertEqual(conflicts.map { $0["column"] as? String }, ["*", "*"])
    XCTAssertEqual(conflicts.map { $0["oursExists"] as? Bool }, [false, true], "main deleted t1, kept t2")
    XCTAssertEqual(conflicts.map { $0["theirsExists"] as? Bool }, [true, false], "feat updated t1, deleted t2")

    let first = try store.run("rebase", "main")
    XCTAssertEqual(first.status, 4)
    XCTAssertTrue(first.stdout.hasPrefix("  table todos, key [\"t1\"], the row\n"), first.stdout)
    XCTAssertTrue(first.stdout.contains("    ours:   (row deleted)   (e3)\n"), first.stdout)
    // --continue replays the update over the deleted row (it updates nothing), then the
    // delete of t2 stops again.
    let second = try store.run("rebase", "--continue")
    XCTAssertEqual(second.status, 4, "\(second)")
    XCTAssertTrue(second.stdout.contains("    theirs: (row deleted)   (e4, replayed)\n"), second.stdout)
    try store.ok("rebase", "--continue")
    XCTAssertEqual(try store.todos("feat"), [], "t1 deleted by main, t2 by feat")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main purges t1", "e4 main renames t2", "e5 feat completes t1", "e6 feat purges t2"])
    try store.assertSound()
  }

  func testMaterializerFailureOnReplayStopsWithWaysOut() throws {
    let store = try VCStore.forked()
    try store.ok("switch", "feat")
    try store.event("v1.TodoCopied", #"{"id":"t3","from":"t1"}"#, "feat copies t1")
    try store.create("f1", "feat one")
    try store.ok("switch", "main")
    try store.event("v1.TodoPurged", #"{"id":"t1"}"#, "main purges t1")
    try store.ok("switch", "feat")
    let before = try store.dump("feat")

    let dry = try store.run("rebase", "--dry-run", "main")
    XCTAssertEqual(dry.status, 4, "\(dry)")
    XCTAssertTrue(dry.stdout.contains("Would stop: event e3 v1.TodoCopied fails on top of main: NOT NULL constraint failed: todos.text"), dry.stdout)

    let failureHint = "fix the schema's materializer and 'lstore rebase --continue' retries, '--skip' drops this commit, '--abort' restores the branch"
    // 1. --abort.
    var stopped = try store.run("rebase", "main")
    XCTAssertEqual(stopped.status, 4, "\(stopped)")
    XCTAssertTrue(stopped.stderr.contains("event e3 v1.TodoCopied fails on top of main: NOT NULL constraint failed: todos.text; \(failureHint)"), stopped.stderr)
    let stop = try XCTUnwrap(try store.rebaseStatus()?["stop"] as? [String: Any])
    XCTAssertEqual(stop["reason"] as? String, "failure")
    XCTAssertEqual(stop["event"] as? String, "e3")
    // --continue without a fix stops again, at the same place.
    XCTAssertEqual(try store.run("rebase", "--continue").status, 4)
    try store.ok("rebase", "--abort")
    XCTAssertEqual(try store.dump("feat"), before)

    // 2. --skip drops the failing commit.
    stopped = try store.run("rebase", "main")
    XCTAssertEqual(stopped.status, 4)
    try store.ok("rebase", "--skip")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main purges t1", "e4 feat one"])
    XCTAssertEqual(try store.todos("feat"), ["f1|f1|0|", "t2|t2|0|"])
    try store.assertSound("after --skip")
    let start = try XCTUnwrap(try store.ok("reflog", "--json").lines.firstIndex { $0.contains("rebase (start)") })
    try store.ok("reset", "--hard", "HEAD@{\(start + 1)}")
    XCTAssertEqual(try store.dump("feat"), before)

    // 3. Fix the materializer, then --continue retries.
    stopped = try store.run("rebase", "main")
    XCTAssertEqual(stopped.status, 4)
    try store.fixCopyMaterializer()
    try store.ok("rebase", "--continue")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main purges t1", "e4 feat copies t1", "e5 feat one"])
    XCTAssertEqual(try store.todos("feat"), ["f1|f1|0|", "t2|t2|0|", "t3|gone|0|"])
    try store.assertSound("after the fix")
  }

  /// A commit whose first event fails on the new base and whose second conflicts with it:
  /// the conflict is the stop (the step's events are applied as they are read, yet every one
  /// is checked before a failure is reported); --continue keeps the conflicting cell and then
  /// stops on the failure; --abort restores the branch.
  func testAConflictLaterInACommitStopsBeforeAnEarlierFailure() throws {
    let store = try VCStore.forked()
    try store.ok("switch", "feat")
    let events = #"""
      {"name":"v1.TodoCopied","args":{"id":"t3","from":"t1"}}
      {"name":"v1.TodoRenamed","args":{"id":"t2","text":"feat name"}}
      """#
    let committed = try store.run(["commit", "-m", "feat copies and renames", "--file", "-"], stdin: events)
    XCTAssertEqual(committed.status, 0, "\(committed)")
    try store.ok("switch", "main")
    try store.event("v1.TodoPurged", #"{"id":"t1"}"#, "main purges t1")
    try store.event("v1.TodoRenamed", #"{"id":"t2","text":"main name"}"#, "main renames t2")
    try store.ok("switch", "feat")
    let before = try store.dump("feat")

    let stopped = try store.run("rebase", "main")
    XCTAssertEqual(stopped.status, 4, "\(stopped)")
    XCTAssertTrue(stopped.stderr.contains("conflicts with main: 1 cell changed on both sides"), stopped.stderr)
    let stop = try XCTUnwrap(try store.rebaseStatus()?["stop"] as? [String: Any])
    XCTAssertEqual(stop["reason"] as? String, "conflict")
    XCTAssertEqual((stop["conflicts"] as? [[String: Any]])?.first?["key"] as? [String], ["t2"])
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 main purges t1", "e4 main renames t2"])

    let failed = try store.run("rebase", "--continue")
    XCTAssertEqual(failed.status, 4, "\(failed)")
    XCTAssertTrue(failed.stderr.contains("event e3 v1.TodoCopied fails on top of main: NOT NULL constraint failed: todos.text"), failed.stderr)
    XCTAssertEqual(try store.rebaseStatus()?["stop"].flatMap { $0 as? [String: Any] }?["reason"] as? String, "failure")
    try store.ok("rebase", "--abort")
    XCTAssertEqual(try store.dump("feat"), before)
    try store.assertSound("after --abort")
  }

  // MARK: - Plans

  func testInteractiveEditorReordersDropsSquashesFixesUpAndRewords() throws {
    let store = try VCStore()
    for i in 1...6 { try store.createAvoidingEIds("t\(i)", "c\(i)") }
    // The editor gets git's todo list: one pick line per commit, oldest first.
    let editor = try store.script("editor.sh", """
      plan="$1"
      cp "$plan" "$plan.seen"
      # c6 first, reworded; c1; c3 squashed into c1; c4 fixed up into it; c2 and c5 dropped
      # (c2 by a drop line, c5 by leaving its line out).
      line() { grep "^pick [^ ]* c$1$" "$plan.seen" | cut -d' ' -f2; }
      {
        echo "reword $(line 6) c6, reworded"
        echo "pick $(line 1) c1"
        echo "# a comment"
        echo ""
        echo "s $(line 3) c3"
        echo "fixup $(line 4)"
        echo "drop $(line 2)"
      } > "$plan"
      """)
    let ids = try store.commitIds()
    let result = try store.run(["rebase", "-i", "HEAD~6"], env: ["LSTORE_SEQUENCE_EDITOR": editor, "EDITOR": "false"])
    XCTAssertEqual(result.status, 0, "\(result)")
    let seen = try String(contentsOfFile: store.sandbox.path(".lstore/branches/main/rebase-plan.seen"), encoding: .utf8)
    XCTAssertEqual(Array(seen.split(separator: "\n", omittingEmptySubsequences: false).prefix(8)),
                   (1...6).map { "pick \(ids["c\($0)", default: "?"]) c\($0)" }[...] + ["", "# Rebase e1..e6 onto e0 (e0) (6 commands)"])
    XCTAssertEqual(try store.history(), ["e1 c6, reworded", "e2..e4 c1"])
    XCTAssertEqual(try store.events().map { String($0.split(separator: " ")[2]) }, [
      #"{"id":"t6","text":"t6"}"#, #"{"id":"t1","text":"t1"}"#, #"{"id":"t3","text":"t3"}"#, #"{"id":"t4","text":"t4"}"#,
    ])
    let rows = try store.commitRows()
    // Reworded and melded commits are new commits, as in git: their ids are new.
    let newIds = rows.map { $0.split(separator: "|").map(String.init)[0] }
    XCTAssertEqual(newIds.count, 2)
    XCTAssertTrue(Set(newIds).isDisjoint(with: Set(ids.values)), "reword and squash make new commits")
    XCTAssertEqual(rows.map { $0.split(separator: "|").map(String.init)[3] }, ["c6, reworded", "c1\\n\\nc3"],
                   "squash keeps both messages, fixup only the previous one")
    XCTAssertEqual(try store.todos().map { String($0.prefix(2)) }, ["t1", "t3", "t4", "t6"])
    try store.assertSound()
    XCTAssertFalse(store.sandbox.exists(".lstore/branches/main/rebase-plan"), "the plan file is removed")

    // A failing editor starts nothing; an emptied plan aborts.
    let before = try store.dump()
    let failing = try store.run(["rebase", "-i", "HEAD~2"], env: ["LSTORE_SEQUENCE_EDITOR": "false"])
    XCTAssertEqual(failing.status, 1, "\(failing)")
    XCTAssertTrue(failing.stderr.contains("the editor (false) exited with status 1; the rebase was not started"), failing.stderr)
    let emptying = try store.script("empty.sh", "echo \"# nothing\" > \"$1\"")
    let empty = try store.run(["rebase", "-i", "HEAD~2"], env: ["GIT_SEQUENCE_EDITOR": emptying])
    XCTAssertEqual(empty.status, 1, "\(empty)")
    XCTAssertTrue(empty.stderr.contains("the plan is empty, so the rebase was not started"), empty.stderr)
    // An editor that leaves the plan as it is replays everything unchanged.
    try store.ok("rebase", "-i", "HEAD~2", env: ["GIT_SEQUENCE_EDITOR": "true"])
    XCTAssertEqual(try store.dump().components(separatedBy: "==")[1], before.components(separatedBy: "==")[1])
    XCTAssertEqual(try store.commitRows().count, 2)
    XCTAssertNil(try store.rebaseStatus())
  }

  func testPlanFromAFileWithEventRangesAndErrorsNamingTheLine() throws {
    let store = try VCStore()
    try store.sandbox.write("pair.ndjson", """
      {"name":"v1.TodoCreated","args":{"id":"t1","text":"t1"}}
      {"name":"v1.TodoCreated","args":{"id":"t2","text":"t2"}}

      """)
    try store.ok("commit", "-m", "pair", "--file", store.sandbox.path("pair.ndjson"))
    try store.create("t3", "c3")
    let before = try store.dump()
    try store.sandbox.write("bad.txt", "pick e1..e2\nfrobnicate e3\n")
    let bad = try store.run("rebase", "--plan", store.sandbox.path("bad.txt"), "HEAD~2")
    XCTAssertEqual(bad.stderr, "lstore: error: rebase plan line 2: unknown command 'frobnicate' (pick, reword, edit, squash, fixup, exec, drop, noop)\n")
    try store.sandbox.write("twice.txt", "pick e1..e2\npick e2\n")
    XCTAssertTrue(try store.run("rebase", "--plan", store.sandbox.path("twice.txt"), "HEAD~2").stderr
      .contains("rebase plan line 2: e2 names events that line 1 already names"))
    try store.sandbox.write("outside.txt", "pick e3\npick e4\n")
    XCTAssertTrue(try store.run("rebase", "--plan", store.sandbox.path("outside.txt"), "HEAD~1").stderr
      .contains("rebase plan line 2: e4 is not among the events being rebased (e3..e3)"))
    XCTAssertEqual(try store.run("rebase", "--plan", store.sandbox.path("nope.txt"), "HEAD~1").status, 66)
    XCTAssertEqual(try store.dump(), before, "a refused plan changes nothing")
    XCTAssertEqual(try store.ok("reflog").lines.count, 2)

    // Splitting a commit: its events on their own lines, reordered, are replayed without a
    // commit record; the exact range of a commit is that commit.
    try store.sandbox.write("split.txt", "pick e3\npick e2\npick e1\n")
    try store.ok("rebase", "--plan", store.sandbox.path("split.txt"), "HEAD~2")
    XCTAssertEqual(try store.history(), ["e1 c3", "- e2..e3 (2 events from cli/ses, no commit)"])
    try store.assertSound()
  }

  func testExecFailureStopsAndContinueGoesOn() throws {
    let store = try VCStore()
    for i in 1...3 { try store.create("t\(i)", "c\(i)") }
    try store.sandbox.write("plan.txt", """
      pick e1
      exec lstore log --oneline > after-first.txt
      exec exit 3
      pick e2
      x echo ran >> ran.txt
      pick e3

      """)
    let stopped = try store.run("rebase", "--plan", store.sandbox.path("plan.txt"), "HEAD~3")
    XCTAssertEqual(stopped.status, 4, "\(stopped)")
    XCTAssertEqual(stopped.stderr, """
      Executing: lstore log --oneline > after-first.txt
      Executing: exit 3
      lstore: error: rebase stopped: exec 'exit 3' failed with exit status 3; 'lstore rebase --continue' goes on, '--abort' restores the branch

      """)
    // The exec ran in the store's directory with the head after the first pick.
    XCTAssertEqual(try String(contentsOfFile: store.sandbox.path("after-first.txt"), encoding: .utf8).split(separator: "\n").count, 1)
    let status = try store.ok("status").stdout
    XCTAssertTrue(status.contains("stopped at step 3 of 6"), status)
    XCTAssertTrue(status.contains("exec 'exit 3' failed with exit status 3"), status)
    XCTAssertEqual(try store.rebaseStatus()?["stop"].flatMap { ($0 as? [String: Any])?["reason"] as? String }, "exec")
    let continued = try store.ok("rebase", "--continue")
    XCTAssertEqual(continued.stdout, "Successfully rebased 'main' onto e0: head e3, 3 events replayed\n")
    XCTAssertEqual(try String(contentsOfFile: store.sandbox.path("ran.txt"), encoding: .utf8), "ran\n", "the failed exec is not run again")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 c3"])
    try store.assertSound()
  }

  func testEditStopThenCommitAndAmendThenContinue() throws {
    let store = try VCStore()
    for i in 1...4 { try store.create("t\(i)", "c\(i)") }
    try store.sandbox.write("plan.txt", "pick e1\nedit e2\nedit e3\npick e4\n")
    let ids = try store.commitIds()
    let first = try store.run("rebase", "--plan", store.sandbox.path("plan.txt"), "HEAD~4")
    XCTAssertEqual(first.status, 0, "an edit stop is the plan's own pause: \(first)")
    XCTAssertEqual(first.stdout, "stopped at \(ids["c2", default: "?"]) (c2) to edit: 'lstore commit' adds events, 'lstore commit --amend' changes it; then 'lstore rebase --continue'\n")
    XCTAssertEqual(try store.rebaseStatus()?["stop"].flatMap { ($0 as? [String: Any])?["reason"] as? String }, "edit")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2"])
    // Following the advice: 'lstore commit' adds events…
    try store.create("n1", "new after c2")
    let second = try store.ok("rebase", "--continue")
    XCTAssertTrue(second.stdout.hasPrefix("stopped at \(ids["c3", default: "?"]) (c3) to edit"), second.stdout)
    // …and 'lstore commit --amend' changes the stopped commit.
    try store.ok("commit", "--amend", "-m", "c3 amended", "v1.TodoCompleted", #"{"id":"t3"}"#)
    let done = try store.ok("rebase", "--continue")
    XCTAssertEqual(done.stdout, "Successfully rebased 'main' onto e0: head e6, 4 events replayed\n")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 new after c2", "e4..e5 c3 amended", "e6 c4"])
    XCTAssertEqual(try store.todos().first { $0.hasPrefix("t3|") }, "t3|t3|1|")
    XCTAssertNil(try store.rebaseStatus())
    try store.assertSound()
    // --abort at an edit stop, after commits made there, restores the rows.
    let before = try store.dump()
    try store.sandbox.write("plan2.txt", "edit e6\n")
    try store.ok("rebase", "--plan", store.sandbox.path("plan2.txt"), "HEAD~1")
    try store.create("n2", "made during the stop")
    try store.ok("commit", "--amend", "-m", "amended during the stop")
    try store.ok("rebase", "--abort")
    XCTAssertEqual(try store.dump(), before)
    try store.assertSound("after abort")
  }

  /// lstore before the plan table kept a stopped rebase's plan as one JSON array in
  /// `lstore_meta`; a rebase stopped by it shows in status and goes on after an upgrade.
  func testARebaseStoppedWithThePlanAnOlderLstoreSavedGoesOn() throws {
    let store = try VCStore()
    for i in 1...4 { try store.create("t\(i)", "c\(i)") }
    try store.sandbox.write("plan.txt", "pick e1\nedit e2\npick e3\npick e4\n")
    try store.ok("rebase", "--plan", store.sandbox.path("plan.txt"), "HEAD~4")
    let downgrade = try store.sandbox.start("/usr/bin/env", ["sqlite3", store.eventlogPath()], stdin: """
      INSERT INTO lstore_meta (key, value)
        SELECT 'rebase-plan', json_group_array(json(step)) FROM (SELECT step FROM lstore_rebase_step ORDER BY idx);
      DROP TABLE lstore_rebase_step;
      """).wait()
    XCTAssertEqual(downgrade.status, 0, "\(downgrade)")
    XCTAssertTrue(try store.ok("status").stdout.contains("stopped at step 2 of 4"))
    let done = try store.ok("rebase", "--continue")
    XCTAssertEqual(done.stdout, "Successfully rebased 'main' onto e0: head e4, 4 events replayed\n")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 c3", "e4 c4"])
    XCTAssertEqual(try store.sqlite(store.eventlogPath(), "SELECT count(*) FROM lstore_meta WHERE key LIKE 'rebase%'"), "0\n")
    XCTAssertNil(try store.rebaseStatus())
    try store.assertSound()
  }

  // MARK: - Reset and reflog

  func testResetHardAndBackWithTheReflog() throws {
    let store = try VCStore()
    for i in 1...3 { try store.create("t\(i)", "c\(i)") }
    let three = try store.dump()
    let c3 = try XCTUnwrap(try store.commitIds()["c3"])
    let reset = try store.ok("reset", "--hard", "HEAD~1")
    let ids = try store.commitIds()
    XCTAssertEqual(reset.stdout, "HEAD is now at e2 \(ids["c2", default: "?"].prefix(8)) c2 (1 event removed, 0 events restored)\n")
    XCTAssertEqual(try store.todos().count, 2)
    // The entry names the commit it removed, for cherry-pick.
    XCTAssertEqual(try store.ok("reflog").lines.first, "e2 HEAD@{0}: reset: moving to HEAD~1 (1 event removed: \(c3.prefix(8)) c3)")
    let back = try store.ok("reset", "--hard", "HEAD@{1}")
    XCTAssertEqual(back.stdout.hasSuffix("(0 events removed, 1 event restored)\n"), true, back.stdout)
    XCTAssertEqual(try store.dump(), three)
    try store.assertSound()
    // Reset to a commit id, an event, and past the root.
    try store.ok("reset", "--hard", ids["c1", default: "?"])
    XCTAssertEqual(try store.history(), ["e1 c1"])
    try store.ok("reset", "--hard", "e0")
    XCTAssertEqual(try store.history(), [])
    XCTAssertEqual(try store.todos(), [])
    XCTAssertEqual(try store.run("reset", "--hard", "HEAD~1").status, 66, "nothing before the root")
    XCTAssertEqual(try store.run("reset", "--hard", "HEAD@{99}").status, 66)
    XCTAssertEqual(try store.run("reset", "--hard", "e9").status, 66, "no such event")
    XCTAssertEqual(try store.run("reset", "--hard", "HEAD@{x}").status, 64, "not a revision")
    try store.ok("reset", "--hard", "HEAD@{2}")
    XCTAssertEqual(try store.dump(), three)
    // Reset to another branch's head makes this branch a copy of it.
    try store.ok("branch", "short", "e1")
    try store.ok("switch", "short")
    try store.create("s2", "short two")
    try store.ok("switch", "main")
    try store.ok("reset", "--hard", "short")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 short two"])
    XCTAssertEqual(try store.commitRows(), try store.commitRows("short"))
    XCTAssertEqual(try store.todos(), try store.todos("short"))
    try store.assertSound()
  }

  func testAmendReplacesTheLastCommitAndIsUndoneByTheReflog() throws {
    let store = try VCStore()
    try store.create("t1", "c1")
    try store.create("t2", "c2")
    let before = try store.dump()
    let oldId = try XCTUnwrap(try store.commitIds()["c2"])
    let amended = try store.ok("commit", "--amend", "-m", "c2 better")
    XCTAssertTrue(amended.stdout.hasSuffix("] e2 c2 better (1 event)\n"), amended.stdout)
    let betterId = try XCTUnwrap(try store.commitIds()["c2 better"])
    try store.ok("commit", "--amend", "v1.TodoCompleted", #"{"id":"t2"}"#)
    XCTAssertEqual(try store.history(), ["e1 c1", "e2..e3 c2 better"])
    XCTAssertNotEqual(try store.commitIds()["c2 better"], oldId)
    XCTAssertEqual(try store.todos(), ["t1|t1|0|", "t2|t2|1|"])
    XCTAssertEqual(try store.ok("reflog").lines.prefix(2).map { $0 }, [
      "e3 HEAD@{0}: commit (amend): c2 better (1 event removed: \(betterId.prefix(8)) c2 better)",
      "e2 HEAD@{1}: commit (amend): c2 better (1 event removed: \(oldId.prefix(8)) c2)",
    ])
    try store.ok("reset", "--hard", "HEAD@{2}")
    XCTAssertEqual(try store.dump(), before)
    try store.assertSound()
    // Nothing to amend when the head is no commit's last event.
    try store.ok("reset", "--hard", "e0")
    XCTAssertEqual(try store.run("commit", "--amend", "-m", "x").status, 2)
  }

  // MARK: - Confirmed events

  /// A store pushed to a path remote (another store with the same store id).
  private func pushed() throws -> VCStore {
    let sandbox = try Sandbox()
    _ = try VCStore(sandbox: sandbox, directory: "other", clientId: "other")
    let store = try VCStore(sandbox: sandbox, directory: "work")
    try store.ok("remote", "add", "origin", "../other")
    try store.create("t1", "c1")
    try store.create("t2", "c2")
    XCTAssertEqual(try store.ok("push").stdout.contains("backend head is e2"), true)
    try store.create("t3", "c3")
    return store
  }

  func testResetAmendAndRebaseLeaveConfirmedEventsAlone() throws {
    let store = try pushed()
    let before = try store.dump()
    let refused = try store.run("reset", "--hard", "HEAD~2")
    XCTAssertNotEqual(refused.status, 0)
    XCTAssertTrue(refused.stderr.contains("that would remove 1 event after e1 that the backend has confirmed (through e2)"), refused.stderr)
    XCTAssertEqual(try store.dump(), before)
    // The unpushed commit can go.
    try store.ok("reset", "--hard", "HEAD~1")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2"])
    XCTAssertNotEqual(try store.run("commit", "--amend", "-m", "pushed").status, 0)
    // @{u} is the backend head: a rebase onto it only replays pending events.
    try store.create("t4", "c4")
    try store.create("t5", "c5")
    try store.sandbox.write("plan.txt", "pick e4\npick e3\n")
    try store.ok("rebase", "--plan", store.sandbox.path("plan.txt"), "@{u}")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 c5", "e4 c4"])
    try store.sandbox.write("plan2.txt", "pick e2\n")
    XCTAssertNotEqual(try store.run("rebase", "--plan", store.sandbox.path("plan2.txt"), "HEAD~3").status, 0,
                      "a rebase that would move confirmed events is refused")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 c5", "e4 c4"])
    try store.assertSound()
  }

  // MARK: - Branches

  func testBranchRenameAndDelete() throws {
    let store = try VCStore.forked()
    try store.ok("switch", "feat")
    try store.create("f1", "feat one")
    XCTAssertEqual(try store.ok("branch", "-m", "feature").stdout, "Renamed branch 'feat' to 'feature'\n")
    XCTAssertEqual(try store.ok("branch").lines, ["* feature\te3 (3 events)", "  main\te2 (2 events)"])
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 feat one"])
    try store.ok("branch", "-m", "feature", "topic")
    XCTAssertEqual(try store.statusJSON()?["branch"] as? String, "topic")
    XCTAssertEqual(try store.run("branch", "-m", "nope", "x").status, 66)
    try store.ok("branch", "spare", "e1")
    XCTAssertEqual(try store.run("branch", "-m", "spare", "main").status, 2, "renaming onto an existing branch is refused")
    try store.ok("switch", "main")
    // -d refuses unmerged work, says how much, and its advice works.
    let refused = try store.run("branch", "-d", "topic")
    XCTAssertEqual(refused.status, 2)
    XCTAssertEqual(refused.stderr, "lstore: error: branch 'topic' has 1 event that 'main' does not have; 'lstore branch -D topic' deletes it anyway\n")
    XCTAssertEqual(try store.ok("branch", "-d", "spare").stdout, "Deleted branch 'spare' (was e1)\n", "spare's events are all on main")
    try store.ok("branch", "-D", "topic")
    XCTAssertEqual(try store.ok("branch").lines, ["* main\te2 (2 events)"])
    XCTAssertFalse(store.sandbox.exists(".lstore/branches/topic"))
    XCTAssertEqual(try store.run("branch", "-d", "main").status, 2)
    XCTAssertEqual(try store.run("switch", "topic").status, 66)
    // A merged branch (after a rebase of main onto it) deletes with -d.
    try store.ok("branch", "done")
    try store.ok("switch", "done")
    try store.create("d1", "done one")
    try store.ok("switch", "main")
    try store.ok("rebase", "done")
    try store.ok("branch", "-d", "done")
    try store.assertSound()
  }

  func testPushFromABranchGoesToItsOwnRemoteStoreNeverMains() throws {
    let store = try pushed()
    try store.ok("push")
    try store.ok("switch", "-c", "feat")
    try store.create("f1", "feat one")
    let pushed = try store.ok("push")
    XCTAssertTrue(pushed.stdout.contains("Pushed 4 events"), "the branch's store gets its whole history: \(pushed)")
    let remoteMain = store.sandbox.path("other/.lstore/branches/main/eventlog@4.db")
    XCTAssertEqual(try store.sqlite(remoteMain, "SELECT count(*) FROM eventlog;"), "3\n", "main's store is untouched")
    let companions = try FileManager.default.contentsOfDirectory(atPath: store.sandbox.path("other/.lstore/companions"))
    let branchStore = try XCTUnwrap(companions.first { $0.hasPrefix("lstorebrn") })
    XCTAssertEqual(try store.sqlite(store.sandbox.path("other/.lstore/companions/\(branchStore)"),
                                    "SELECT group_concat(json_extract(args, '$.id')) FROM events;"), "t1,t2,t3,f1\n")
    XCTAssertEqual(try store.ok("pull").stdout.contains("Already up to date"), true)
    // main's own push and pull still use the store id.
    try store.ok("switch", "main")
    try store.create("m1", "main one")
    XCTAssertTrue(try store.ok("push").stdout.contains("backend head is e4"))
    XCTAssertEqual(try store.sqlite(remoteMain, "SELECT group_concat(json_extract(argsJson, '$.id')) FROM eventlog;"), "t1,t2,t3,m1\n")
    try store.assertSound()
  }

  func testSoftResetUngroupsCommitsForOneNewCommitAndIsUndoable() throws {
    let store = try VCStore()
    for index in 1...4 { try store.create("t\(index)", "c\(index)") }
    let events = try store.events()
    let todos = try store.todos()
    let soft = try store.ok("reset", "--soft", "HEAD~3")
    XCTAssertEqual(soft.stdout, "Ungrouped 3 commits after e1 (3 events kept); 'lstore commit -m <message>' commits them as one\n")
    XCTAssertEqual(try store.events(), events, "the events stay")
    XCTAssertEqual(try store.todos(), todos, "and the state")
    XCTAssertEqual(try store.history().first, "e1 c1")
    let ungrouped = try store.history()
    XCTAssertEqual(ungrouped.count, 2, "c1 and one run of uncommitted events: \(ungrouped)")
    // The advice, followed: git's squash.
    try store.ok("commit", "-m", "squashed")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2..e4 squashed"])
    XCTAssertEqual(try store.events(), events)
    try store.assertSound("after the squash")
    let nothing = try store.run("commit", "-m", "again")
    XCTAssertNotEqual(nothing.status, 0, "nothing left to group: \(nothing)")
    // Journaled like any move: the four commits come back.
    try store.ok("reset", "--hard", "HEAD@{2}")
    XCTAssertEqual(try store.history(), ["e1 c1", "e2 c2", "e3 c3", "e4 c4"])
    try store.assertSound("after undoing")
  }

  func testSoftResetLeavesConfirmedCommitsAlone() throws {
    let store = try pushed()
    let refused = try store.run("reset", "--soft", "e1")
    XCTAssertEqual(refused.status, 2, refused.description)
    XCTAssertTrue(refused.stderr.contains("the backend has confirmed"), refused.stderr)
    XCTAssertEqual(try store.ok("reset", "--soft", "e2").stdout.contains("Ungrouped 1 commit after e2"), true)
    XCTAssertEqual(try store.run("reset", "--soft", "--hard", "e2").status, 64)
  }
}
