import XCTest
@testable import LStoreSQLite

/// Rows written per table, from the pre-update hook: per operation, triggers' rows too, only
/// the `main` database, and a unit that is discarded leaves the totals as they were.
final class RowWriteCounterTests: XCTestCase {
  var connection: Connection!
  var counter: RowWriteCounter!

  override func setUpWithError() throws {
    connection = try Connection.inMemory()
    try connection.execute("""
      CREATE TABLE todos (id TEXT PRIMARY KEY, text TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE audit (what TEXT);
      CREATE TRIGGER todos_done AFTER UPDATE OF done ON todos BEGIN INSERT INTO audit (what) VALUES (new.id); END;
      INSERT INTO todos (id, text) VALUES ('before', 'not counted');
      """)
    counter = RowWriteCounter(connection: connection)
    counter.start()
  }

  override func tearDown() {
    counter = nil
    connection = nil
  }

  private var counts: [String] {
    counter.counts.map { "\($0.table) +\($0.counts.inserted) ~\($0.counts.updated) -\($0.counts.deleted)" }
  }

  func testCountsEachRowWrittenByOperationAndTable() throws {
    try connection.execute("INSERT INTO todos (id, text) VALUES ('a', 'x'), ('b', 'y'), ('c', 'z')")
    counter.keep()
    // Three rows updated (one to the value it had: written, so counted), one trigger row each.
    try connection.execute("UPDATE todos SET done = 0 WHERE id <> 'before'")
    try connection.execute("DELETE FROM todos WHERE id = 'c'")
    // An upsert that conflicts is an update.
    try connection.execute("INSERT INTO todos (id, text) VALUES ('a', 'again') ON CONFLICT (id) DO UPDATE SET text = excluded.text")
    counter.keep()
    XCTAssertEqual(counts, ["todos +3 ~4 -1", "audit +3 ~0 -0"])
  }

  func testADiscardedUnitIsNotCounted() throws {
    try connection.execute("INSERT INTO todos (id, text) VALUES ('a', 'x')")
    counter.keep()
    try connection.execute("INSERT INTO todos (id, text) VALUES ('b', 'y')")
    try connection.execute("UPDATE todos SET text = 'z'")
    counter.discard()
    try connection.execute("DELETE FROM todos WHERE id = 'a'")
    counter.keep()
    XCTAssertEqual(counts, ["todos +1 ~0 -1"])
  }

  func testOnlyTheMainDatabaseAndOnlyWhileStarted() throws {
    try connection.execute("CREATE TEMP TABLE scratch (x)")
    try connection.execute("INSERT INTO scratch VALUES (1)")
    try connection.execute("ATTACH DATABASE ':memory:' AS other")
    try connection.execute("CREATE TABLE other.t (x)")
    try connection.execute("INSERT INTO other.t VALUES (1)")
    counter.keep()
    XCTAssertEqual(counts, [])
    counter.stop()
    try connection.execute("INSERT INTO todos (id, text) VALUES ('a', 'x')")
    counter.keep()
    XCTAssertEqual(counts, [])
  }
}
