import XCTest
import LStoreSQLite
@testable import LStoreKit

/// Rebuilding state from the eventlog: equal to the incremental state, stopping at
/// `until`, and automatic when the schema's tables or materializers change.
final class RematerializeTests: XCTestCase {
  var directory: TemporaryDirectory!
  var store: Store!

  override func setUpWithError() throws {
    directory = try TemporaryDirectory()
    store = try Fixtures.makeStore(in: directory)
  }

  override func tearDown() {
    store = nil
    directory = nil
  }

  /// A deterministic mix of every TodoMVC event, in commits of varying size.
  private func commitHistory(_ replica: Replica, events count: Int, seed: UInt64 = 42) throws {
    var random = seed
    func next(_ bound: Int) -> Int {
      random = random &* 6364136223846793005 &+ 1442695040888963407
      return Int((random >> 33) % UInt64(bound))
    }
    var created = 0
    var batch: [(String, JSONValue)] = []
    for i in 0..<count {
      let id = JSONValue.string("t\(created == 0 ? 0 : next(created))")
      switch created == 0 ? 0 : next(7) {
      case 0, 1:
        batch.append(("v1.TodoCreated", ["id": .string("t\(created)"), "text": .string("todo \(i)")]))
        created += 1
      case 2: batch.append(("v1.TodoCompleted", ["id": id]))
      case 3: batch.append(("v1.TodoUncompleted", ["id": id]))
      case 4: batch.append(("v1.TodoDeleted", ["id": id, "deletedAt": .string(ISODate.format(millis: 1_749_204_060_000 + Int64(i) * 1000))]))
      case 5: batch.append(("uiStateSet", ["value": next(2) == 0 ? ["newTodoText": .string("draft \(i)")] : ["filter": "completed"]]))
      default: batch.append(("v1.TodoClearedCompleted", ["deletedAt": "2025-06-07T00:00:00Z"]))
      }
      if next(4) == 0 || i == count - 1 {
        try Fixtures.commit(replica, batch, message: next(3) == 0 ? nil : "commit \(i)")
        batch = []
      }
    }
  }

  private func stateTables(_ path: String) throws -> [String: [String]] {
    try TableDump.dump(try Connection(path: path, mode: .readOnly), skip: ["__livestore_schema", "__livestore_schema_event_defs"])
  }

  func testRebuildFromScratchEqualsIncrementalState() throws {
    let schema = try store.loadSchema()
    let replica = try store.openReplica(schema: schema, now: Fixtures.now)
    try commitHistory(replica, events: 300)
    let incremental = try stateTables(replica.statePath)
    XCTAssertEqual(incremental["todos"]?.isEmpty, false)
    let rebuilt = directory.file("rebuilt.db")
    let report = try Rematerializer.rebuild(eventlogPath: store.eventlogPath, statePath: rebuilt, schema: schema, updatedAt: "later")
    XCTAssertEqual(report.events, 300)
    XCTAssertEqual(report.through, try replica.eventlog.head())
    // User rows, changesets of pending events and lstore's head: all the same.
    XCTAssertEqual(try stateTables(rebuilt), incremental)
    // In place, through the store.
    let inPlace = try Rematerializer.rebuild(eventlogPath: store.eventlogPath, statePath: replica.statePath, schema: schema,
                                             updatedAt: "later")
    XCTAssertEqual(inPlace.events, 300)
    XCTAssertEqual(try stateTables(store.statePath(for: schema)), incremental)
  }

