import Foundation
import XCTest
@testable import LStoreKit

final class RevisionTests: XCTestCase {
  func testParse() throws {
    func parsed(_ text: String) throws -> (Revision.Base, Int) {
      let revision = try Revision.parse(text)
      XCTAssertEqual(revision.text, text)
      return (revision.base, revision.back)
    }
    XCTAssertTrue(try parsed("HEAD") == (.head, 0))
    XCTAssertTrue(try parsed("@") == (.head, 0))
    XCTAssertTrue(try parsed("HEAD~3") == (.head, 3))
    XCTAssertTrue(try parsed("HEAD~") == (.head, 1))
    XCTAssertTrue(try parsed("HEAD^^") == (.head, 2))
    XCTAssertTrue(try parsed("HEAD~2^") == (.head, 3), "mixed forms add up, as first parents do in git")
    XCTAssertTrue(try parsed("HEAD~0") == (.head, 0))
    XCTAssertTrue(try parsed("@~12") == (.head, 12))
    XCTAssertTrue(try parsed("main~2") == (.name("main"), 2))
    XCTAssertTrue(try parsed("feature/x^") == (.name("feature/x"), 1))
    XCTAssertTrue(try parsed("e5") == (.name("e5"), 0))
    XCTAssertTrue(try parsed("e5+1~1") == (.name("e5+1"), 1))
    XCTAssertTrue(try parsed("0123abcd") == (.name("0123abcd"), 0))
    XCTAssertTrue(try parsed("HEAD@{2}") == (.reflog(2), 0))
    XCTAssertTrue(try parsed("@{0}") == (.reflog(0), 0))
    XCTAssertTrue(try parsed("@{u}") == (.upstream, 0))
    XCTAssertTrue(try parsed("@{upstream}") == (.upstream, 0))
    XCTAssertTrue(try parsed("HEAD@{u}~1") == (.upstream, 1))
    // Events, commit ids and branch names still parse as names.
    for name in ["e5", "e5+1", "e0+2r1", "feat-x_1.2", "4ff5b7aa"] { XCTAssertTrue(try parsed(name) == (.name(name), 0), name) }
    // A mistyped count or event number is malformed, not a name nothing has.
    for malformed in ["", "~", "^", "~3", "HEAD@{-1}", "HEAD@{x}", "@{}", "HEAD~99999999999999999999999",
                      "HEAD~-1", "HEAD~x", "e1+", "e1+x", "main~1x", "a b", "x:y"] {
      XCTAssertThrowsError(try Revision.parse(malformed), malformed) { error in
        XCTAssertEqual(error as? RevisionError, .malformed(malformed), malformed)
      }
    }
  }

  /// main: c1 (e1), c2 (e2..e3), an uncommitted run from another client (e4, e5), c3 (e6);
  /// branch `side` at e3 with one more commit.
  private func store() throws -> (TemporaryDirectory, Store, Replica, [Commit]) {
    let directory = try TemporaryDirectory()
    let store = try Fixtures.makeStore(in: directory)
    let replica = try Fixtures.openReplica(store)
    var commits: [Commit] = []
    commits.append(try Fixtures.commit(replica, [("v1.TodoCreated", ["id": "t1", "text": "a"])], message: "c1").commit!)
    commits.append(try Fixtures.commit(replica, [("v1.TodoCreated", ["id": "t2", "text": "b"]), ("v1.TodoCompleted", ["id": "t1"])],
                                       message: "c2").commit!)
    let other = Replica.Identity(clientId: "app", sessionId: "tab")
    try Fixtures.commit(replica, [("v1.TodoCreated", ["id": "t3", "text": "c"]), ("v1.TodoCompleted", ["id": "t3"])], message: nil, identity: other)
    commits.append(try Fixtures.commit(replica, [("v1.TodoCreated", ["id": "t4", "text": "d"])], message: "c3").commit!)
    _ = try store.createBranch("side", at: SeqNum(global: 3), schema: try store.loadSchema(), now: Fixtures.now)
    return (directory, store, replica, commits)
  }

  func testResolve() throws {
    let (directory, store, replica, commits) = try store()
    defer { withExtendedLifetime(directory) {} }
    let resolver = RevisionResolver(eventlog: replica.eventlog, store: store)
    func point(_ text: String) throws -> SeqNum { try resolver.point(text) }
    XCTAssertEqual(try point("HEAD"), SeqNum(global: 6))
    XCTAssertEqual(try point("@"), SeqNum(global: 6))
    XCTAssertEqual(try point("HEAD~1"), SeqNum(global: 5), "one unit: c3")
    XCTAssertEqual(try point("HEAD~2"), SeqNum(global: 3), "the uncommitted run is one unit")
    XCTAssertEqual(try point("HEAD^^^"), SeqNum(global: 1))
    XCTAssertEqual(try point("HEAD~4"), .root)
    XCTAssertEqual(try point("e4"), SeqNum(global: 4))
    XCTAssertEqual(try point("e0"), .root)
    XCTAssertEqual(try point(commits[1].id), SeqNum(global: 3), "a commit is its last event")
    XCTAssertEqual(try point(String(commits[1].id.prefix(6))), SeqNum(global: 3))
    XCTAssertEqual(try point(commits[1].id + "~1"), SeqNum(global: 1))
    XCTAssertEqual(try point("main"), SeqNum(global: 6), "the current branch by name")
    XCTAssertEqual(try point("main~1"), SeqNum(global: 5))
    XCTAssertEqual(try point("@{u}"), .root, "nothing pushed")
    XCTAssertEqual(try resolver.resolve("side"), .point(SeqNum(global: 3), branch: "side"))
    XCTAssertEqual(try resolver.resolve("side~1"), .point(SeqNum(global: 1), branch: "side"))
    XCTAssertEqual(try resolver.resolve("HEAD@{0}"), .reflog(index: 0, entry: nil))
    guard case .reflog(1, let entry?) = try resolver.resolve("HEAD@{1}") else { return XCTFail("HEAD@{1}") }
    XCTAssertEqual(entry.action, "commit")
    XCTAssertEqual(entry.newHead, SeqNum(global: 6))

    assertThrows(try point("HEAD~5"), contains: ["goes back further than history (4 units of history there)"])
    assertThrows(try point("e9"), contains: ["no event e9 (head is e6)"])
    assertThrows(try point("nope"), contains: ["unknown revision 'nope'"])
    assertThrows(try point("abc"), contains: ["unknown revision 'abc'"])
    assertThrows(try point("side"), contains: ["'side' is a point on branch 'side', not on this branch"])
    assertThrows(try point("HEAD@{1}"), contains: ["is a past head from the reflog"])
    assertThrows(try resolver.resolve("HEAD@{9}"), contains: ["the reflog has only 4 entries"])
    assertThrows(try resolver.resolve("HEAD@{1}~1"), contains: ["is not a revision"])
    // Without a store, names of branches and the reflog cannot be resolved.
    let bare = RevisionResolver(eventlog: replica.eventlog, store: nil)
    XCTAssertEqual(try bare.point("HEAD~1"), SeqNum(global: 5))
    assertThrows(try bare.resolve("HEAD@{1}"), contains: ["needs a store"])
  }
}
