import Foundation
import XCTest

/// git's revision syntax in `log` and `show`, resolved by the library's one parser.
final class RevisionSyntaxTests: XCTestCase {
  /// main: c1..c4 (e1..e4); feat from e2 with f1 (e3 there).
  private func forked() throws -> VCStore {
    let store = try VCStore()
    for index in 1...4 { try store.create("t\(index)", "c\(index)") }
    try store.ok("branch", "feat", "e2")
    try store.ok("switch", "feat")
    try store.create("f1", "f1")
    try store.ok("switch", "main")
    return store
  }

  /// `log --oneline` messages, newest first.
  private func messages(_ store: VCStore, _ arguments: String...) throws -> [String] {
    try store.ok(["log", "--oneline"] + arguments).lines.map { String($0.split(separator: " ", maxSplits: 2).last ?? "") }
  }

  func testOrigHeadUndoesTheNewestResetOrRebaseWithAllItsSteps() throws {
    let store = try forked()
    let none = try store.run("reset", "--hard", "ORIG_HEAD")
    XCTAssertEqual(none.status, 66, none.description)
    XCTAssertTrue(none.stderr.contains("no ORIG_HEAD: no reset, rebase, pull or repair has moved this branch's head"), none.stderr)
    // A reset, then commits after it: ORIG_HEAD is still the head before the reset.
    try store.ok("reset", "--hard", "e2")
    try store.create("t9", "c9")
    try store.ok("reset", "--hard", "ORIG_HEAD")
    XCTAssertEqual(try messages(store), ["c4", "c3", "c2", "c1"])
    // A rebase of several steps is undone whole.
    try store.ok("switch", "feat")
    try store.ok("rebase", "main")
    XCTAssertEqual(try messages(store), ["f1", "c4", "c3", "c2", "c1"])
    try store.ok("reset", "--hard", "ORIG_HEAD")
    XCTAssertEqual(try messages(store), ["f1", "c2", "c1"])
    XCTAssertEqual(try store.run("log", "ORIG_HEAD~1").status, 64, "a past head takes no ~N")
  }

  func testLogTakesACountARevisionOrARange() throws {
    let store = try forked()
    XCTAssertEqual(try messages(store, "-1"), ["c4"], "git's -<n>")
    XCTAssertEqual(try messages(store, "-2", "--reverse"), ["c3", "c4"], "the newest two, oldest first, as git")
    XCTAssertEqual(try messages(store, "--events", "-1", "--reverse"), [#"{"id":"t4","text":"t4"}"#])
    XCTAssertEqual(try messages(store, "-9", "--reverse"), ["c1", "c2", "c3", "c4"])
    XCTAssertEqual(try messages(store, "-n", "-1"), ["c4", "c3", "c2", "c1"], "git's -n -1: no limit")
    XCTAssertEqual(try messages(store, "--max-count", "-1", "--reverse"), ["c1", "c2", "c3", "c4"])
    XCTAssertEqual(try messages(store, "e2"), ["c2", "c1"])
    XCTAssertEqual(try messages(store, "HEAD~1"), ["c3", "c2", "c1"])
    XCTAssertEqual(try messages(store, "feat"), ["f1", "c2", "c1"], "another branch's history, from main")
    XCTAssertEqual(try messages(store, "main..feat"), ["f1"], "what feat has that main does not")
    XCTAssertEqual(try messages(store, "feat..main"), ["c4", "c3"])
    XCTAssertEqual(try messages(store, "feat.."), ["c4", "c3"], "an empty side is HEAD")
    XCTAssertEqual(try messages(store, "e1..e3"), ["c3", "c2"])
    XCTAssertEqual(try messages(store, "e3..e1"), [], "nothing when A is past B")
    XCTAssertEqual(try messages(store, "--events", "HEAD~3"), [#"{"id":"t1","text":"t1"}"#])
    XCTAssertEqual(try store.ok("log", "--json", "feat").lines.count, 3)
    let malformed = try store.run("log", "e1..e2..e3")
    XCTAssertEqual(malformed.status, 64, malformed.description)
    let unknown = try store.run("log", "nope")
    XCTAssertEqual(unknown.status, 66, unknown.description)
    XCTAssertTrue(unknown.stderr.contains("unknown revision 'nope'"), unknown.stderr)
  }

  func testShowNamesCommitsByRevisionAndEventsBySequenceNumber() throws {
    let store = try forked()
    XCTAssertTrue(try store.ok("show", "HEAD").stdout.contains("    c4"), "HEAD is the newest commit")
    XCTAssertTrue(try store.ok("show", "HEAD~2").stdout.contains("    c2"))
    XCTAssertTrue(try store.ok("show", "@~3").stdout.contains("    c1"))
    let feat = try store.ok("show", "feat")
    XCTAssertTrue(feat.stdout.contains("    f1"), feat.stdout)
    XCTAssertTrue(try store.ok("show", "e1").stdout.hasPrefix("event e1"), "a sequence number is the event")
    let missing = try store.run("show", "e9")
    XCTAssertEqual(missing.status, 66)
    XCTAssertTrue(missing.stderr.contains("no event e9 (head is e4)"), missing.stderr)
    let tooFar = try store.run("show", "HEAD~9")
    XCTAssertEqual(tooFar.status, 66, tooFar.description)
    // A mistyped revision is a usage error (64), as version-control.md says.
    for typo in ["HEAD~-1", "HEAD~x", "e1+"] {
      let refused = try store.run("show", typo)
      XCTAssertEqual(refused.status, 64, "\(typo): \(refused)")
      XCTAssertTrue(refused.stderr.contains("'\(typo)' is not a revision"), refused.stderr)
    }
    // The current branch's own name is its head's commit, as another branch's name is.
    let main = try store.ok("show", "main")
    XCTAssertTrue(main.stdout.contains("    c4"), main.stdout)
  }

  func testFromToUntilTakeRevisionsToo() throws {
    let store = try forked()
    let ids = try store.commitIds()
    let c2 = try XCTUnwrap(ids["c2"])
    XCTAssertEqual(try messages(store, "--from", String(c2.prefix(8)), "--to", "HEAD~1"), ["c3", "c2"])
    XCTAssertEqual(try messages(store, "--from", "e3"), ["c4", "c3"], "sequence numbers as before")
    XCTAssertEqual(try messages(store, "--to", "e99"), ["c4", "c3", "c2", "c1"], "a bound past the head is no error")
    let exported = try store.ok("export", "--from", "HEAD~1").lines
    XCTAssertEqual(exported.filter { $0.hasPrefix(#"{"seqNum":"#) }.count, 2, "HEAD~1 is c3: e3 and e4: \(exported)")
    try store.ok("materialize", "--until", "HEAD~2", "-o", "past.db")
    XCTAssertEqual(try store.sqlite(store.sandbox.path("past.db"), "SELECT group_concat(id) FROM todos;"), "t1,t2\n")
    let elsewhere = try store.run("log", "--from", "feat")
    XCTAssertEqual(elsewhere.status, 64, elsewhere.description)
  }
}
