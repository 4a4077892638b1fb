import Foundation
import XCTest

/// `--eventlog path/to/eventlog@4.db`: any LiveStore eventlog file, read-only.
final class EventlogFileTests: XCTestCase {
  var sandbox: Sandbox!
  let file = "path/to/eventlog@4.db"

  /// An eventlog as LiveStore writes it: its exact DDL, no lstore tables; a client-only
  /// event before the first synced one, a confirmed event and a pending one.
  override func setUpWithError() throws {
    sandbox = try Sandbox()
    try FileManager.default.createDirectory(atPath: sandbox.path("path/to"), withIntermediateDirectories: true)
    let sql = """
      PRAGMA page_size=8192;
      create table if not exists 'eventlog' ('seqNumGlobal' integer not null , 'seqNumClient' integer not null , 'parentSeqNumGlobal' integer not null , 'parentSeqNumClient' integer not null , 'name' text not null , 'argsJson' text not null , 'clientId' text not null , 'sessionId' text not null , 'schemaHash' integer not null , 'syncMetadataJson' text not null , PRIMARY KEY ('seqNumGlobal', 'seqNumClient')) strict;
      create  index if not exists 'idx_eventlog_seqNumGlobal' on 'eventlog' (seqNumGlobal);
      create  index if not exists 'idx_eventlog_seqNum' on 'eventlog' (seqNumGlobal, seqNumClient);
      create table if not exists '__livestore_sync_status' ('head' integer not null , PRIMARY KEY ('head')) strict;
      INSERT INTO __livestore_sync_status (head) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM __livestore_sync_status);
      INSERT INTO eventlog VALUES (0, 1, 0, 0, 'uiStateSet', '{"id":"Xy12a","value":{"newTodoText":"","filter":"all"}}', 'AbC12', 'Xy12a', 1, '{"_tag":"None"}');
      INSERT INTO eventlog VALUES (1, 0, 0, 0, 'v1.TodoCreated', '{"id":"t1","text":"Buy milk"}', 'AbC12', 'Xy12a', 2, '{"_tag":"Some","value":{"createdAt":"2025-06-06T10:00:00.123Z"}}');
      INSERT INTO eventlog VALUES (1, 1, 1, 0, 'uiStateSet', '{"id":"Xy12a","value":{"newTodoText":"x"}}', 'AbC12', 'Xy12a', 1, '{"_tag":"None"}');
      INSERT INTO eventlog VALUES (2, 0, 1, 0, 'v1.TodoDeleted', '{"id":"t1","deletedAt":"2025-06-06T10:01:00.000Z"}', 'AbC12', 'Xy12a', 3, '{"_tag":"None"}');
      UPDATE __livestore_sync_status SET head = 1;
      """
    let created = try sandbox.start("/usr/bin/env", ["sqlite3", sandbox.path(file), sql]).wait()
    assertStatus(created, 0)
  }

  override func tearDown() { sandbox = nil }

