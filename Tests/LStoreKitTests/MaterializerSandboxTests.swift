import Foundation
import XCTest
@testable import LStoreKit

/// Materializer SQL (and livestore.RawSql args) cannot end lstore's transaction, reach the
/// eventlog or rewrite bookkeeping: a commit stays all-or-nothing whatever the SQL says.
final class MaterializerSandboxTests: XCTestCase {
  var directory: String!

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "lstore-sandbox-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

  func testRawSQLThatEscapesTheTransactionIsRefusedAndChangesNothing() throws {
    let store = try Store.initialize(in: directory, options: .init(schemaPath: StoreCommitTests.todomvcSchemaPath, storeId: "t"),
                                     now: "now")
    let replica = try store.openReplica(schema: try store.loadSchema(), now: "now")
    let identity = Replica.Identity(clientId: "c", sessionId: "s")
    for sql in ["COMMIT", "ROLLBACK", "SAVEPOINT x", "DELETE FROM log.eventlog", "ATTACH DATABASE ':memory:' AS x",
                "PRAGMA journal_mode=OFF", "DELETE FROM __livestore_session_changeset", "DROP TABLE lstore_state",
                "UPDATE __livestore_schema SET schemaHash = 0"] {
      XCTAssertThrowsError(try replica.commit([
        EventInput(name: "v1.TodoCreated", args: ["id": "t1", "text": "x"]),
        EventInput(name: "livestore.RawSql", args: ["sql": .string(sql)]),
      ], message: "m", author: Author(name: "a", email: ""), time: "t", identity: identity), sql) { error in
        XCTAssertTrue("\(error)".contains("not allowed here"), "\(sql): \(error)")
      }
      XCTAssertEqual(try replica.eventlog.count(), 0, sql)
      XCTAssertEqual(try replica.connection.scalar("SELECT count(*) FROM todos"), .integer(0), sql)
      XCTAssertFalse(replica.connection.isInTransaction, sql)
    }
    // Ordinary SQL still works, reading state included.
    _ = try replica.commit([EventInput(name: "livestore.RawSql", args: [
      "sql": "INSERT INTO todos (id, text, completed) SELECT $id, 'raw', count(*) FROM todos", "bindValues": ["id": "r1"],
    ])], message: "m", author: Author(name: "a", email: ""), time: "t", identity: identity)
    XCTAssertEqual(try replica.connection.scalar("SELECT text FROM todos WHERE id = 'r1'"), .text("raw"))
  }
}