  func testUntilStopsAtTheGivenEvent() throws {
    let schema = try store.loadSchema()
    let replica = try store.openReplica(schema: schema, now: Fixtures.now)
    try Fixtures.commit(replica, [("v1.TodoCreated", ["id": "a", "text": "1"]), ("uiStateSet", ["value": ["filter": "active"]]),
                                  ("uiStateSet", ["value": ["newTodoText": "x"]]), ("v1.TodoCreated", ["id": "b", "text": "2"]),
                                  ("v1.TodoCompleted", ["id": "a"])])
    func rebuild(until: String) throws -> (MaterializeReport, [String: [String]]) {
      let path = directory.file("until-\(until).db")
      let report = try Rematerializer.rebuild(eventlogPath: store.eventlogPath, statePath: path, schema: schema,
                                              until: SeqNum(until)!, updatedAt: Fixtures.now)
      return (report, try TableDump.userRows(statePath: path, schema: schema))
    }
    var (report, rows) = try rebuild(until: "e1")
    XCTAssertEqual(report.events, 1)
    XCTAssertEqual(report.through.description, "e1")
    XCTAssertEqual(rows["todos"], ["a|1|0|NULL"])
    XCTAssertEqual(rows["uiState"], [])
    (report, rows) = try rebuild(until: "e1+1")
    XCTAssertEqual(report.through.description, "e1+1")
    XCTAssertEqual(rows["uiState"], [#"session1|{"newTodoText":"","filter":"active"}"#])
    // A client number past the last client-only event stops at the last one before it.
    (report, rows) = try rebuild(until: "e1+7")
    XCTAssertEqual(report.through.description, "e1+2")
    XCTAssertEqual(report.events, 3)
    (report, rows) = try rebuild(until: "e2")
    XCTAssertEqual(rows["todos"], ["a|1|0|NULL", "b|2|0|NULL"])
    (report, rows) = try rebuild(until: "e99")
    XCTAssertEqual(report.through.description, "e3")
    XCTAssertEqual(rows["todos"], ["a|1|1|NULL", "b|2|0|NULL"])
    (report, rows) = try rebuild(until: "e0")
    XCTAssertEqual(report.events, 0)
    XCTAssertEqual(rows["todos"], [])
  }

  func testAStateBehindTheEventlogIsKeptAndRefusesCommits() throws {
    let schema = try store.loadSchema()
    var replica: Replica? = try store.openReplica(schema: schema, now: Fixtures.now)
    try Fixtures.commit(replica!, [("v1.TodoCreated", ["id": "a", "text": "1"]), ("v1.TodoCreated", ["id": "b", "text": "2"])])
    replica = nil
    _ = try Rematerializer.rebuild(eventlogPath: store.eventlogPath, statePath: store.statePath(for: schema), schema: schema,
                                   until: SeqNum(global: 1), updatedAt: Fixtures.now)
    let reopened = try store.openReplica(schema: schema, now: Fixtures.now)
    XCTAssertNil(reopened.rebuild, "a state that is merely behind is not rebuilt behind the user's back")
    XCTAssertEqual(try reopened.stateHead(), SeqNum(global: 1))
    assertThrows(try Fixtures.commit(reopened, [("v1.TodoCompleted", ["id": "a"])]),
                 contains: ["materialized through e1 but the eventlog is at e2", "lstore materialize"])
    XCTAssertEqual(try reopened.eventlog.count(), 2)
  }

  func testATableChangeSelectsANewStateFileAndRebuilds() throws {
    let original = try store.loadSchema()
    var replica: Replica? = try store.openReplica(schema: original, now: Fixtures.now)
    try commitHistory(replica!, events: 40)
    let oldPath = replica!.statePath
    let oldRows = try TableDump.userRows(statePath: oldPath, schema: original)
    replica = nil
    // Add a column with a default: another table hash, so another state file.
    let yaml = try String(contentsOfFile: Fixtures.todomvcSchemaPath, encoding: .utf8)
      .replacingOccurrences(of: "      deletedAt: { type: datetimeInteger, nullable: true }",
                            with: "      deletedAt: { type: datetimeInteger, nullable: true }\n      priority: { type: integer, default: 3 }")
    let changedPath = try directory.write("changed.yaml", yaml)
    let changed = try SchemaLoader.load(path: changedPath)
    XCTAssertNotEqual(changed.stateHash(.v4), original.stateHash(.v4))
    let newPath = store.statePath(for: changed)
    XCTAssertNotEqual(newPath, oldPath)
    XCTAssertFalse(FileManager.default.fileExists(atPath: newPath))
    let reopened = try store.openReplica(schema: changed, now: Fixtures.now)
    let rebuild = try XCTUnwrap(reopened.rebuild, "opening with a changed table must rebuild")
    XCTAssertEqual(rebuild.events, 40)
    XCTAssertEqual(reopened.statePath, newPath)
    XCTAssertEqual(try reopened.stateHead(), try reopened.eventlog.head())
    let newRows = try TableDump.userRows(statePath: newPath, schema: changed)
    XCTAssertEqual(newRows["todos"]?.count, oldRows["todos"]?.count)
    XCTAssertTrue(newRows["todos"]!.allSatisfy { $0.hasSuffix("|3") }, "\(newRows["todos"]!.prefix(3))")
    XCTAssertEqual(newRows["uiState"], oldRows["uiState"])
    // The old file is left as it was (LiveStore never deletes old state files).
    XCTAssertEqual(try TableDump.userRows(statePath: oldPath, schema: original), oldRows)
    // The LiveStore bookkeeping names the new table hash.
    let connection = try Connection(path: newPath, mode: .readOnly)
    XCTAssertEqual(try connection.scalar("SELECT schemaHash FROM __livestore_schema WHERE tableName = 'todos'"),
                   .integer(LiveStoreHash.tableHash(changed.table(named: "todos")!, format: .v4)))
    // Commits continue on the new state.
    try Fixtures.commit(reopened, [("v1.TodoCreated", ["id": "new", "text": "n"])])
    XCTAssertEqual(try connection.scalar("SELECT priority FROM todos WHERE id = 'new'"), .integer(3))
  }

  func testAMaterializerChangeRebuildsTheSameStateFile() throws {
    let original = try store.loadSchema()
    var replica: Replica? = try store.openReplica(schema: original, now: Fixtures.now)
    try Fixtures.commit(replica!, [("v1.TodoCreated", ["id": "a", "text": "milk"])])
    replica = nil
    let yaml = try String(contentsOfFile: Fixtures.todomvcSchemaPath, encoding: .utf8)
      .replacingOccurrences(of: "VALUES ($id, $text, 0)", with: "VALUES ($id, upper($text), 0)")
    let changed = try SchemaLoader.load(path: try directory.write("upper.yaml", yaml))
    XCTAssertEqual(changed.stateHash(.v4), original.stateHash(.v4))
    XCTAssertTrue(try StateStatus.read(statePath: store.statePath(for: changed), schema: changed).stale)
    let reopened = try store.openReplica(schema: changed, now: Fixtures.now)
    XCTAssertNotNil(reopened.rebuild)
    XCTAssertEqual(try reopened.connection.scalar("SELECT text FROM todos"), .text("MILK"))
    XCTAssertFalse(try StateStatus.read(statePath: reopened.statePath, schema: changed).stale)
  }

  func testAMissingStateIsRebuiltOnOpen() throws {
    let schema = try store.loadSchema()
    var replica: Replica? = try store.openReplica(schema: schema, now: Fixtures.now)
    try commitHistory(replica!, events: 25)
    let before = try stateTables(replica!.statePath)
    replica = nil
    try FileManager.default.removeItem(atPath: store.statePath(for: schema))
    let reopened = try store.openReplica(schema: schema, now: Fixtures.now)
    XCTAssertEqual(reopened.rebuild?.events, 25)
    XCTAssertEqual(try stateTables(reopened.statePath), before)
  }
}
