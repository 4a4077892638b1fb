import Foundation
import XCTest
import LStoreSQLite
@testable import LStoreKit

final class StoreCommitTests: XCTestCase {
  var directory: String!

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "lstore-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: directory)
  }

  static var todomvcSchemaPath: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("examples/todomvc/schema.yaml").path
  }

  func makeStore() throws -> Store {
    try Store.initialize(in: directory, options: .init(schemaPath: Self.todomvcSchemaPath, storeId: "todos",
                                                       clientId: "client1", sessionId: "session1"),
                         now: "2026-01-01T00:00:00.000Z")
  }

  func testTodoMVCStateFileNameMatchesLiveStore() throws {
    let schema = try SchemaLoader.load(path: Self.todomvcSchemaPath)
    XCTAssertEqual(StateDatabase.fileName(for: schema, format: .v4), "state-48884714638@4.db")
  }

  func testCommitNumbersEventsLikeLiveStoreAndMaterializes() throws {
    let store = try makeStore()
    let schema = try store.loadSchema()
    let replica = try store.openReplica(schema: schema, now: "2026-01-01T00:00:00.000Z")
    let identity = Replica.Identity(clientId: "client1", sessionId: "session1")
    let author = Author(name: "Ann", email: "ann@example.com")
    _ = try replica.commit([EventInput(name: "uiStateSet", args: ["value": ["newTodoText": "x"]])],
                           message: nil, author: author, time: "t", identity: identity)
    let result = try replica.commit([
      EventInput(name: "v1.TodoCreated", args: ["id": "t1", "text": "Buy milk"]),
      EventInput(name: "uiStateSet", args: ["value": ["filter": "active"]]),
      EventInput(name: "v1.TodoCompleted", args: ["id": "t1"]),
    ], message: "First", author: author, time: "2026-01-01T00:00:00.000Z", identity: identity)
    XCTAssertEqual(result.events.map(\.seqNum.description), ["e1", "e1+1", "e2"])
    XCTAssertEqual(result.events.map(\.parentSeqNum.description), ["e0", "e1", "e1"])
    XCTAssertEqual(result.commit?.first, SeqNum(global: 1))
    XCTAssertEqual(try replica.connection.scalar("SELECT completed FROM todos WHERE id = 't1'"), .integer(1))
    XCTAssertEqual(try replica.connection.scalar("SELECT value FROM uiState WHERE id = 'session1'"),
                   .text(#"{"newTodoText":"x","filter":"active"}"#))
    XCTAssertEqual(try replica.eventlog.head(), SeqNum(global: 2))
  }

  func testFailingMaterializerChangesNothing() throws {
    let store = try makeStore()
    let replica = try store.openReplica(schema: try store.loadSchema(), now: "now")
    let identity = Replica.Identity(clientId: "c", sessionId: "s")
    let author = Author(name: "a", email: "")
    _ = try replica.commit([EventInput(name: "v1.TodoCreated", args: ["id": "t1", "text": "a"])],
                           message: "one", author: author, time: "t", identity: identity)
    XCTAssertThrowsError(try replica.commit([
      EventInput(name: "v1.TodoCreated", args: ["id": "t2", "text": "b"]),
      EventInput(name: "v1.TodoCreated", args: ["id": "t1", "text": "duplicate"]),
    ], message: "two", author: author, time: "t", identity: identity)) { error in
      XCTAssertTrue("\(error)".contains("e3 v1.TodoCreated"), "\(error)")
      XCTAssertTrue("\(error)".contains("UNIQUE"), "\(error)")
    }
    XCTAssertEqual(try replica.eventlog.count(), 1)
    XCTAssertEqual(try replica.connection.scalar("SELECT count(*) FROM todos"), .integer(1))
    XCTAssertEqual(try replica.eventlog.commitCount(), 1)
  }

  func testRebuildGivesTheSameState() throws {
    let store = try makeStore()
    let schema = try store.loadSchema()
    let replica = try store.openReplica(schema: schema, now: "now")
    let identity = Replica.Identity(clientId: "c", sessionId: "s")
    for i in 0..<50 {
      _ = try replica.commit([EventInput(name: "v1.TodoCreated", args: ["id": .string("t\(i)"), "text": "x"]),
                              EventInput(name: "v1.TodoDeleted", args: ["id": .string("t\(i)"), "deletedAt": "2025-06-06T10:01:00Z"])],
                             message: "c\(i)", author: Author(name: "a", email: ""), time: "t", identity: identity)
    }
    let before = try replica.connection.scalar("SELECT group_concat(id || ':' || deletedAt, ',') FROM todos")
    let report = try Rematerializer.rebuild(eventlogPath: store.eventlogPath, statePath: store.statePath(for: schema),
                                            schema: schema, updatedAt: "now")
    XCTAssertEqual(report.events, 100)
    let reopened = try store.openReplica(schema: schema, now: "now")
    XCTAssertEqual(try reopened.connection.scalar("SELECT group_concat(id || ':' || deletedAt, ',') FROM todos"), before)
    XCTAssertEqual(try reopened.connection.scalar("SELECT deletedAt FROM todos WHERE id = 't0'"), .integer(1_749_204_060_000))
  }

  /// An eventlog LiveStore wrote, put into a store by hand, has no lstore tables: opening
  /// it for writing adds them, so commits work (and LiveStore's own tables are untouched).
  func testAnEventlogWithoutLStoreTablesGetsThemWhenOpened() throws {
    let store = try makeStore()
    let plain = try Connection(path: store.eventlogPath, mode: .readWrite)
    for table in ["lstore_commit", "lstore_meta"] { try plain.execute("DROP TABLE \(table)") }
    func liveStoreSchema() throws -> [String] {
      var sql: [String] = []
      try plain.prepare("SELECT coalesce(sql, '') FROM sqlite_master WHERE tbl_name NOT LIKE 'lstore%' AND name != 'sqlite_sequence' ORDER BY name").forEachRow { sql.append($0.string(0)) }
      return sql
    }
    let before = try liveStoreSchema()
    let replica = try store.openReplica(schema: try store.loadSchema(), now: "2026-01-01T00:00:00.000Z")
    XCTAssertTrue(replica.eventlog.hasLStoreRecords)
    let result = try replica.commit([EventInput(name: "v1.TodoCreated", args: ["id": "t1", "text": "one"])], message: "first",
                                    author: Author(name: "Ann", email: "ann@example.com"), time: "2026-01-01T00:00:00.000Z",
                                    identity: .init(clientId: "client1", sessionId: "session1"))
    XCTAssertEqual(result.commit?.message, "first")
    XCTAssertEqual(try liveStoreSchema(), before)
  }
}
