import XCTest
@testable import LStoreSQLite

/// The session extension as lstore uses it: record, decode, invert, apply.
final class SessionTests: XCTestCase {
  var connection: Connection!

  override func setUpWithError() throws {
    connection = try Connection.inMemory()
    try connection.execute("""
      CREATE TABLE todos (id TEXT PRIMARY KEY, text TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0) STRICT;
      CREATE TABLE notes (body TEXT);
      INSERT INTO todos (id, text) VALUES ('a', 'first'), ('b', 'second');
      """)
  }

  override func tearDown() { connection = nil }

  private func rows() throws -> [String] {
    var result: [String] = []
    try connection.prepare("SELECT id, text, done FROM todos ORDER BY id").forEachRow {
      result.append("\($0.string(0))|\($0.string(1))|\($0.int64(2))")
    }
    return result
  }

  func testRecordsInsertsUpdatesAndDeletes() throws {
    let session = try Session(connection: connection)
    try connection.execute("INSERT INTO todos (id, text) VALUES ('c', 'third'); UPDATE todos SET done = 1 WHERE id = 'a'; DELETE FROM todos WHERE id = 'b'")
    let changes = try Changeset.changes(in: try XCTUnwrap(try session.changeset()))
    XCTAssertEqual(changes.count, 3)
    let byOperation = Dictionary(uniqueKeysWithValues: changes.map { ($0.operation, $0) })
    XCTAssertEqual(byOperation[.insert]?.new, [.text("c"), .text("third"), .integer(0)])
    XCTAssertEqual(byOperation[.update]?.old, [.text("a"), nil, .integer(0)])
    XCTAssertEqual(byOperation[.update]?.new, [nil, nil, .integer(1)])
    XCTAssertEqual(byOperation[.delete]?.old, [.text("b"), .text("second"), .integer(0)])
    XCTAssertEqual(byOperation[.delete]?.primaryKey, [true, false, false])
    XCTAssertTrue(changes.allSatisfy { $0.table == "todos" })
  }

  func testNoChangeGivesNil() throws {
    let session = try Session(connection: connection)
    try connection.execute("UPDATE todos SET done = 0 WHERE id = 'nobody'")
    XCTAssertNil(try session.changeset())
  }

  func testTablesWithoutPrimaryKeyAreNotRecorded() throws {
    let session = try Session(connection: connection)
    try connection.execute("INSERT INTO notes (body) VALUES ('x')")
    XCTAssertNil(try session.changeset())
  }

  func testInvertAndApplyRestoresTheRows() throws {
    let before = try rows()
    let session = try Session(connection: connection)
    try connection.execute("INSERT INTO todos (id, text) VALUES ('c', 'third'); UPDATE todos SET done = 1, text = 'changed' WHERE id = 'a'; DELETE FROM todos WHERE id = 'b'")
    let changeset = try XCTUnwrap(try session.changeset())
    XCTAssertNotEqual(try rows(), before)
    try Changeset.apply(try Changeset.invert(changeset), to: connection)
    XCTAssertEqual(try rows(), before)
    // Applying the original again redoes it.
    try Changeset.apply(changeset, to: connection)
    XCTAssertEqual(try rows(), ["a|changed|1", "c|third|0"])
  }

  func testSeveralChangesetsUndoNewestFirst() throws {
    var changesets: [[UInt8]] = []
    let snapshots = [try rows()]
    for sql in ["UPDATE todos SET text = 'v2' WHERE id = 'a'", "UPDATE todos SET text = 'v3' WHERE id = 'a'",
                "DELETE FROM todos WHERE id = 'a'"] {
      let session = try Session(connection: connection)
      try connection.execute(sql)
      changesets.append(try XCTUnwrap(try session.changeset()))
    }
    for changeset in changesets.reversed() { try Changeset.apply(try Changeset.invert(changeset), to: connection) }
    XCTAssertEqual(try rows(), snapshots[0])
  }

  func testApplyingOntoRowsThatNoLongerMatchFails() throws {
    let session = try Session(connection: connection)
    try connection.execute("UPDATE todos SET done = 1 WHERE id = 'a'")
    let changeset = try XCTUnwrap(try session.changeset())
    // Someone else changed the row since: the inverse no longer applies cleanly.
    try connection.execute("UPDATE todos SET done = 7 WHERE id = 'a'")
    XCTAssertThrowsError(try Changeset.apply(try Changeset.invert(changeset), to: connection)) { error in
      XCTAssertTrue("\(error)".contains("no longer matches"), "\(error)")
    }
    XCTAssertEqual(try rows(), ["a|first|7", "b|second|0"])
    XCTAssertThrowsError(try Changeset.changes(in: [1, 2, 3]))
  }

  /// A group of inverses, newest first, is one changeset holding each row's net undo: a
  /// row inserted and then updated comes out as one delete of its final values.
  func testAGroupOfInversesIsTheNetUndo() throws {
    func recorded(_ sql: String) throws -> [UInt8] {
      let session = try Session(connection: connection)
      try connection.execute(sql)
      return try XCTUnwrap(try session.changeset())
    }
    let before = try rows()
    let first = try recorded("INSERT INTO todos (id, text) VALUES ('c', 'third'); UPDATE todos SET done = 1 WHERE id = 'a'")
    let second = try recorded("UPDATE todos SET text = 'changed' WHERE id = 'c'; UPDATE todos SET done = 2 WHERE id = 'a'")
    let group = try ChangesetGroup()
    try group.add(try Changeset.invert(second))
    try group.add(try Changeset.invert(first))
    XCTAssertEqual(group.count, 2)
    let undo = try group.changeset()
    let changes = try Changeset.changes(in: undo)
    XCTAssertEqual(changes.count, 2)
    let delete = try XCTUnwrap(changes.first { $0.operation == .delete })
    XCTAssertEqual(delete.old, [.text("c"), .text("changed"), .integer(0)])
    let update = try XCTUnwrap(changes.first { $0.operation == .update })
    XCTAssertEqual(update.old, [.text("a"), nil, .integer(2)])
    XCTAssertEqual(update.new, [nil, nil, .integer(0)])
    try Changeset.apply(undo, to: connection)
    XCTAssertEqual(try rows(), before)
  }
}
