import XCTest
import LStoreSQLite
@testable import LStoreKit

/// `TableComparer`, the comparison `diff` streams and `replay --against` samples: rows in
/// primary-key order, one kind at a time; counts from SQLite; a sample bounded per kind.
final class TableComparerTests: XCTestCase {
  static let schema = """
    tables:
      todos:
        columns:
          id: { type: text, primaryKey: true }
          text: { type: text, default: "" }
      notes:
        columns:
          text: { type: text, default: "" }
    events:
      v1.Created:
        args: { id: string }
        materializer: INSERT INTO todos (id) VALUES ($id)
    """

  /// main is the newer state, old the older: todos b, d added; a removed; c, e changed;
  /// notes "x" added, "y" removed (no key: never changed).
  func makeConnection() throws -> (Connection, TableDefinition, TableDefinition) {
    let schema = try SchemaLoader.parse(Self.schema, file: "schema.yaml")
    let connection = try Connection.inMemory()
    try connection.execute("ATTACH DATABASE ':memory:' AS old")
    for database in ["main", "old"] {
      try connection.execute("CREATE TABLE \(database).todos (id TEXT PRIMARY KEY, text TEXT)")
      try connection.execute("CREATE TABLE \(database).notes (text TEXT)")
    }
    try connection.execute("INSERT INTO old.todos VALUES ('a', '1'), ('c', '1'), ('e', NULL), ('f', NULL)")
    try connection.execute("INSERT INTO main.todos VALUES ('e', '2'), ('d', '1'), ('c', '2'), ('b', '1'), ('f', NULL)")
    try connection.execute("INSERT INTO old.notes VALUES ('y'), ('z')")
    try connection.execute("INSERT INTO main.notes VALUES ('z'), ('x')")
    return (connection, try XCTUnwrap(schema.table(named: "todos")), try XCTUnwrap(schema.table(named: "notes")))
  }

  func rows(_ kind: RowDifference.Kind, _ table: TableDefinition, _ connection: Connection) throws -> [String] {
    var seen: [String] = []
    try TableComparer.forEachDifference(kind, of: table, connection: connection, older: "old") { difference in
      switch difference {
      case .added(let row): seen.append("+" + row.map(\.description).joined(separator: ","))
      case .removed(let row): seen.append("-" + row.map(\.description).joined(separator: ","))
      case .changed(let old, let new):
        seen.append("~" + old.map(\.description).joined(separator: ",") + ">" + new.map(\.description).joined(separator: ","))
      }
    }
    return seen
  }

  func testDifferencesStreamInKeyOrderOneKindAtATime() throws {
    let (connection, todos, notes) = try makeConnection()
    XCTAssertEqual(try rows(.added, todos, connection), ["+b,1", "+d,1"])
    XCTAssertEqual(try rows(.removed, todos, connection), ["-a,1"])
    XCTAssertEqual(try rows(.changed, todos, connection), ["~c,1>c,2", "~e,NULL>e,2"])
    XCTAssertEqual(try rows(.added, notes, connection), ["+x"])
    XCTAssertEqual(try rows(.removed, notes, connection), ["-y"])
    XCTAssertEqual(try rows(.changed, notes, connection), [], "a table without a key has no changed rows")
  }

  func testCountsAndSamplesAgreeWithTheStream() throws {
    let (connection, todos, notes) = try makeConnection()
    let counted = try TableComparer.count(todos, connection: connection, older: "old")
    XCTAssertEqual([counted.addedCount, counted.removedCount, counted.changedCount], [2, 1, 2])
    XCTAssertTrue(counted.added.isEmpty && counted.removed.isEmpty && counted.changed.isEmpty, "counting keeps no rows")
    XCTAssertEqual(counted.keyColumns, ["id"])

    let sampled = try TableComparer.compare(todos, connection: connection, older: "old", sampleLimit: 1)
    XCTAssertEqual([sampled.addedCount, sampled.removedCount, sampled.changedCount], [2, 1, 2])
    XCTAssertEqual(sampled.added.map { $0.map(\.description) }, [["b", "1"]])
    XCTAssertEqual(sampled.changed.map { $0.new.map(\.description) }, [["c", "2"]])

    let whole = try TableComparer.compare(notes, connection: connection, older: "old")
    XCTAssertEqual([whole.addedCount, whole.removedCount, whole.changedCount], [1, 1, 0])
    let notesCounted = try TableComparer.count(notes, connection: connection, older: "old")
    XCTAssertEqual([notesCounted.addedCount, notesCounted.removedCount, notesCounted.changedCount], [1, 1, 0])
  }
}
