import XCTest
import LStoreSQLite
@testable import LStoreKit

/// The state database keeps a session changeset per pending event (format spec §2.5–2.6),
/// and inverting and applying them newest-first restores the earlier rows.
final class SessionChangesetTests: XCTestCase {
  var directory: TemporaryDirectory!
  var store: Store!
  var replica: Replica!

  override func setUpWithError() throws {
    directory = try TemporaryDirectory()
    store = try Fixtures.makeStore(in: directory)
    replica = try Fixtures.openReplica(store)
  }

  override func tearDown() {
    replica = nil
    store = nil
    directory = nil
  }

  private func changesetRows(_ connection: Connection? = nil) throws -> [(SeqNum, [UInt8]?)] {
    var rows: [(SeqNum, [UInt8]?)] = []
    try (connection ?? replica.connection).prepare(
      "SELECT seqNumGlobal, seqNumClient, changeset FROM __livestore_session_changeset ORDER BY seqNumGlobal, seqNumClient"
    ).forEachRow { rows.append((SeqNum(global: $0.int64(0), client: $0.int64(1)), $0.blob(2))) }
    return rows
  }

  func testAChangesetIsRecordedForEveryPendingEvent() throws {
    try Fixtures.commit(replica, [("v1.TodoCreated", ["id": "t1", "text": "Buy milk"]),
                                  ("uiStateSet", ["value": ["filter": "active"]]),
                                  ("v1.TodoCompleted", ["id": "t1"]),
                                  ("v1.TodoCompleted", ["id": "nobody"])])
    let rows = try changesetRows()
    XCTAssertEqual(rows.map(\.0.description), ["e1", "e1+1", "e2", "e3"])
    XCTAssertNil(rows[3].1, "an event that changed nothing has a NULL changeset")
    let created = try Changeset.changes(in: try XCTUnwrap(rows[0].1))
    XCTAssertEqual(created.count, 1)
    XCTAssertEqual(created.first?.table, "todos")
    XCTAssertEqual(created.first?.operation, .insert)
    XCTAssertEqual(created.first?.new, [.text("t1"), .text("Buy milk"), .integer(0), .null])
    XCTAssertEqual(created.first?.primaryKey, [true, false, false, false])
    let completed = try Changeset.changes(in: try XCTUnwrap(rows[2].1))
    XCTAssertEqual(completed.map(\.operation), [.update])
    XCTAssertEqual(completed[0].old, [.text("t1"), nil, .integer(0), nil])
    XCTAssertEqual(completed[0].new, [nil, nil, .integer(1), nil])
    let document = try Changeset.changes(in: try XCTUnwrap(rows[1].1))
    XCTAssertEqual(document.map(\.table), ["uiState"])
    // Readable as row changes with column names.
    let changes = try XCTUnwrap(try RowChanges.read(statePath: replica.statePath, seqNum: SeqNum(global: 2)))
    XCTAssertEqual(changes.count, 1)
    XCTAssertEqual(changes[0].key.map(\.0), ["id"])
    XCTAssertEqual(changes[0].columns.map(\.name), ["completed"])
    XCTAssertEqual(try RowChanges.read(statePath: replica.statePath, seqNum: SeqNum(global: 3))?.count, 0)
    XCTAssertNil(try RowChanges.read(statePath: replica.statePath, seqNum: SeqNum(global: 9)))
  }

  func testInvertingNewestFirstRestoresThePriorRows() throws {
    try Fixtures.commit(replica, [("v1.TodoCreated", ["id": "t1", "text": "a"]), ("v1.TodoCreated", ["id": "t2", "text": "b"]),
                                  ("uiStateSet", ["value": ["newTodoText": "draft"]])])
    let before = try TableDump.dump(replica.connection, skip: ["__livestore_session_changeset", "lstore_state"])
    let firstNew = try replica.eventlog.head()
    try Fixtures.commit(replica, [("v1.TodoCompleted", ["id": "t1"]),
                                  ("v1.TodoDeleted", ["id": "t2", "deletedAt": "2025-06-06T10:00:00Z"]),
                                  ("v1.TodoCreated", ["id": "t3", "text": "c"]),
                                  ("uiStateSet", ["value": ["filter": "completed"]]),
                                  ("v1.TodoClearedCompleted", ["deletedAt": "2025-06-07T10:00:00Z"]),
                                  ("livestore.RawSql", ["sql": "DELETE FROM todos WHERE id = $id", "bindValues": ["id": "t3"]])])
    XCTAssertNotEqual(try TableDump.dump(replica.connection, skip: ["__livestore_session_changeset", "lstore_state"]), before)
    let newer = try changesetRows().filter { $0.0 > firstNew }
    XCTAssertEqual(newer.count, 6)
    try replica.connection.transaction {
      for (_, blob) in newer.reversed() {
        guard let blob else { continue }
        try Changeset.apply(try Changeset.invert(blob), to: replica.connection)
      }
    }
    XCTAssertEqual(try TableDump.dump(replica.connection, skip: ["__livestore_session_changeset", "lstore_state"]), before)
  }

  func testConfirmedEventsGetNoChangesetOnReplay() throws {
    try Fixtures.commit(replica, [("v1.TodoCreated", ["id": "t1", "text": "a"]), ("v1.TodoCreated", ["id": "t2", "text": "b"]),
                                  ("uiStateSet", ["value": ["filter": "active"]]), ("v1.TodoCompleted", ["id": "t2"])])
    replica = nil
    let log = try Connection(path: store.eventlogPath, mode: .readWrite)
    try Eventlog(connection: log).setBackendHead(2)
    let rebuilt = directory.file("rebuilt.db")
    _ = try Rematerializer.rebuild(eventlogPath: store.eventlogPath, statePath: rebuilt, schema: try store.loadSchema(),
                                   updatedAt: Fixtures.now)
    let rows = try changesetRows(try Connection(path: rebuilt, mode: .readOnly))
    // e1 and e2 are confirmed; e2+1 (client-only after the backend head) and e3 are pending.
    XCTAssertEqual(rows.map(\.0.description), ["e2+1", "e3"])
  }
}
