import XCTest
import LStoreSQLite
@testable import LStoreKit

/// LiveStore's client-document semantics (format spec §4): `<doc>Set` merges a partial value.
final class ClientDocumentTests: XCTestCase {
  var directory: TemporaryDirectory!
  var replica: Replica!

  override func setUpWithError() throws {
    directory = try TemporaryDirectory()
    let schemaPath = try directory.write("docs.yaml", """
      clientDocuments:
        uiState:
          value:
            newTodoText: string
            filter: { literal: [all, active, completed] }
          default:
            id: $sessionId
            value: { newTodoText: "", filter: all }
        prefs:
          value:
            theme: string
            fontSize: integer?
            layout: { object: { columns: integer, dense: boolean }, optional: true }
          default:
            id: static
            value: { theme: light }
        fullDoc:
          value: { a: string, b: integer }
          partialSet: false
          default:
            id: only
            value: { a: x, b: 1 }
        noDefaultId:
          value: { a: string }
          default:
            value: { a: start }
      """)
    let store = try Fixtures.makeStore(in: directory, schemaPath: schemaPath)
    replica = try Fixtures.openReplica(store)
  }

  override func tearDown() {
    replica = nil
    directory = nil
  }

  private func set(_ name: String, _ args: JSONValue) throws {
    try Fixtures.commit(replica, [(name, args)], message: nil)
  }

  private func value(_ table: String, _ id: String) throws -> String? {
    try replica.connection.scalar("SELECT value FROM \(table.quotedIdentifier) WHERE id = ?", [.text(id)])?.description
  }

  func testFirstSetMergesIntoTheDefault() throws {
    try set("uiStateSet", ["id": "s1", "value": ["filter": "active"]])
    XCTAssertEqual(try value("uiState", "s1"), #"{"newTodoText":"","filter":"active"}"#)
  }

  func testFirstSetDropsKeysTheDefaultDoesNotHave() throws {
    try set("prefsSet", ["value": ["fontSize": 14, "theme": "dark"]])
    XCTAssertEqual(try value("prefs", "static"), #"{"theme":"dark"}"#)
  }

  func testLaterSetsUpdateOnlyTheGivenKeys() throws {
    try set("uiStateSet", ["id": "s1", "value": ["newTodoText": "milk"]])
    try set("uiStateSet", ["id": "s1", "value": ["filter": "completed"]])
    XCTAssertEqual(try value("uiState", "s1"), #"{"newTodoText":"milk","filter":"completed"}"#)
    try set("prefsSet", ["value": ["theme": "dark"]])
    try set("prefsSet", ["value": ["fontSize": 14, "layout": ["columns": 2, "dense": true]]])
    XCTAssertEqual(try value("prefs", "static"), #"{"theme":"dark","fontSize":14,"layout":{"columns":2,"dense":true}}"#)
    try set("prefsSet", ["value": ["layout": ["dense": false, "columns": 3]]])
    XCTAssertEqual(try value("prefs", "static"), #"{"theme":"dark","fontSize":14,"layout":{"columns":3,"dense":false}}"#)
  }

  func testEmptyValueChangesNothingButStillCreatesTheDocument() throws {
    try set("uiStateSet", ["id": "s1", "value": ["newTodoText": "milk", "filter": "active"]])
    try set("uiStateSet", ["id": "s1", "value": [:]])
    XCTAssertEqual(try value("uiState", "s1"), #"{"newTodoText":"milk","filter":"active"}"#)
    try set("uiStateSet", ["id": "s2", "value": [:]])
    XCTAssertEqual(try value("uiState", "s2"), #"{"newTodoText":"","filter":"all"}"#)
  }

  func testFullSetReplacesTheWholeValue() throws {
    try set("fullDocSet", ["value": ["a": "first", "b": 2]])
    XCTAssertEqual(try value("fullDoc", "only"), #"{"a":"first","b":2}"#)
    try set("fullDocSet", ["value": ["b": 3, "a": "second"]])
    XCTAssertEqual(try value("fullDoc", "only"), #"{"a":"second","b":3}"#)
    assertThrows(try set("fullDocSet", ["value": ["a": "partial"]]), contains: ["field 'value.b': missing required field"])
  }

  func testDefaultIdComesFromTheSessionOrTheSchema() throws {
    try set("uiStateSet", ["value": ["filter": "active"]])
    XCTAssertEqual(try value("uiState", Fixtures.identity.sessionId), #"{"newTodoText":"","filter":"active"}"#)
    let other = Replica.Identity(clientId: "client2", sessionId: "session2")
    let result = try Fixtures.commit(replica, [("uiStateSet", ["value": ["newTodoText": "x"]])], identity: other)
    XCTAssertEqual(result.events[0].argsJSON, #"{"id":"session2","value":{"newTodoText":"x"}}"#)
    XCTAssertEqual(try value("uiState", "session2"), #"{"newTodoText":"x","filter":"all"}"#)
    try set("prefsSet", ["value": ["theme": "dark"]])
    XCTAssertNotNil(try value("prefs", "static"))
    assertThrows(try set("noDefaultIdSet", ["value": ["a": "b"]]), contains: ["field 'id': missing required field"])
    try set("noDefaultIdSet", ["id": "given", "value": ["a": "b"]])
    XCTAssertEqual(try value("noDefaultId", "given"), #"{"a":"b"}"#)
  }

  func testSetEventsAreClientOnlyAndValidated() throws {
    let result = try Fixtures.commit(replica, [("uiStateSet", ["id": "s1", "value": ["filter": "active"]]),
                                               ("uiStateSet", ["id": "s1", "value": ["newTodoText": "y"]])])
    XCTAssertEqual(result.events.map(\.seqNum.description), ["e0+1", "e0+2"])
    XCTAssertEqual(result.events.map(\.parentSeqNum.description), ["e0", "e0+1"])
    assertThrows(try set("uiStateSet", ["id": "s1", "value": ["filter": "bogus"]]), contains: ["value.filter", "expected one of"])
    assertThrows(try set("uiStateSet", ["id": "s1", "value": ["colour": "red"]]), contains: ["value.colour", "unknown field"])
  }

  func testReplayGivesTheSameDocuments() throws {
    try set("uiStateSet", ["id": "s1", "value": ["newTodoText": "milk"]])
    try set("prefsSet", ["value": ["fontSize": 14]])
    try set("prefsSet", ["value": ["fontSize": 15]])
    try set("uiStateSet", ["id": "s1", "value": [:]])
    try set("fullDocSet", ["value": ["a": "q", "b": 9]])
    let before = try TableDump.userRows(statePath: replica.statePath, schema: replica.schema)
    let rebuilt = directory.file("rebuilt.db")
    _ = try Rematerializer.rebuild(eventlogPath: replica.eventlogPath, statePath: rebuilt, schema: replica.schema,
                                   updatedAt: Fixtures.now)
    XCTAssertEqual(try TableDump.userRows(statePath: rebuilt, schema: replica.schema), before)
    XCTAssertEqual(before["prefs"], [#"static|{"theme":"light","fontSize":15}"#])
  }
}
