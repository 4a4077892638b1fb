import Foundation
import XCTest

/// `lstore replay`, through the binary, as a CI job runs it: the report, its exit codes
/// (0 clean, 5 differences, 6 failures), and that the store is left byte for byte as it was.
final class ReplayTests: XCTestCase {
  /// Three todos, t1 completed, t2 renamed, t3 purged (e1..e6), one commit each.
  func makeStore() throws -> VCStore {
    let store = try VCStore()
    try store.create("t1", "c1", text: "one")
    try store.create("t2", "c2", text: "two")
    try store.create("t3", "c3", text: "three")
    try store.event("v1.TodoCompleted", #"{"id":"t1"}"#, "c4")
    try store.event("v1.TodoRenamed", #"{"id":"t2","text":"deux"}"#, "c5")
    try store.event("v1.TodoPurged", #"{"id":"t3"}"#, "c6")
    return store
  }

  /// The store's schema with `edit` applied, written beside it.
  @discardableResult
  func schema(_ store: VCStore, _ name: String, _ edit: (String) -> String) throws -> String {
    let base = try String(contentsOfFile: store.sandbox.path("vc-schema.yaml"), encoding: .utf8)
    let edited = edit(base)
    XCTAssertNotEqual(edited, base, "the edit changed nothing")
    return try store.sandbox.write(name, edited)
  }

  /// Every file of the store, by path, with its bytes.
  func files(_ store: VCStore) throws -> [String: Data] {
    let root = store.sandbox.path(store.directory + "/.lstore")
    var result: [String: Data] = [:]
    let enumerator = FileManager.default.enumerator(atPath: root)
    while let name = enumerator?.nextObject() as? String {
      var isDirectory: ObjCBool = false
      let path = root + "/" + name
      if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
        result[name] = try Data(contentsOf: URL(fileURLWithPath: path))
      }
    }
    return result
  }

  func report(_ result: CommandResult, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    XCTAssertEqual(result.lines.count, 1, "one JSON object: \(result)", file: file, line: line)
    return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], file: file, line: line)
  }

  func names(_ report: [String: Any]) -> [String: [String: Any]] {
    var result: [String: [String: Any]] = [:]
    for entry in report["names"] as? [[String: Any]] ?? [] { result[entry["name"] as? String ?? "?"] = entry }
    return result
  }

  // MARK: - Clean

  func testTheUnchangedSchemaIsCleanAndTheStoreIsUntouched() throws {
    let store = try makeStore()
    let before = try files(store)
    XCTAssertFalse(before.isEmpty)
    let state = try store.statePath()

    let text = try store.run("replay")
    assertStatus(text, 0)
    XCTAssertEqual(text.lines.first?.hasPrefix("Replayed 6 events through e6 with vc-schema.yaml in "), true, text.stdout)
    XCTAssertTrue(text.lines.first?.hasSuffix(": 6 applied, 0 failed") == true, text.stdout)
    XCTAssertEqual(Array(text.lines.dropFirst()), [
      "  v1.TodoCompleted  1 event, 1 applied",
      "  v1.TodoCreated    3 events, 3 applied",
      "  v1.TodoPurged     1 event, 1 applied",
      "  v1.TodoRenamed    1 event, 1 applied",
      "Rows written:",
      "  todos    +3 ~2 -1",
      "  uiState  +0 ~0 -0",
      "Result: clean",
    ])

    let json = try report(try store.run("replay", "--against", state, "--json"))
    XCTAssertEqual(json["outcome"] as? String, "clean")
    XCTAssertEqual(json["events"] as? Int, 6)
    XCTAssertEqual(json["failed"] as? Int, 0)
    let against = try XCTUnwrap(json["against"] as? [String: Any])
    XCTAssertEqual(against["differs"] as? Bool, false)
    XCTAssertEqual((against["tables"] as? [[String: Any]])?.map { "\($0["table"]!) \($0["status"]!)" }, ["todos same", "uiState same"])

    XCTAssertEqual(try files(store), before, "replay left every file of the store byte for byte as it was")
    try store.assertSound()
  }

  // MARK: - Failures

