import XCTest
import LStoreSQLite
@testable import LStoreKit

/// A materializer failure names the event (e42, name, args) and the SQL error, and a
/// failing commit of N events changes nothing: not the eventlog, not state, not commits.
final class MaterializerFailureTests: XCTestCase {
  var directory: TemporaryDirectory!
  var replica: Replica!

  override func setUpWithError() throws {
    directory = try TemporaryDirectory()
    let schemaPath = try directory.write("s.yaml", """
      tables:
        todos:
          columns:
            id: { type: text, primaryKey: true }
            text: { type: text, default: "" }
            n: { type: integer, default: 0 }
        log:
          columns:
            seq: { type: text, primaryKey: true }
            client: text
      clientDocuments:
        uiState:
          value: { filter: string }
          default: { id: $sessionId, value: { filter: all } }
      events:
        v1.TodoCreated:
          args: { id: string, text: string }
          materializer:
            - INSERT INTO todos (id, text) VALUES ($id, $text)
            - INSERT INTO log (seq, client) VALUES ($_seqNum, $_clientId)
        v1.TodoBumped:
          args: { id: string }
          materializer: UPDATE todos SET n = n + 1 WHERE id = $id
        v1.MustExist:
          args: { id: string }
          materializer:
            - UPDATE todos SET n = n + 100 WHERE id = $id
            - INSERT INTO todos (id, text) SELECT 'missing-' || $id, NULL WHERE NOT EXISTS (SELECT 1 FROM todos WHERE id = $id)
        v1.Random:
          args: {}
          materializer: UPDATE todos SET n = random()
        v1.LocalNote:
          clientOnly: true
          args: { id: string }
          materializer: INSERT INTO todos (id) VALUES ($id)
      """)
    let store = try Fixtures.makeStore(in: directory, schemaPath: schemaPath)
    replica = try Fixtures.openReplica(store)
    // Some history: e1, e2, e2+1 in two commits.
    try Fixtures.commit(replica, [("v1.TodoCreated", ["id": "t1", "text": "a"])], message: "one")
    try Fixtures.commit(replica, [("v1.TodoCreated", ["id": "t2", "text": "b"]), ("uiStateSet", ["value": ["filter": "active"]])],
                        message: "two")
  }

  override func tearDown() {
    replica = nil
    directory = nil
  }

  private func failingCommit(_ events: [(String, JSONValue)], file: StaticString = #filePath, line: UInt = #line) throws -> MaterializeError? {
    let before = try StoreSnapshot.take(replica)
    var caught: MaterializeError? = nil
    XCTAssertThrowsError(try Fixtures.commit(replica, events, message: "bad"), file: file, line: line) { error in
      guard let error = error as? MaterializeError else { return XCTFail("not a MaterializeError: \(error)", file: file, line: line) }
      caught = error
    }
    XCTAssertEqual(try StoreSnapshot.take(replica), before, "a failed commit must change nothing", file: file, line: line)
    XCTAssertFalse(replica.connection.isInTransaction, file: file, line: line)
    return caught
  }

