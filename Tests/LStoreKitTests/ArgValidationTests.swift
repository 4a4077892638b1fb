import XCTest
@testable import LStoreKit

/// Args are checked against the event's declared types before anything is written, and
/// stored in their encoded form: declaration order, defaults filled in, dates as toISOString.
final class ArgValidationTests: XCTestCase {
  typealias F = ArgType.Field

  let todo = ArgType.object([F(name: "id", type: .string), F(name: "text", type: .string)])

  private func assertArgsError(_ type: ArgType, _ json: String, path: String, reason: String,
                               file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try type.normalize(try JSONParser.parse(json)), file: file, line: line) { error in
      guard let error = error as? ArgsError else { return XCTFail("not an ArgsError: \(error)", file: file, line: line) }
      XCTAssertEqual(error.path, path, "\(error)", file: file, line: line)
      XCTAssertTrue(error.reason.contains(reason), "\"\(error.reason)\" lacks \"\(reason)\"", file: file, line: line)
      if !path.isEmpty { XCTAssertTrue(error.description.contains("field '\(path)'"), error.description, file: file, line: line) }
    }
  }

  private func normalized(_ type: ArgType, _ json: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    try type.normalize(try JSONParser.parse(json)).compactText
  }

  func testValidArgsPassThrough() throws {
    XCTAssertEqual(try normalized(todo, #"{"id":"t1","text":"Buy milk"}"#), #"{"id":"t1","text":"Buy milk"}"#)
  }

  /// Args already in stored form (every field, in order) are checked in place, not rebuilt:
  /// each field is still checked, and a field whose stored form differs (a date) or a field
  /// out of order takes the rebuilding path.
  func testArgsInStoredFormAreStillCheckedFieldByField() throws {
    assertArgsError(todo, #"{"id":"t1","text":5}"#, path: "text", reason: "expected a string, got a number")
    let tagged = ArgType.object([F(name: "id", type: .string), F(name: "tags", type: .array(.nullable(.integer)))])
    XCTAssertEqual(try normalized(tagged, #"{"id":"a","tags":[1,null,2.0]}"#), #"{"id":"a","tags":[1,null,2]}"#)
    assertArgsError(tagged, #"{"id":"a","tags":[1,1.5]}"#, path: "tags[1]", reason: "expected")
    let dated = ArgType.object([F(name: "id", type: .string), F(name: "at", type: .date)])
    XCTAssertEqual(try normalized(dated, #"{"id":"a","at":"2026-01-01T00:00:00Z"}"#), #"{"id":"a","at":"2026-01-01T00:00:00.000Z"}"#)
  }

  /// A lone surrogate is a string to JavaScript: a `string` field keeps it exactly, a `json`
  /// field too (in keys as well); a `date` cannot be one, and a key holding one is never a
  /// declared field (issue 12).
  func testLoneSurrogatesAreStringsKeptExactly() throws {
    XCTAssertEqual(try normalized(todo, #"{"text":"\ud800x","id":"\udc00"}"#), #"{"id":"\udc00","text":"\ud800x"}"#)
    let withJSON = ArgType.object([F(name: "data", type: .json), F(name: "tags", type: .array(.string))])
    XCTAssertEqual(try normalized(withJSON, #"{"data":{"\ude00\ud83d":["\udbff"]},"tags":["\ud800"]}"#),
                   #"{"data":{"\ude00\ud83d":["\udbff"]},"tags":["\ud800"]}"#)
    assertArgsError(.object([F(name: "at", type: .date)]), #"{"at":"2026-01-01\ud800"}"#, path: "at",
                    reason: "(with a lone surrogate) is not an ISO-8601 date")
    assertArgsError(.object([F(name: "\u{FFFD}", type: .string, optional: true, defaultValue: nil)]), #"{"\ud800":"x"}"#,
                    path: "\u{FFFD}", reason: "unknown field")
    assertArgsError(todo, #"{"id":"t1","text":"x","\ud800":1}"#, path: "\u{FFFD}", reason: "unknown field")
  }

  func testUnknownFieldIsRejected() {
    assertArgsError(todo, #"{"id":"t1","text":"x","txt":"y"}"#, path: "txt", reason: "unknown field (expected id, text)")
    assertArgsError(.object([]), #"{"a":1}"#, path: "a", reason: "expected no fields")
  }

  func testMissingFieldIsRejected() {
    assertArgsError(todo, #"{"id":"t1"}"#, path: "text", reason: "missing required field (a string)")
    assertArgsError(todo, #"{}"#, path: "id", reason: "missing required field")
  }

  func testWrongTypesAreRejected() {
    assertArgsError(todo, #"{"id":"t1","text":5}"#, path: "text", reason: "expected a string, got a number")
    assertArgsError(todo, #"{"id":null,"text":"x"}"#, path: "id", reason: "expected a string, got null")
    assertArgsError(todo, #"["t1","x"]"#, path: "", reason: "expected an object, got an array")
    let numbers = ArgType.object([F(name: "n", type: .number), F(name: "i", type: .integer), F(name: "b", type: .boolean)])
    assertArgsError(numbers, #"{"n":"1","i":1,"b":true}"#, path: "n", reason: "expected a number, got a string")
    assertArgsError(numbers, #"{"n":1,"i":1.5,"b":true}"#, path: "i", reason: "expected an integer, got a number")
    assertArgsError(numbers, #"{"n":1,"i":1,"b":1}"#, path: "b", reason: "expected a boolean, got a number")
    XCTAssertEqual(try normalized(numbers, #"{"n":1.5,"i":2.0,"b":false}"#), #"{"n":1.5,"i":2,"b":false}"#)
  }

  func testNestedErrorsHaveAPath() {
    let type = ArgType.object([
      F(name: "ids", type: .array(.string)),
      F(name: "meta", type: .object([F(name: "filter", type: .literal(["all", "active"]))])),
    ])
    assertArgsError(type, #"{"ids":["a","b",3],"meta":{"filter":"all"}}"#, path: "ids[2]", reason: "expected a string, got a number")
    assertArgsError(type, #"{"ids":[],"meta":{"filter":"none"}}"#, path: "meta.filter", reason: #"expected one of "all", "active", got "none""#)
    assertArgsError(type, #"{"ids":[],"meta":{"filter":"all","x":1}}"#, path: "meta.x", reason: "unknown field")
    assertArgsError(type, #"{"ids":[],"meta":{}}"#, path: "meta.filter", reason: "missing required field")
  }

  func testDefaultsAreFilledInDeclarationOrder() throws {
    let type = ArgType.object([
      F(name: "id", type: .string),
      F(name: "priority", type: .integer, optional: true, defaultValue: 1),
      F(name: "note", type: .string, optional: true),
      F(name: "tags", type: .array(.string), optional: true, defaultValue: []),
      F(name: "text", type: .string),
    ])
    XCTAssertEqual(try normalized(type, #"{"text":"x","id":"t1"}"#), #"{"id":"t1","priority":1,"tags":[],"text":"x"}"#)
    XCTAssertEqual(try normalized(type, #"{"text":"x","tags":["a"],"note":"n","priority":3,"id":"t1"}"#),
                   #"{"id":"t1","priority":3,"note":"n","tags":["a"],"text":"x"}"#)
  }

  func testDatesAreNormalizedToISOString() throws {
    let type = ArgType.object([F(name: "at", type: .date), F(name: "until", type: .nullable(.date))])
    XCTAssertEqual(try normalized(type, #"{"at":"2025-06-06T10:00:00+02:00","until":null}"#),
                   #"{"at":"2025-06-06T08:00:00.000Z","until":null}"#)
    XCTAssertEqual(try normalized(type, #"{"at":"2025-06-06","until":"2025-06-06T10:00:00.5Z"}"#),
                   #"{"at":"2025-06-06T00:00:00.000Z","until":"2025-06-06T10:00:00.500Z"}"#)
    assertArgsError(type, #"{"at":"2023-02-29","until":null}"#, path: "at", reason: "'2023-02-29' is not an ISO-8601 date")
    assertArgsError(type, #"{"at":1749204060000,"until":null}"#, path: "at", reason: "expected an ISO-8601 date string, got a number")
  }

  func testLiteralsNullableAndJSON() throws {
    let type = ArgType.object([
      F(name: "kind", type: .literal(["a", 2, true, .null])),
      F(name: "maybe", type: .nullable(.integer)),
      F(name: "payload", type: .json),
    ])
    XCTAssertEqual(try normalized(type, #"{"kind":2,"maybe":null,"payload":{"z":[1,{"y":null}]}}"#),
                   #"{"kind":2,"maybe":null,"payload":{"z":[1,{"y":null}]}}"#)
    XCTAssertEqual(try normalized(type, #"{"kind":null,"maybe":5,"payload":"x"}"#), #"{"kind":null,"maybe":5,"payload":"x"}"#)
    assertArgsError(type, #"{"kind":"2","maybe":null,"payload":1}"#, path: "kind", reason: "expected one of")
    assertArgsError(type, #"{"kind":"a","maybe":"5","payload":1}"#, path: "maybe", reason: "an integer or null")
    assertArgsError(type, #"{"kind":"a","maybe":1}"#, path: "payload", reason: "missing required field")
  }

  // MARK: - Through a store: events are checked before anything is written

  func testStoreValidationNamesTheEventAndOrigin() throws {
    let directory = try TemporaryDirectory()
    let store = try Fixtures.makeStore(in: directory)
    let replica = try Fixtures.openReplica(store)
    func commitError(_ inputs: [EventInput]) -> String {
      do {
        _ = try replica.commit(inputs, message: "m", author: Fixtures.author, time: Fixtures.now, identity: Fixtures.identity)
        return "no error"
      } catch {
        return "\(error)"
      }
    }
    XCTAssertEqual(commitError([EventInput(name: "v1.TodoCreated", args: ["id": "t1"], origin: "week.ndjson:3")]),
                   "week.ndjson:3: event 'v1.TodoCreated': field 'text': missing required field (a string)")
    let unknown = commitError([EventInput(name: "v1.TodoRenamed", args: [:], origin: "week.ndjson:1")])
    XCTAssertTrue(unknown.hasPrefix("week.ndjson:1: unknown event 'v1.TodoRenamed' (the schema defines: v1.TodoCreated,"), unknown)
    XCTAssertEqual(commitError([EventInput(name: "v1.TodoCreated", args: ["id": "t1", "text": "x", "done": true])]),
                   "event 'v1.TodoCreated': field 'done': unknown field (expected id, text)")
    // A valid first event is not written when a later one is invalid.
    _ = commitError([EventInput(name: "v1.TodoCreated", args: ["id": "t1", "text": "x"]),
                     EventInput(name: "v1.TodoCompleted", args: ["id": 1])])
    XCTAssertEqual(try replica.eventlog.count(), 0)
    XCTAssertEqual(try replica.connection.scalar("SELECT count(*) FROM todos"), .integer(0))
    XCTAssertEqual(try replica.eventlog.commitCount(), 0)
    // Missing args are {} ; they are stored normalized.
    let result = try Fixtures.commit(replica, [("v1.TodoDeleted", ["deletedAt": "2025-06-06T12:00:00+02:00", "id": "t1"])])
    XCTAssertEqual(result.events[0].argsJSON, #"{"id":"t1","deletedAt":"2025-06-06T10:00:00.000Z"}"#)
    assertThrows(try Fixtures.commit(replica, [("v1.TodoCreated", .null)]), contains: ["field 'id': missing required field"])
  }
}