  func testReadCommandsWorkAndLeaveTheFileUntouched() throws {
    let bytes = try sandbox.read(file)
    let modified = try FileManager.default.attributesOfItem(atPath: sandbox.path(file))[.modificationDate] as? Date

    let log = try sandbox.lstore("--eventlog", file, "log")
    assertStatus(log, 0)
    XCTAssertTrue(log.stdout.contains("events e0+1..e2 (4 events, no commit)"), log.stdout)
    XCTAssertTrue(log.stdout.contains("Client: AbC12, session Xy12a"), log.stdout)
    XCTAssertEqual(try sandbox.lstore("--eventlog", file, "log", "--oneline").lines, ["- e0+1..e2 (4 events from AbC12/Xy12a, no commit)"])
    XCTAssertEqual(try sandbox.lstore("--eventlog", file, "log", "--events", "--oneline").lines.map { $0.components(separatedBy: " ")[0] },
                   ["e2", "e1+1", "e1", "e0+1"])
    let json = jsonLines(try sandbox.lstore("--eventlog", file, "log", "--json", "--reverse"))
    XCTAssertEqual(json.map { $0["seqNum"] as? String }, ["e0+1", "e1", "e1+1", "e2"])
    XCTAssertEqual(json.map { $0["parentSeqNum"] as? String }, ["e0", "e0", "e1", "e1"])
    XCTAssertEqual(json.map { $0["clientOnly"] as? Bool }, [true, false, true, false])
    XCTAssertTrue(json.allSatisfy { $0["commit"] is NSNull })
    XCTAssertEqual((json[1]["syncMetadata"] as? [String: Any])?["_tag"] as? String, "Some")

    let status = try sandbox.lstore("--eventlog", file, "status")
    assertStatus(status, 0)
    XCTAssertTrue(status.stdout.contains("(read-only)"), status.stdout)
    XCTAssertTrue(status.stdout.contains("Head:         e2 (4 events, 0 commits)"), status.stdout)
    XCTAssertTrue(status.stdout.contains("Backend head: e1 — 1 pending to push; 2 client-only events (never pushed)"), status.stdout)
    let statusJSON = try XCTUnwrap(jsonLines(try sandbox.lstore("--eventlog", file, "status", "--json")).first)
    XCTAssertEqual(statusJSON["head"] as? String, "e2")
    XCTAssertEqual(statusJSON["backendHead"] as? String, "e1")
    XCTAssertEqual(statusJSON["pending"] as? Int, 1)

    let confirmed = try sandbox.lstore("--eventlog", file, "show", "e1")
    assertStatus(confirmed, 0)
    XCTAssertTrue(confirmed.stdout.contains(#"Synced:   confirmed {"_tag":"Some","value":{"createdAt":"2025-06-06T10:00:00.123Z"}}"#), confirmed.stdout)
    XCTAssertTrue(try sandbox.lstore("--eventlog", file, "show", "e2").stdout.contains("pending (not pushed)"))
    XCTAssertEqual(jsonLines(try sandbox.lstore("--eventlog", file, "show", "e1+1", "--json")).first?["name"] as? String, "uiStateSet")

    let export = try sandbox.lstore("--eventlog", file, "export")
    assertStatus(export, 0)
    XCTAssertEqual(export.lines.count, 6)
    XCTAssertTrue(export.lines[0].contains(#""firstParent":"e0","head":"e2","events":4,"commits":0,"backendHead":1"#), export.lines[0])
    XCTAssertEqual(export.lines[2], #"{"seqNum":"e1","parentSeqNum":"e0","name":"v1.TodoCreated","args":{"id":"t1","text":"Buy milk"},"clientId":"AbC12","sessionId":"Xy12a","schemaHash":2,"syncMetadata":{"_tag":"Some","value":{"createdAt":"2025-06-06T10:00:00.123Z"}}}"#)

    let materialize = try sandbox.lstore("--eventlog", file, "materialize", "--schema", "examples/todomvc/schema.yaml", "-o", "state.db")
    assertStatus(materialize, 0)
    XCTAssertTrue(materialize.stdout.hasPrefix("Materialized 4 events through e2"), materialize.stdout)
    XCTAssertEqual(try sandbox.sqlite("state.db", "SELECT id, text, completed, deletedAt FROM todos"), "t1|Buy milk|0|1749204060000\n")
    XCTAssertEqual(try sandbox.sqlite("state.db", "SELECT id, value FROM uiState"), #"Xy12a|{"newTodoText":"x","filter":"all"}"# + "\n")
    // Only events after the backend head keep a changeset.
    XCTAssertEqual(try sandbox.sqlite("state.db", "SELECT seqNumGlobal || '+' || seqNumClient FROM __livestore_session_changeset ORDER BY 1"), "1+1\n2+0\n")

    // The file was only read.
    XCTAssertEqual(try sandbox.read(file), bytes)
    XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: sandbox.path(file))[.modificationDate] as? Date, modified)
    XCTAssertFalse(sandbox.exists(file + "-journal"))
    XCTAssertEqual(try sandbox.sqlite(file, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"),
                   "__livestore_sync_status\neventlog\n")
  }

  func testWritingCommandsAreRefused() throws {
    let bytes = try sandbox.read(file)
    assertError(try sandbox.lstore("--eventlog", file, "commit", "v1.TodoCompleted", #"{"id":"t1"}"#), 64, ["read-only"])
    try sandbox.write("some.ndjson", ExportWriter.todos(count: 2, firstParent: 2))
    assertError(try sandbox.lstore("--eventlog", file, "import", "some.ndjson"), 64, ["read-only"])
    // materialize needs a schema and a new file.
    assertStatus(try sandbox.lstore("--eventlog", file, "materialize"), 64)
    assertStatus(try sandbox.lstore("--eventlog", file, "materialize", "--schema", "examples/todomvc/schema.yaml"), 64)
    XCTAssertEqual(try sandbox.read(file), bytes)
  }

  func testItsExportImportsIntoAStore() throws {
    assertStatus(try sandbox.lstore("--eventlog", file, "export", "-o", "from-livestore.ndjson"), 0)
    try sandbox.initStore("copy", storeId: "to")
    assertStatus(try sandbox.lstore("-C", "copy", "import", "from-livestore.ndjson"), 0)
    XCTAssertEqual(try sandbox.lstore("-C", "copy", "log", "--json").stdout, try sandbox.lstore("--eventlog", file, "log", "--json").stdout)
    // Same storeId: the backend's confirmations come along.
    XCTAssertEqual(jsonLines(try sandbox.lstore("-C", "copy", "status", "--json")).first?["backendHead"] as? String, "e1")
  }
}
