import Foundation
import XCTest
@testable import LStoreKit

/// The reflog rebuilds every earlier head: after a mix of commits, amends and resets,
/// `reset` to HEAD@{N} gives exactly the events and commits the head had after entry N.
final class ReflogTests: XCTestCase {
  struct Head: Equatable, CustomStringConvertible {
    var events: [String]
    var commits: [String]
    var description: String { "events \(events), commits \(commits)" }
  }

  private func head(_ replica: Replica) throws -> Head {
    var events: [String] = []
    try replica.eventlog.forEach { row in
      events.append("\(row.record.seqNum) \(row.record.name) \(row.record.argsJSON)")
      return true
    }
    var commits: [String] = []
    try replica.eventlog.forEachCommit { commits.append("\($0.id) \($0.first)..\($0.last) \($0.message)"); return true }
    return Head(events: events, commits: commits)
  }

  private func note() -> HeadMoveNote { HeadMoveNote(action: "reset", message: "test", time: Fixtures.now) }

  func testResetToEveryReflogEntryRebuildsTheRecordedHead() throws {
    let directory = try TemporaryDirectory()
    let store = try Fixtures.makeStore(in: directory)
    let replica = try Fixtures.openReplica(store)
    var recorded: [Head] = []  // oldest first: the head after each reflog entry
    func record() throws { recorded.append(try head(replica)) }
    func create(_ id: String, _ message: String?) throws {
      try Fixtures.commit(replica, [("v1.TodoCreated", ["id": .string(id), "text": .string(id)])], message: message)
      try record()
    }
    func amend(_ message: String?, adding: [(String, JSONValue)] = []) throws {
      _ = try replica.amend(message: message, adding: adding.map { EventInput(name: $0.0, args: $0.1) }, time: Fixtures.now,
                            identity: Fixtures.identity)
      try record()
    }
    func reset(_ target: ResetTarget) throws {
      try replica.reset(to: target, store: store, note: note())
      try record()
    }
    try create("t1", "c1")
    try create("t2", "c2")
    try amend("c2 amended")
    try amend(nil, adding: [("v1.TodoCompleted", ["id": "t2"]), ("uiStateSet", ["value": ["filter": "active"]])])
    try create("t3", nil)  // uncommitted
    try create("t4", "c4")
    try reset(.point(SeqNum(global: 1)))
    try create("t5", "c5")
    try reset(.reflog(index: 2))  // back to t4's head
    try amend("c4 amended")
    try reset(.point(SeqNum(global: 3)))  // inside the amended c2 (e2..e4): cuts it
    try create("t6", "c6")
    try reset(.reflog(index: 5))
    try create("t7", "c7")

    let entries = try replica.eventlog.reflog()
    XCTAssertEqual(entries.count, recorded.count)
    XCTAssertEqual(entries.map(\.action).reversed(), [
      "commit", "commit", "commit (amend)", "commit (amend)", "commit", "commit", "reset", "commit", "reset", "commit (amend)",
      "reset", "commit", "reset", "commit",
    ])
    // Each entry's new head is the head recorded after it.
    for (index, entry) in entries.enumerated() {
      XCTAssertEqual(entry.newHead.description, recorded[recorded.count - 1 - index].events.last.map { String($0.split(separator: " ")[0]) } ?? "e0",
                     "entry \(index)")
    }
    // Resetting to HEAD@{N} for every N, each from a copy of the store as it is now.
    let final = try head(replica)
    for n in 0..<entries.count {
      // At the same depth: the store names its schema by a path relative to its directory
      // when the schema is near (a clone under /tmp), so a copy one level up would not find it.
      let copy = try TemporaryDirectory()
      try FileManager.default.copyItem(atPath: directory.file("store"), toPath: copy.file("store"))
      let other = try Store.discover(from: copy.file("store"))
      let otherReplica = try Fixtures.openReplica(other)
      XCTAssertEqual(try head(otherReplica), final)
      try otherReplica.reset(to: .reflog(index: n), store: other, note: note())
      XCTAssertEqual(try head(otherReplica).events, recorded[recorded.count - 1 - n].events, "HEAD@{\(n)}")
      XCTAssertEqual(try head(otherReplica).commits.map { $0.split(separator: " ").dropFirst().joined(separator: " ") },
                     recorded[recorded.count - 1 - n].commits.map { $0.split(separator: " ").dropFirst().joined(separator: " ") },
                     "HEAD@{\(n)} commits")
      // The state follows the eventlog.
      XCTAssertEqual(try otherReplica.stateHead(), try otherReplica.eventlog.head())
      let todos = try otherReplica.connection.prepare("SELECT count(*) FROM todos").first { $0.int64(0) } ?? -1
      XCTAssertEqual(Int(todos), recorded[recorded.count - 1 - n].events.filter { $0.contains("v1.TodoCreated") }.count, "HEAD@{\(n)} rows")
    }
    // HEAD@{1} twice comes back to where it started, as in git.
    try replica.reset(to: .reflog(index: 1), store: store, note: note())
    try replica.reset(to: .reflog(index: 1), store: store, note: note())
    XCTAssertEqual(try head(replica), final)
  }

  func testAResetThatDropsConfirmedEventsIsRefusedAndChangesNothing() throws {
    let directory = try TemporaryDirectory()
    let store = try Fixtures.makeStore(in: directory)
    let replica = try Fixtures.openReplica(store)
    for i in 1...3 { try Fixtures.commit(replica, [("v1.TodoCreated", ["id": .string("t\(i)"), "text": "x"])], message: "c\(i)") }
    try replica.eventlog.setBackendHead(2)
    let before = try StoreSnapshot.take(replica)
    let entries = try replica.eventlog.reflog().count
    XCTAssertThrowsError(try replica.reset(to: .point(SeqNum(global: 1)), store: store, note: note())) { error in
      XCTAssertEqual(error as? HeadMoveError, .wouldDropConfirmed(base: SeqNum(global: 1), backendHead: 2, count: 1))
    }
    XCTAssertEqual(try StoreSnapshot.take(replica), before)
    XCTAssertEqual(try replica.eventlog.reflog().count, entries)
    try replica.reset(to: .point(SeqNum(global: 2)), store: store, note: note())
    XCTAssertEqual(try replica.eventlog.head(), SeqNum(global: 2))
  }
}
