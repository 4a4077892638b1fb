import Foundation
import TestSupport
import XCTest
@testable import LStoreKit
import LStoreSQLite

/// Rolling events back by their inverse changesets, combined in batches: the state after
/// the rollback is the state the remaining events build, however the undone events
/// overlap, across batch boundaries, and with a unique index the net change could trip.
final class RollBackTests: XCTestCase {
  func testRollingBackManyOverlappingEventsGivesTheStateAtTheBase() throws {
    let directory = try TemporaryDirectory()
    let store = try Fixtures.makeStore(in: directory)
    let replica = try Fixtures.openReplica(store)
    var random = SplitMix64(state: 42)
    var next = 0
    var ids: [String] = []
    func batch(_ count: Int) throws {
      var events: [(String, JSONValue)] = []
      for _ in 0..<count {
        // Mostly changes to the same few rows, so that undone events overlap.
        switch (ids.isEmpty ? 0 : Int.random(in: 0..<5, using: &random)) {
        case 0:
          next += 1
          ids.append("t\(next)")
          events.append(("v1.TodoCreated", ["id": .string("t\(next)"), "text": .string("todo \(next)")]))
        case 1: events.append(("v1.TodoCompleted", ["id": .string(ids.randomElement(using: &random)!)]))
        case 2: events.append(("v1.TodoUncompleted", ["id": .string(ids.randomElement(using: &random)!)]))
        case 3: events.append(("v1.TodoDeleted", ["id": .string(ids.randomElement(using: &random)!),
                                                  "deletedAt": "2026-01-02T00:00:00.000Z"]))
        default: events.append(("uiStateSet", ["value": ["newTodoText": .string("typing \(next)")]]))
        }
      }
      try Fixtures.commit(replica, events)
    }
    try batch(300)
    let base = try replica.eventlog.head()
    let atBase = try TableDump.userRows(statePath: store.statePath(for: replica.schema), schema: replica.schema)
    // More events than one undo batch holds, so the rollback crosses batch boundaries.
    for _ in 0..<9 { try batch(EventReplayer.undoBatch / 4) }
    XCTAssertGreaterThan(try replica.eventlog.count(after: base), EventReplayer.undoBatch)

    let removed = try replica.connection.transaction { try replica.replayer.rollBack(after: base) }
    XCTAssertEqual(removed, 9 * EventReplayer.undoBatch / 4)
    XCTAssertEqual(try replica.eventlog.head(), base)
    XCTAssertEqual(try TableDump.userRows(statePath: store.statePath(for: replica.schema), schema: replica.schema), atBase)
  }

  func testRollingBackSwappedUniqueValuesRestoresThem() throws {
    let directory = try TemporaryDirectory()
    let schemaPath = try directory.write("schema.yaml", """
      name: seats
      tables:
        seats:
          columns:
            id: { type: text, primaryKey: true }
            holder: { type: text }
          indexes:
            - { name: seats_holder, columns: [holder], unique: true }
      events:
        seatAdded:
          args: { id: string, holder: string }
          materializer: INSERT INTO seats (id, holder) VALUES ($id, $holder)
        seatMoved:
          args: { id: string, holder: string }
          materializer: UPDATE seats SET holder = $holder WHERE id = $id
      """)
    let store = try Fixtures.makeStore(in: directory, schemaPath: schemaPath)
    let replica = try Fixtures.openReplica(store)
    try Fixtures.commit(replica, [("seatAdded", ["id": "a", "holder": "ann"]), ("seatAdded", ["id": "b", "holder": "bob"])])
    let base = try replica.eventlog.head()
    let atBase = try TableDump.userRows(statePath: store.statePath(for: replica.schema), schema: replica.schema)
    // a and b swap holders through a free name: undone as a net change, a's "ann" and
    // b's "bob" come back in some order, each colliding with the other's current value.
    try Fixtures.commit(replica, [("seatMoved", ["id": "a", "holder": "tmp"]), ("seatMoved", ["id": "b", "holder": "ann"]),
                                  ("seatMoved", ["id": "a", "holder": "bob"])])
    XCTAssertEqual(try TableDump.userRows(statePath: store.statePath(for: replica.schema), schema: replica.schema)["seats"], ["a|bob", "b|ann"])

    try replica.connection.transaction { _ = try replica.replayer.rollBack(after: base) }
    XCTAssertEqual(try TableDump.userRows(statePath: store.statePath(for: replica.schema), schema: replica.schema), atBase)
  }
}
