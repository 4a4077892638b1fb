import Foundation
import XCTest
@testable import LStoreKit

final class RebasePlanTests: XCTestCase {
  private func commit(_ id: String, _ first: Int64, _ last: Int64, _ message: String) -> Commit {
    Commit(id: id, first: SeqNum(global: first), last: SeqNum(global: last), message: message, author: Fixtures.author, time: Fixtures.now)
  }

  /// Units after e10: commit a1 (e11), commit b2 (e12..e14), an uncommitted run (e15, e16),
  /// commit c3 (e17).
  private lazy var units: [HistoryUnit] = [
    HistoryUnit(commit: commit("a1a1a1a1a1a1a1a1", 11, 11, "first\n\nbody"), first: SeqNum(global: 11), last: SeqNum(global: 11), count: 1, clientId: "", sessionId: ""),
    HistoryUnit(commit: commit("b2b2b2b2b2b2b2b2", 12, 14, "second"), first: SeqNum(global: 12), last: SeqNum(global: 14), count: 3, clientId: "", sessionId: ""),
    HistoryUnit(commit: nil, first: SeqNum(global: 15), last: SeqNum(global: 16), count: 2, clientId: "app", sessionId: "tab"),
    HistoryUnit(commit: commit("c3c3c3c3c3c3c3c3", 17, 17, "third"), first: SeqNum(global: 17), last: SeqNum(global: 17), count: 1, clientId: "", sessionId: ""),
  ]

  private func seq(_ n: Int64) -> SeqNum { SeqNum(global: n) }

  func testRenderedPlanParsesBackToTheDefaultSteps() throws {
    let text = RebasePlan.render(units, header: "Rebase e11..e17 onto e10 (main)")
    XCTAssertEqual(Array(text.split(separator: "\n", omittingEmptySubsequences: false).prefix(6)), [
      "pick a1a1a1a1a1a1a1a1 first", "pick b2b2b2b2b2b2b2b2 second", "pick e15..e16 (2 events from app/tab, no commit)",
      "pick c3c3c3c3c3c3c3c3 third", "", "# Rebase e11..e17 onto e10 (main) (4 commands)",
    ])
    XCTAssertFalse(text.split(separator: "\n").contains { $0.hasSuffix(" ") }, "no trailing spaces")
    XCTAssertEqual(try RebasePlan.parse(text, units: units), RebasePlan.steps(for: units))
  }

  func testEveryVerbAndItsAbbreviation() throws {
    let plan = """
      # comments and blank lines are ignored

      reword a1a1 a new message, with spaces
      x make test
      e b2b2b2b2b2b2b2b2 second
      drop e15..e16
      f c3c3c3c3
      """
    let steps = try RebasePlan.parse(plan, units: units)
    XCTAssertEqual(steps.map(\.verb), [.reword, .exec, .edit, .fixup])
    XCTAssertEqual(steps[0].text, "a new message, with spaces")
    XCTAssertEqual(steps[0].commit?.id, "a1a1a1a1a1a1a1a1")
    XCTAssertEqual(steps[1].text, "make test")
    XCTAssertNil(steps[1].first)
    XCTAssertEqual(steps[2].first, seq(12))
    XCTAssertEqual(steps[2].last, seq(14))
    XCTAssertEqual(steps[3].commit?.message, "third")
    let long = try RebasePlan.parse("pick a1a1\nsquash b2b2\nexec   echo  two  spaces\nFIXUP c3c3\n", units: units)
    XCTAssertEqual(long.map(\.verb), [.pick, .squash, .exec, .fixup])
    XCTAssertEqual(long[2].text, "echo  two  spaces", "exec keeps the rest of the line")
    let short = try RebasePlan.parse("p a1a1\nr b2b2 renamed\ns c3c3\nd e15\n", units: units)
    XCTAssertEqual(short.map(\.verb), [.pick, .reword, .squash])
  }

