import Foundation
import XCTest
import LStoreSQLite
@testable import LStoreKit

/// `Replica.commit(streaming:)`: inputs read one at a time inside one transaction.
final class StreamingCommitTests: XCTestCase {
  var directory: String!

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "lstore-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: directory)
  }

  func makeStore() throws -> Store {
    try Store.initialize(in: directory, options: .init(schemaPath: StoreCommitTests.todomvcSchemaPath, storeId: "todos",
                                                       clientId: "client1", sessionId: "session1"),
                         now: "2026-01-01T00:00:00.000Z")
  }

  private let identity = Replica.Identity(clientId: "client1", sessionId: "session1")
  private let author = Author(name: "Ann", email: "ann@example.com")

  private func stream(_ inputs: [EventInput], failAt: Int? = nil) -> () throws -> EventInput? {
    var index = 0
    return {
      defer { index += 1 }
      if index == failAt { throw StoreError.corrupt("input broke at \(index)") }
      return index < inputs.count ? inputs[index] : nil
    }
  }

  private func todo(_ n: Int, line: Int) -> EventInput {
    EventInput(name: "v1.TodoCreated", args: ["id": .string("t\(n)"), "text": "x"], origin: "events.ndjson:\(line)")
  }

  /// Every changeset row as stored, in insertion (rowid) order.
  private func changesetRows(_ connection: Connection) throws -> [String] {
    var rows: [String] = []
    try connection.prepare("SELECT seqNumGlobal, seqNumClient, hex(changeset) FROM __livestore_session_changeset ORDER BY rowid")
      .forEachRow { rows.append("\($0.int64(0)).\($0.int64(1)) \($0.string(2))") }
    return rows
  }

  /// A streamed commit writes eventlog and changeset rows many to a statement, and a
  /// rebuild changeset rows (`BatchedInsert`); the rows must be those one commit per event
  /// writes, in the same order, for a count that is not a multiple of the batch and with a
  /// client-only event.
  func testBatchedChangesetRowsEqualOneRowAtATime() throws {
    var inputs: [EventInput] = []
    for n in 1...70 {
      inputs.append(todo(n, line: n))
      if n % 3 == 0 { inputs.append(EventInput(name: "v1.TodoCompleted", args: ["id": .string("t\(n)")])) }
      if n == 40 { inputs.append(EventInput(name: "uiStateSet", args: ["value": ["filter": "active"]])) }
    }
    inputs.append(EventInput(name: "v1.TodoClearedCompleted", args: ["deletedAt": "2026-01-01T00:00:00.000Z"]))
    XCTAssertNotEqual(inputs.count % BatchedInsert<EventRecord>.rowsPerStatement, 0)

    let batchedStore = try makeStore()
    let batched = try batchedStore.openReplica(schema: try batchedStore.loadSchema(), now: "now")
    _ = try batched.commit(streaming: stream(inputs), message: { _ in "bulk" }, author: author, time: "t", identity: identity)

    let singleDirectory = directory + "/single"
    try FileManager.default.createDirectory(atPath: singleDirectory, withIntermediateDirectories: true)
    let singleStore = try Store.initialize(
      in: singleDirectory, options: .init(schemaPath: StoreCommitTests.todomvcSchemaPath, storeId: "todos",
                                          clientId: "client1", sessionId: "session1"), now: "2026-01-01T00:00:00.000Z")
    let single = try singleStore.openReplica(schema: try singleStore.loadSchema(), now: "now")
    for input in inputs { _ = try single.commit([input], message: "one", author: author, time: "t", identity: identity) }

    let expected = try changesetRows(single.connection)
    XCTAssertEqual(expected.count, inputs.count)
    XCTAssertEqual(try changesetRows(batched.connection), expected)
    let events = "SELECT seqNumGlobal, seqNumClient, parentSeqNumGlobal, parentSeqNumClient, name, argsJson, clientId, sessionId, schemaHash, syncMetadataJson FROM log.eventlog ORDER BY rowid"
    func rows(_ connection: Connection) throws -> [[SQLiteValue]] {
      var rows: [[SQLiteValue]] = []
      try connection.prepare(events).forEachRow { row in rows.append((0..<10).map { row.value(Int32($0)) }) }
      return rows
    }
    let expectedEvents = try rows(single.connection)
    XCTAssertEqual(expectedEvents.count, inputs.count)
    XCTAssertEqual(try rows(batched.connection), expectedEvents)

    // A rebuild writes the same rows again.
    let rebuilt = directory + "/rebuilt.db"
    _ = try Rematerializer.rebuild(eventlogPath: batchedStore.eventlogPath, statePath: rebuilt, schema: batched.schema,
                                   updatedAt: "now")
    XCTAssertEqual(try changesetRows(try Connection(path: rebuilt, mode: .readOnly)), expected)
  }

  func testStreamedCommitAppendsMaterializesAndRecordsChangesets() throws {
    let store = try makeStore()
    let replica = try store.openReplica(schema: try store.loadSchema(), now: "now")
    let inputs = (1...300).map { todo($0, line: $0) } + [EventInput(name: "v1.TodoCompleted", args: ["id": "t7"])]
    var summary: Replica.StreamedCommitSummary?
    let result = try replica.commit(streaming: stream(inputs), message: { summary = $0; return "bulk" },
                                    author: author, time: "t", identity: identity)
    XCTAssertEqual(result.count, 301)
    XCTAssertEqual(result.first, SeqNum(global: 1))
    XCTAssertEqual(result.last, SeqNum(global: 301))
    XCTAssertEqual(summary?.count, 301)
    XCTAssertEqual(summary?.firstName, "v1.TodoCreated")
    XCTAssertEqual(summary?.oneName, false)
    XCTAssertEqual(result.commit?.message, "bulk")
    XCTAssertEqual(try replica.eventlog.head(), SeqNum(global: 301))
    XCTAssertEqual(try replica.connection.scalar("SELECT count(*) FROM todos"), .integer(300))
    XCTAssertEqual(try replica.connection.scalar("SELECT completed FROM todos WHERE id = 't7'"), .integer(1))
    XCTAssertEqual(try replica.connection.scalar("SELECT count(*) FROM __livestore_session_changeset WHERE changeset IS NOT NULL"),
                   .integer(301))
    // Each changeset undoes its own event: roll back the last one and t7 is open again.
    let (_, last) = try StateDatabase.changeset(replica.connection, seqNum: SeqNum(global: 301))
    try Changeset.apply(try Changeset.invert(try XCTUnwrap(last)), to: replica.connection)
    XCTAssertEqual(try replica.connection.scalar("SELECT completed FROM todos WHERE id = 't7'"), .integer(0))
  }

  func testAnInvalidInputNamesItsLineAndNothingIsKept() throws {
    let store = try makeStore()
    let replica = try store.openReplica(schema: try store.loadSchema(), now: "now")
    var inputs = (1...50).map { todo($0, line: $0) }
    inputs[41] = EventInput(name: "v1.TodoCreated", args: ["id": 5], origin: "events.ndjson:42")
    XCTAssertThrowsError(try replica.commit(streaming: stream(inputs), message: { _ in "m" }, author: author, time: "t",
                                            identity: identity)) { error in
      XCTAssertTrue("\(error)".contains("events.ndjson:42"), "\(error)")
    }
    XCTAssertEqual(try replica.eventlog.head(), .root)
    XCTAssertEqual(try replica.connection.scalar("SELECT count(*) FROM todos"), .integer(0))
    XCTAssertEqual(try replica.connection.scalar("SELECT count(*) FROM __livestore_session_changeset"), .integer(0))
  }

  func testAFailingReaderKeepsNothingAndAnEmptyStreamIsRefused() throws {
    let store = try makeStore()
    let replica = try store.openReplica(schema: try store.loadSchema(), now: "now")
    let inputs = (1...20).map { todo($0, line: $0) }
    XCTAssertThrowsError(try replica.commit(streaming: stream(inputs, failAt: 15), message: { _ in "m" }, author: author,
                                            time: "t", identity: identity))
    XCTAssertEqual(try replica.eventlog.head(), .root)
    XCTAssertEqual(try replica.connection.scalar("SELECT count(*) FROM todos"), .integer(0))
    XCTAssertThrowsError(try replica.commit(streaming: stream([]), message: { _ in "m" }, author: author, time: "t",
                                            identity: identity)) { error in
      guard case StoreError.empty = error else { return XCTFail("\(error)") }
    }
    // The store still takes commits afterwards.
    let result = try replica.commit(streaming: stream(inputs), message: { _ in nil }, author: author, time: "t", identity: identity)
    XCTAssertNil(result.commit)
    XCTAssertEqual(result.count, 20)
  }
}
