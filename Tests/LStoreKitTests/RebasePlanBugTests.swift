import Foundation
import XCTest
@testable import LStoreKit

/// A plan line naming a commit whose id starts with "e" is read as an event reference.
final class RebasePlanBugTests: XCTestCase {
  func testCommitIdsStartingWithEAreCommits() throws {
    let commit = Commit(id: "e5a1b2c3d4e5f607", first: SeqNum(global: 1), last: SeqNum(global: 1), message: "m",
                        author: Fixtures.author, time: Fixtures.now)
    let units = [HistoryUnit(commit: commit, first: SeqNum(global: 1), last: SeqNum(global: 1), count: 1, clientId: "", sessionId: "")]
    let plan = RebasePlan.render(units, header: "h")
    XCTAssertEqual(try RebasePlan.parse(plan, units: units), RebasePlan.steps(for: units))
    XCTAssertEqual(try RebasePlan.parse("pick e5a1\n", units: units).first?.commit?.id, commit.id)

  }
}