  func testEventRefsAndRanges() throws {
    let steps = try RebasePlan.parse("pick e16\npick e12..e14\npick e11\n", units: units)
    XCTAssertEqual(steps.map(\.first), [seq(16), seq(12), seq(11)])
    XCTAssertNil(steps[0].commit, "a lone event is replayed without a commit")
    XCTAssertEqual(steps[1].commit?.id, "b2b2b2b2b2b2b2b2", "a range that is exactly one commit is that commit")
    XCTAssertEqual(steps[2].commit?.id, "a1a1a1a1a1a1a1a1")
    let part = try RebasePlan.parse("pick e12..e13\n", units: units)
    XCTAssertNil(part[0].commit, "part of a commit is only events")
    XCTAssertEqual(part[0].last, seq(13))
  }

  func testErrorsNameTheLine() {
    func error(_ plan: String) -> RebasePlanError? {
      do {
        _ = try RebasePlan.parse(plan, units: units)
        return nil
      } catch {
        return error as? RebasePlanError
      }
    }
    XCTAssertEqual(error("pick a1a1\n\nfrob b2b2\n"), RebasePlanError(line: 3, reason: "unknown command 'frob' (pick, reword, edit, squash, fixup, exec, drop, noop)"))
    XCTAssertEqual(error("pick\n")?.line, 1)
    XCTAssertEqual(error("pick\n")?.reason, "pick needs a commit or event")
    XCTAssertEqual(error("exec\n")?.reason, "exec needs a command")
    XCTAssertEqual(error("reword a1a1\n")?.reason, "reword needs the new message after the commit on the same line")
    XCTAssertEqual(error("pick a1a\n")?.reason, "'a1a' is not a commit being rebased (give its id, or at least 4 characters of it)")
    XCTAssertEqual(error("pick ffff\n")?.line, 1)
    XCTAssertEqual(error("pick e10\n")?.reason, "e10 is not among the events being rebased (e11..e17)")
    XCTAssertEqual(error("pick e17..e18\n")?.reason, "e17..e18 is not among the events being rebased (e11..e17)")
    XCTAssertEqual(error("pick e14..e12\n")?.reason, "'e14..e12' is not an event (e42) or a range (e42..e50)")
    // Not events, so looked up as a commit id (ids may start with "e").
    XCTAssertEqual(error("pick ex\n")?.reason, "'ex' is not a commit being rebased (give its id, or at least 4 characters of it)")
    // Overlaps: a commit and an event of it, two ranges, the same commit twice.
    XCTAssertEqual(error("pick b2b2\n# x\npick e13\n"), RebasePlanError(line: 3, reason: "e13 names events that line 1 already names"))
    XCTAssertEqual(error("pick e11..e12\npick e12..e14\n")?.reason, "e12..e14 names events that line 1 already names")
    XCTAssertEqual(error("pick a1a1\npick a1a1a1\n")?.line, 2)
    // squash and fixup need a commit before them (an exec is not one).
    XCTAssertEqual(error("squash a1a1\n"), RebasePlanError(line: 1, reason: "cannot squash without a previous commit"))
    XCTAssertEqual(error("# c\nexec true\nfixup a1a1\n"), RebasePlanError(line: 3, reason: "cannot fixup without a previous commit"))
    XCTAssertEqual("\(error("squash a1a1\n")!)", "rebase plan line 1: cannot squash without a previous commit")
    XCTAssertNil(error("pick a1a1\nsquash b2b2\n"))
  }

  func testAmbiguousPrefixes() {
    let twins = [
      HistoryUnit(commit: commit("abcd0001aaaaaaaa", 1, 1, "x"), first: seq(1), last: seq(1), count: 1, clientId: "", sessionId: ""),
      HistoryUnit(commit: commit("abcd0002bbbbbbbb", 2, 2, "y"), first: seq(2), last: seq(2), count: 1, clientId: "", sessionId: ""),
    ]
    assertThrows(try RebasePlan.parse("pick abcd\n", units: twins), contains: ["line 1", "commit id prefix 'abcd' is ambiguous"])
    XCTAssertEqual(try RebasePlan.parse("pick ABCD0002\n", units: twins).first?.commit?.id, "abcd0002bbbbbbbb", "ids are case-insensitive")
  }

  func testAnEmptyPlanHasNoSteps() throws {
    XCTAssertEqual(try RebasePlan.parse("", units: units), [])
    XCTAssertEqual(try RebasePlan.parse("# all commented\n\ndrop a1a1\n", units: units), [])
  }
}
