import Foundation
import XCTest
@testable import LStoreKit

/// Push, pull and rebase between stores, with a third store as the backend (no sockets).
final class SyncClientTests: SyncStoresTestCase {

  func commit(_ replica: Replica, _ client: String, _ events: [EventInput], _ message: String) throws {
    _ = try replica.commit(events, message: message, author: Author(name: client, email: ""), time: "t",
                           identity: .init(clientId: client, sessionId: "s-\(client)"))
  }

  func created(_ id: String, _ text: String = "x") -> EventInput {
    EventInput(name: "v1.TodoCreated", args: ["id": .string(id), "text": .string(text)])
  }

  func events(_ replica: Replica) throws -> [String] {
    var list: [String] = []
    try replica.eventlog.forEach { row in
      list.append("\(row.seqNum) \(row.name) \(row.argsJSON) \(row.clientId)")
      return true
    }
    return list
  }

  func testPushPullRebaseRoundTrip() async throws {
    let (backendStore, _) = try makeStore("backend", client: "server")
    let (_, a) = try makeStore("a", client: "A")
    let (_, b) = try makeStore("b", client: "B")
    let backend = try LocalStoreTransport(path: backendStore.workDirectory, now: "now")

    try commit(a, "A", [created("a1"), created("a2")], "A's todos")
    let pushedA = try await SyncClient(replica: a, transport: backend).push()
    XCTAssertEqual(pushedA.pushed, 2)
    XCTAssertEqual(try a.eventlog.backendHead(), 2)
    XCTAssertEqual(try a.eventlog.pendingCount().synced, 0)

    // B commits without knowing about A: its events are pending and must be rebased.
    try commit(b, "B", [created("b1"), EventInput(name: "uiStateSet", args: ["value": ["filter": "active"]]),
                        EventInput(name: "v1.TodoCompleted", args: ["id": "b1"])], "B's todo")
    let rejected = try? await SyncClient(replica: b, transport: backend).push()
    XCTAssertNil(rejected, "B's push must be refused while the backend is ahead")
    XCTAssertEqual(try b.eventlog.count(), 3, "a refused push changes nothing")

    let pulled = try await SyncClient(replica: b, transport: backend).pull()
    XCTAssertEqual(pulled.pulled, 2)
    XCTAssertEqual(pulled.rebased, 3)
    XCTAssertEqual(try events(b), [
      #"e1 v1.TodoCreated {"id":"a1","text":"x"} A"#,
      #"e2 v1.TodoCreated {"id":"a2","text":"x"} A"#,
      #"e3 v1.TodoCreated {"id":"b1","text":"x"} B"#,
      #"e3+1 uiStateSet {"id":"s-B","value":{"filter":"active"}} B"#,
      #"e4 v1.TodoCompleted {"id":"b1"} B"#,
    ])
    XCTAssertEqual(try b.connection.scalar("SELECT group_concat(id || completed, ',') FROM (SELECT * FROM todos ORDER BY id)"),
                   .text("a10,a20,b11"))
    // The commit moved with its events.
    let commit = try XCTUnwrap(try b.eventlog.commit(containing: SeqNum(global: 4)))
    XCTAssertEqual(commit.message, "B's todo")
    XCTAssertEqual(commit.first, SeqNum(global: 3))
    XCTAssertEqual(commit.last, SeqNum(global: 4))

    let pushedB = try await SyncClient(replica: b, transport: backend).push()
    XCTAssertEqual(pushedB.pushed, 2, "client-only events are never pushed")

    let pulledA = try await SyncClient(replica: a, transport: backend).pull()
    XCTAssertEqual(pulledA.pulled, 2)
    XCTAssertEqual(pulledA.rebased, 0)
    let synced = { (list: [String]) in list.filter { !$0.hasPrefix("e3+1") } }
    XCTAssertEqual(synced(try events(a)), synced(try events(b)))
    // State agrees with a rebuild from scratch.
    XCTAssertEqual(try b.stateHead(), try b.eventlog.head())
  }

  func testPullThatConfirmsOwnEventsDoesNotRebase() async throws {
    let (backendStore, _) = try makeStore("backend", client: "server")
    let (_, a) = try makeStore("a", client: "A")
    let backend = try LocalStoreTransport(path: backendStore.workDirectory, now: "now")
    try commit(a, "A", [created("a1")], "one")
    _ = try await SyncClient(replica: a, transport: backend).push()
    try a.eventlog.setBackendHead(0)  // as if the push confirmation was lost in a crash
    let result = try await SyncClient(replica: a, transport: backend).pull()
    XCTAssertEqual(result.confirmed, 1)
    XCTAssertEqual(result.rebased, 0)
    XCTAssertEqual(try a.eventlog.backendHead(), 1)
  }

  /// B's pending event fails on top of A's pulled one (same primary key).
  private func stoppedPull() async throws -> (b: Replica, before: [String], result: PullIntegration.Result) {
    let (backendStore, _) = try makeStore("backend", client: "server")
    let (_, a) = try makeStore("a", client: "A")
    let (_, b) = try makeStore("b", client: "B")
    let backend = try LocalStoreTransport(path: backendStore.workDirectory, now: "now")
    try commit(a, "A", [created("same")], "A")
    _ = try await SyncClient(replica: a, transport: backend).push()
    try commit(b, "B", [created("same")], "B")
    let before = try events(b)
    let result = try await SyncClient(replica: b, transport: backend).pull()
    return (b, before, result)
  }

  func testAPendingEventThatFailsOnReplayKeepsThePullAndStopsAsARebase() async throws {
    let (b, _, result) = try await stoppedPull()
    let stop = try XCTUnwrap(result.stopped, "the replay must stop")
    XCTAssertEqual(stop.reason, .failure)
    XCTAssertEqual(stop.event, SeqNum(global: 1))
    XCTAssertTrue(stop.message.contains("e1 v1.TodoCreated"), stop.message)
    XCTAssertEqual(try events(b), [#"e1 v1.TodoCreated {"id":"same","text":"x"} A"#], "the pulled event is kept")
    XCTAssertEqual(try b.eventlog.backendHead(), 1)
    let state = try XCTUnwrap(try Rebase.loadState(b.eventlog))
    XCTAssertEqual(state.kind, .pull)
    // --skip drops B's commit; it stays in the reflog.
    let rebase = try XCTUnwrap(try Rebase.inProgress(b, time: { "now" }))
    guard case .finished = try rebase.skip() else { return XCTFail("skip must finish the rebase") }
    XCTAssertNil(try Rebase.loadState(b.eventlog))
    XCTAssertEqual(try events(b), [#"e1 v1.TodoCreated {"id":"same","text":"x"} A"#])
    XCTAssertEqual(try b.connection.scalar("SELECT count(*) FROM todos"), .integer(1))
  }

  func testAbortOfAStoppedPullRestoresTheStoreAsBeforeThePull() async throws {
    let (b, before, result) = try await stoppedPull()
    XCTAssertNotNil(result.stopped)
    let rebase = try XCTUnwrap(try Rebase.inProgress(b, time: { "now" }))
    try rebase.abort()
    XCTAssertEqual(try events(b), before)
    XCTAssertEqual(try b.eventlog.backendHead(), 0)
    XCTAssertEqual(try b.connection.scalar("SELECT text FROM todos WHERE id = 'same'"), .text("x"))
    XCTAssertEqual(try b.connection.scalar("SELECT count(*) FROM __livestore_session_changeset"), .integer(1),
                   "the restored pending event has its changeset again")
    XCTAssertNil(try Rebase.loadState(b.eventlog))
  }
}