  func testFailureOfTheLastOfManyEventsNamesItAndKeepsNothing() throws {
    var events: [(String, JSONValue)] = (0..<20).map { ("v1.TodoCreated", ["id": .string("n\($0)"), "text": "x"]) }
    events.append(("uiStateSet", ["value": ["filter": "completed"]]))
    events.append(("v1.TodoBumped", ["id": "t1"]))
    events.append(("v1.TodoCreated", ["id": "t1", "text": "duplicate"]))
    let error = try XCTUnwrap(try failingCommit(events))
    // e2 is the head; the commit would have made e3…e22, e22+1, e23, and fails at e24.
    XCTAssertEqual(error.seqNum, SeqNum(global: 24))
    XCTAssertEqual(error.eventName, "v1.TodoCreated")
    XCTAssertEqual(error.argsJSON, #"{"id":"t1","text":"duplicate"}"#)
    XCTAssertTrue(error.reason.contains("UNIQUE constraint failed: todos.id"), error.reason)
    XCTAssertEqual(error.statement, "INSERT INTO todos (id, text) VALUES ($id, $text)")
    XCTAssertEqual(error.description,
                   #"materializer of e24 v1.TodoCreated {"id":"t1","text":"duplicate"} failed: UNIQUE constraint failed: todos.id (in: INSERT INTO todos (id, text) VALUES ($id, $text))"#)
  }

  func testFailureInALaterStatementOfOneEventUndoesItsEarlierStatements() throws {
    let error = try XCTUnwrap(try failingCommit([("v1.MustExist", ["id": "nope"])]))
    XCTAssertEqual(error.seqNum, SeqNum(global: 3))
    XCTAssertTrue(error.reason.contains("NOT NULL constraint failed: todos.text"), error.reason)
    XCTAssertEqual(try replica.connection.scalar("SELECT sum(n) FROM todos"), .integer(0))
  }

  func testClientOnlyFailureIsNamedWithItsClientNumber() throws {
    let error = try XCTUnwrap(try failingCommit([("v1.LocalNote", ["id": "local"]), ("v1.LocalNote", ["id": "local"])]))
    XCTAssertEqual(error.seqNum?.description, "e2+3")
    XCTAssertTrue(error.description.hasPrefix(#"materializer of e2+3 v1.LocalNote {"id":"local"} failed: UNIQUE"#), error.description)
  }

  func testNonDeterministicFunctionsAreRefused() throws {
    let error = try XCTUnwrap(try failingCommit([("v1.Random", [:])]))
    XCTAssertTrue(error.reason.contains("random() is not deterministic"), error.reason)
    XCTAssertEqual(error.eventName, "v1.Random")
  }

  func testTheStoreStaysUsableAfterAFailure() throws {
    _ = try failingCommit([("v1.TodoCreated", ["id": "t1", "text": "dup"])])
    let result = try Fixtures.commit(replica, [("v1.TodoBumped", ["id": "t2"])], message: "after")
    XCTAssertEqual(result.events.map(\.seqNum.description), ["e3"])
    XCTAssertEqual(try replica.eventlog.commitCount(), 3)
    XCTAssertEqual(try replica.connection.scalar("SELECT n FROM todos WHERE id = 't2'"), .integer(1))
    XCTAssertEqual(try replica.connection.scalar("SELECT group_concat(seq || '@' || client, ' ') FROM log"),
                   .text("e1@client1 e2@client1"))
  }

  func testReplayFailureNamesTheEventAndKeepsTheOldState() throws {
    let statePath = replica.statePath
    let before = try TableDump.userRows(statePath: statePath, schema: replica.schema)
    // The same tables, but a materializer that now fails on e2.
    let brokenPath = try directory.write("broken.yaml", try String(contentsOfFile: directory.file("s.yaml"), encoding: .utf8)
      .replacingOccurrences(of: "INSERT INTO todos (id, text) VALUES ($id, $text)",
                            with: "INSERT INTO todos (id, text) SELECT $id, CASE WHEN $id = 't2' THEN NULL ELSE $text END"))
    let broken = try SchemaLoader.load(path: brokenPath)
    XCTAssertEqual(broken.stateHash(.v4), replica.schema.stateHash(.v4))
    assertThrows(try Rematerializer.rebuild(eventlogPath: replica.eventlogPath, statePath: statePath, schema: broken,
                                            updatedAt: Fixtures.now),
                 contains: [#"materializer of e2 v1.TodoCreated {"id":"t2","text":"b"} failed"#, "NOT NULL constraint failed: todos.text"])
    XCTAssertEqual(try TableDump.userRows(statePath: statePath, schema: replica.schema), before)
    XCTAssertFalse(FileManager.default.fileExists(atPath: statePath + ".building"))
  }

  func testReplayOfAnEventTheSchemaNoLongerKnows() throws {
    let path = try directory.write("fewer.yaml", try String(contentsOfFile: directory.file("s.yaml"), encoding: .utf8)
      .replacingOccurrences(of: "v1.TodoCreated:", with: "v2.TodoCreated:"))
    let fewer = try SchemaLoader.load(path: path)
    assertThrows(try Rematerializer.rebuild(eventlogPath: replica.eventlogPath, statePath: directory.file("x.db"), schema: fewer,
                                            updatedAt: Fixtures.now),
                 contains: ["event e1 is 'v1.TodoCreated', which", "fewer.yaml does not define"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory.file("x.db")))
  }
}