  /// A schema set with `config schema` whose materializer fails on an event already in the
  /// eventlog: every command that needs the state stops there (exit 65), and says the way
  /// out; followed (replay the old schema, set it back), the store works as before.
  func testASchemaThatCannotReplayTheHistoryNamesTheWayOut() throws {
    let store = try makeStore()
    let failing = try schema(store, "failing.yaml") {
      $0.replacingOccurrences(of: "UPDATE todos SET completed = 1 WHERE id = $id", with: "UPDATE todos SET completed = NULL WHERE id = $id")
    }
    try store.ok("config", "schema", failing)
    let hint = "; the schema cannot rebuild the state from this branch's eventlog: fix its tables or this materializer, or set another schema with 'lstore config schema <file>' ('lstore replay --schema <file>' tries one without changing anything)"
    for command in [["materialize"], ["commit", "v1.TodoCompleted", #"{"id":"t2"}"#, "-m", "c7"], ["reset", "--hard", "HEAD~1"]] {
      let refused = try store.run(command)
      XCTAssertEqual(refused.status, 65, "\(command): \(refused)")
      XCTAssertEqual(refused.stderr, #"lstore: error: materializer of e4 v1.TodoCompleted {"id":"t1"} failed: NOT NULL constraint failed: todos.completed (in: UPDATE todos SET completed = NULL WHERE id = $id)"# + hint + "\n", "\(command)")
    }
    XCTAssertEqual(try store.history().count, 6, "nothing was committed or reset")
    let original = store.sandbox.path("vc-schema.yaml")
    XCTAssertEqual(try store.run("replay", "--schema", original).status, 0)
    try store.ok("config", "schema", original)
    try store.ok("commit", "v1.TodoCompleted", #"{"id":"t2"}"#, "-m", "c7")
    XCTAssertEqual(try store.history().count, 7)
    try store.assertSound()
  }

  func testAFailingMaterializerIsReportedWithItsErrorAndTheReplayGoesOn() throws {
    let store = try makeStore()
    try store.event("v1.TodoCompleted", #"{"id":"t2"}"#, "c7")
    let before = try files(store)
    // Completing now writes NULL into a NOT NULL column: e4 and e7 fail, the rest applies.
    let failing = try schema(store, "failing.yaml") {
      $0.replacingOccurrences(of: "UPDATE todos SET completed = 1 WHERE id = $id", with: "UPDATE todos SET completed = NULL WHERE id = $id")
    }
    let result = try store.run("replay", "--schema", failing, "--json")
    assertStatus(result, 6)
    XCTAssertEqual(result.stderrLines, ["lstore: error: replay: 2 of 7 events failed (2 materializer failures)"])
    let json = try report(result)
    XCTAssertEqual(json["outcome"] as? String, "failures")
    XCTAssertEqual(json["events"] as? Int, 7)
    XCTAssertEqual(json["applied"] as? Int, 5)
    XCTAssertEqual(json["materializerFailures"] as? Int, 2)
    let completed = try XCTUnwrap(names(json)["v1.TodoCompleted"])
    XCTAssertEqual(completed["count"] as? Int, 2)
    XCTAssertEqual(completed["failed"] as? Int, 2)
    let failures = try XCTUnwrap(completed["failures"] as? [[String: Any]])
    XCTAssertEqual(failures.map { $0["seqNum"] as? String }, ["e4", "e7"])
    XCTAssertEqual(failures.first?["kind"] as? String, "materializer")
    XCTAssertEqual(failures.first?["reason"] as? String, "NOT NULL constraint failed: todos.completed")
    XCTAssertEqual(failures.first?["statement"] as? String, "UPDATE todos SET completed = NULL WHERE id = $id")
    XCTAssertEqual(failures.first?["argsJson"] as? String, #"{"id":"t1"}"#)
    // The events after e4 applied: the rename (e5) and the purge (e6).
    XCTAssertEqual(names(json)["v1.TodoRenamed"]?["applied"] as? Int, 1)
    XCTAssertEqual(names(json)["v1.TodoPurged"]?["applied"] as? Int, 1)

    let text = try store.run("replay", "--schema", failing)
    assertStatus(text, 6)
    XCTAssertTrue(text.lines.contains("  v1.TodoCompleted  2 events, 0 applied, 2 materializer failures"), text.stdout)
    XCTAssertTrue(text.lines.contains(#"    e4 {"id":"t1"}: NOT NULL constraint failed: todos.completed (in: UPDATE todos SET completed = NULL WHERE id = $id)"#), text.stdout)
    XCTAssertEqual(text.lines.last, "Result: failures (exit 6)")
    XCTAssertEqual(try files(store), before)
  }

  func testUnknownEventsAndArgsTheSchemaRefuses() throws {
    let store = try makeStore()
    // The new schema renamed v1.TodoPurged and made the rename's text a number.
    let newer = try schema(store, "newer.yaml") {
      $0.replacingOccurrences(of: "v1.TodoPurged:", with: "v2.TodoPurged:")
        .replacingOccurrences(of: "v1.TodoRenamed:\n    args: { id: string, text: string }", with: "v1.TodoRenamed:\n    args: { id: string, text: number }")
    }
    let json = try report(try store.run("replay", "--schema", newer, "--json", "--sample", "1"))
    XCTAssertEqual(json["outcome"] as? String, "failures")
    XCTAssertEqual(json["unknownEvents"] as? Int, 1)
    XCTAssertEqual(json["invalidArgs"] as? Int, 1)
    let purged = try XCTUnwrap(names(json)["v1.TodoPurged"])
    XCTAssertEqual(purged["inSchema"] as? Bool, false)
    XCTAssertEqual((purged["failures"] as? [[String: Any]])?.first?["kind"] as? String, "unknown-event")
    let renamed = try XCTUnwrap(names(json)["v1.TodoRenamed"])
    let failure = try XCTUnwrap((renamed["failures"] as? [[String: Any]])?.first)
    XCTAssertEqual(failure["kind"] as? String, "invalid-args")
    XCTAssertEqual(failure["seqNum"] as? String, "e5")
  }

  // MARK: - Differences

  func testASchemaThatChangesATableDiffersFromTheOldState() throws {
    let store = try makeStore()
    let oldState = try store.statePath()
    let before = try files(store)
    // Renaming now keeps the old text and appends the new one: t2 differs.
    let renaming = try schema(store, "renaming.yaml") {
      $0.replacingOccurrences(of: "UPDATE todos SET text = $text WHERE id = $id", with: "UPDATE todos SET text = text || ' / ' || $text WHERE id = $id")
    }
    let text = try store.run("replay", "--schema", renaming, "--against", oldState)
    assertStatus(text, 5)
    XCTAssertEqual(text.stderrLines, ["lstore: error: replay: the state differs from \(oldState) in 1 table (todos)"])
    let againstIndex = try XCTUnwrap(text.lines.firstIndex { $0.hasPrefix("Against ") }, text.stdout)
    XCTAssertEqual(Array(text.lines[againstIndex...]), [
      "Against \((oldState as NSString).lastPathComponent):",
      "  todos: +0 -0 ~1",
      "    ~ t2 text: deux -> two / deux",
      "  uiState: +0 -0 ~0",
      "Result: differences (exit 5)",
    ])
    let json = try report(try store.run("replay", "--schema", renaming, "--against", oldState, "--json"))
    XCTAssertEqual(json["outcome"] as? String, "differences")
    let todos = try XCTUnwrap(((json["against"] as? [String: Any])?["tables"] as? [[String: Any]])?.first)
    XCTAssertEqual(todos["status"] as? String, "differs")
    XCTAssertEqual(todos["changed"] as? Int, 1)
    let change = try XCTUnwrap(((todos["sample"] as? [String: Any])?["changed"] as? [[String: Any]])?.first)
    XCTAssertEqual(change["key"] as? [String: String], ["id": "t2"])
    XCTAssertEqual(change["old"] as? [String: String], ["text": "deux"])
    XCTAssertEqual(change["new"] as? [String: String], ["text": "two / deux"])

    // A new column in todos: the old state's table has other columns.
    let widened = try schema(store, "widened.yaml") {
      $0.replacingOccurrences(of: "      completed: { type: boolean, default: false }",
                              with: "      completed: { type: boolean, default: false }\n      priority: { type: integer, default: 0 }")
    }
    let columns = try store.run("replay", "--schema", widened, "--against", oldState)
    assertStatus(columns, 5)
    XCTAssertTrue(columns.lines.contains("  todos: other columns (schema: id, text, completed, priority, deletedAt; \((oldState as NSString).lastPathComponent): id, text, completed, deletedAt); rows not compared"), columns.stdout)
    let columnsJSON = try report(try store.run("replay", "--schema", widened, "--against", oldState, "--json"))
    let widenedTodos = try XCTUnwrap(((columnsJSON["against"] as? [String: Any])?["tables"] as? [[String: Any]])?.first)
    XCTAssertEqual(widenedTodos["status"] as? String, "columns-differ")
    XCTAssertEqual(widenedTodos["fileColumns"] as? [String], ["id", "text", "completed", "deletedAt"])
    XCTAssertEqual(try files(store), before)
  }

  // MARK: - Files and errors

  /// A LiveStore eventlog file as LiveStore writes it (no lstore tables), read with a schema.
  func testABareEventlogFile() throws {
    let sandbox = try Sandbox()
    let file = "app/eventlog@4.db"
    try FileManager.default.createDirectory(atPath: sandbox.path("app"), withIntermediateDirectories: true)
    let created = try sandbox.start("/usr/bin/env", ["sqlite3", sandbox.path(file), """
      create table if not exists 'eventlog' ('seqNumGlobal' integer not null , 'seqNumClient' integer not null , 'parentSeqNumGlobal' integer not null , 'parentSeqNumClient' integer not null , 'name' text not null , 'argsJson' text not null , 'clientId' text not null , 'sessionId' text not null , 'schemaHash' integer not null , 'syncMetadataJson' text not null , PRIMARY KEY ('seqNumGlobal', 'seqNumClient')) strict;
      create table if not exists '__livestore_sync_status' ('head' integer not null , PRIMARY KEY ('head')) strict;
      INSERT INTO __livestore_sync_status (head) VALUES (1);
      INSERT INTO eventlog VALUES (0, 1, 0, 0, 'uiStateSet', '{"id":"Xy12a","value":{"newTodoText":"","filter":"all"}}', 'AbC12', 'Xy12a', 1, '{"_tag":"None"}');
      INSERT INTO eventlog VALUES (1, 0, 0, 0, 'v1.TodoCreated', '{"id":"t1","text":"Buy milk"}', 'AbC12', 'Xy12a', 2, '{"_tag":"None"}');
      INSERT INTO eventlog VALUES (2, 0, 1, 0, 'v1.TodoCompleted', '{"id":"t1"}', 'AbC12', 'Xy12a', 3, '{"_tag":"None"}');
      """]).wait()
    assertStatus(created, 0)
    let bytes = try sandbox.read(file)
    let schema = sandbox.path("examples/todomvc/schema.yaml")
    let json = try report(try sandbox.lstore("--eventlog", file, "replay", "--schema", schema, "--json"))
    XCTAssertEqual(json["outcome"] as? String, "clean")
    XCTAssertEqual(json["events"] as? Int, 3)
    XCTAssertEqual(json["head"] as? String, "e2")
    XCTAssertEqual((json["tables"] as? [[String: Any]])?.map { "\($0["table"]!) +\($0["inserted"]!) ~\($0["updated"]!)" },
                   ["todos +1 ~1", "uiState +1 ~0"])
    XCTAssertEqual(try sandbox.read(file), bytes, "the file is only read")

    assertError(try sandbox.lstore("--eventlog", file, "replay"), 64, ["replay needs a schema: give --schema with --eventlog"])
    assertError(try sandbox.lstore("--eventlog", "app/nope.db", "replay", "--schema", schema), 66, ["no such file: app/nope.db"])
  }

  func testSchemaAndAgainstFilesThatAreMissingOrBroken() throws {
    let store = try makeStore()
    let before = try files(store)
    assertError(try store.run("replay", "--schema", "nope.yaml"), 66, ["nope.yaml", "no such schema file"])
    let broken = try store.sandbox.write("broken.yaml", "tables:\n  todos:\n    columns:\n      id: { type: txt }\n")
    assertError(try store.run("replay", "--schema", broken), 65, ["broken.yaml"])
    assertError(try store.run("replay", "--against", "nope.db"), 66, ["no such file", "nope.db"])
    let junk = try store.sandbox.write("junk.db", String(repeating: "not sqlite ", count: 200))
    assertError(try store.run("replay", "--against", junk), 65, ["junk.db is not a readable state database"])
    assertError(try store.run("replay", "--sample", "-1"), 64, ["--sample"])
    XCTAssertEqual(try files(store), before)
  }
}
