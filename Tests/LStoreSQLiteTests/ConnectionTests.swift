import XCTest
@testable import LStoreSQLite

final class ConnectionTests: XCTestCase {
  struct Boom: Error {}

  func testTransactionCommitsOrRollsBack() throws {
    let connection = try Connection.inMemory()
    try connection.execute("CREATE TABLE t (x INTEGER)")
    try connection.transaction { try connection.execute("INSERT INTO t VALUES (1)") }
    XCTAssertThrowsError(try connection.transaction {
      try connection.execute("INSERT INTO t VALUES (2)")
      throw Boom()
    }) { XCTAssertTrue($0 is Boom) }
    XCTAssertFalse(connection.isInTransaction)
    XCTAssertEqual(try connection.scalar("SELECT group_concat(x) FROM t"), .text("1"))
  }

  func testSavepointUndoesOnlyItsOwnWork() throws {
    let connection = try Connection.inMemory()
    try connection.execute("CREATE TABLE t (x INTEGER)")
    try connection.transaction {
      try connection.execute("INSERT INTO t VALUES (1)")
      _ = try? connection.savepoint {
        try connection.execute("INSERT INTO t VALUES (2)")
        throw Boom()
      }
      try connection.savepoint { try connection.execute("INSERT INTO t VALUES (3)") }
    }
    XCTAssertEqual(try connection.scalar("SELECT group_concat(x) FROM t"), .text("1,3"))
  }

  func testPrepareAllSplitsStatementsAndNamesParameters() throws {
    let connection = try Connection.inMemory()
    try connection.execute("CREATE TABLE t (x TEXT, y INTEGER)")
    let statements = try connection.prepareAll("INSERT INTO t VALUES ($a, 1);\n  ; UPDATE t SET y = $b WHERE x = $a;  ")
    XCTAssertEqual(statements.map(\.sql), ["INSERT INTO t VALUES ($a, 1)", "UPDATE t SET y = $b WHERE x = $a"])
    XCTAssertEqual(statements[1].parameterCount, 2)
    XCTAssertEqual(statements[1].parameterName(1), "$b")
    XCTAssertEqual(statements[1].parameterName(2), "$a")
    XCTAssertThrowsError(try connection.prepareAll("SELECT 1; SELEC 2")) { error in
      XCTAssertEqual((error as? SQLiteError)?.sql?.trimmingCharacters(in: .whitespaces), "SELEC 2")
    }
  }

  func testErrorsCarryCodeMessageAndSQL() throws {
    let connection = try Connection.inMemory()
    try connection.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
    try connection.execute("INSERT INTO t VALUES (1)")
    XCTAssertThrowsError(try connection.execute("INSERT INTO t VALUES (?)", [.integer(1)])) { error in
      let error = error as? SQLiteError
      XCTAssertEqual(error?.isConstraintViolation, true)
      XCTAssertEqual(error?.message, "UNIQUE constraint failed: t.x")
    }
    XCTAssertThrowsError(try connection.prepare("SELECT * FROM missing")) { error in
      XCTAssertEqual((error as? SQLiteError)?.sql, "SELECT * FROM missing")
      XCTAssertEqual((error as? SQLiteError)?.message, "no such table: missing")
    }
  }

  func testValuesRoundTrip() throws {
    let connection = try Connection.inMemory()
    let values: [SQLiteValue] = [.null, .integer(-42), .real(1.5), .text("héllo"), .blob([0, 1, 255])]
    let row = try connection.prepare("SELECT ?, ?, ?, ?, ?").first(values) { row in (0..<row.columnCount).map { row.value($0) } }
    XCTAssertEqual(row, values)
  }

  func testReadOnlyConnectionsCannotWrite() throws {
    let path = NSTemporaryDirectory() + "lstore-ro-\(UUID().uuidString).db"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Connection(path: path).execute("CREATE TABLE t (x INTEGER)")
    let readOnly = try Connection(path: path, mode: .readOnly)
    XCTAssertThrowsError(try readOnly.execute("INSERT INTO t VALUES (1)"))
    XCTAssertThrowsError(try Connection(path: path + ".missing", mode: .readWrite))
  }
}
