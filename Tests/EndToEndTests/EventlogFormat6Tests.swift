import Foundation
import XCTest

/// `--eventlog path/to/eventlog@6.db`: a LiveStore 0.4 eventlog (storage format 6), built
/// with the DDL strings LiveStore 0.4.0 runs, read by every read-only command.
final class EventlogFormat6Tests: XCTestCase {
  var sandbox: Sandbox!
  let file = "app/eventlog@6.db"

  /// A client-only event before the first synced one, two confirmed events (the second
  /// from another client), then a pending event and a client-only one that a rebase
  /// renumbered after the pulled event (rebase generation 1, parent in the same generation,
  /// as LiveStore's `nextPair` writes it).
  override func setUpWithError() throws {
    sandbox = try Sandbox()
    try FileManager.default.createDirectory(atPath: sandbox.path("app"), withIntermediateDirectories: true)
    let sql = """
      PRAGMA page_size=8192;
      create table if not exists "eventlog" ("seqNumGlobal" integer   not null , "seqNumClient" integer   not null , "seqNumRebaseGeneration" integer   not null , "parentSeqNumGlobal" integer   not null , "parentSeqNumClient" integer   not null , "parentSeqNumRebaseGeneration" integer   not null , "name" text   not null , "argsJson" text   not null , "clientId" text   not null , "sessionId" text   not null , "schemaHash" integer   not null , "syncMetadataJson" text   not null , PRIMARY KEY ("seqNumGlobal", "seqNumClient", "seqNumRebaseGeneration")) strict;
      create  index if not exists "idx_eventlog_seqNumGlobal" on "eventlog" ("seqNumGlobal");
      create  index if not exists "idx_eventlog_seqNum" on "eventlog" ("seqNumGlobal", "seqNumClient", "seqNumRebaseGeneration");
      create table if not exists "__livestore_sync_status" ("head" integer primary key   , "backendId" text    ) strict;
      INSERT INTO __livestore_sync_status (head)
                SELECT 0
                WHERE NOT EXISTS (SELECT 1 FROM __livestore_sync_status);
      INSERT INTO eventlog VALUES (0, 1, 0, 0, 0, 0, 'uiStateSet', '{"id":"S1","value":{"newTodoText":"","filter":"all"}}', 'C1', 'S1', 1, '{"_tag":"None"}');
      INSERT INTO eventlog VALUES (1, 0, 0, 0, 0, 0, 'v1.TodoCreated', '{"id":"t1","text":"Buy milk"}', 'C1', 'S1', 2, '{"_tag":"Some","value":{"_tag":"SyncMessage.SyncMetadata","createdAt":"2026-06-06T10:00:00.000Z"}}');
      INSERT INTO eventlog VALUES (2, 0, 0, 1, 0, 0, 'v1.TodoCreated', '{"id":"t2","text":"Call Bob"}', 'C2', 'S2', 2, '{"_tag":"Some","value":{"_tag":"SyncMessage.SyncMetadata","createdAt":"2026-06-06T10:00:01.000Z"}}');
      INSERT INTO eventlog VALUES (3, 0, 1, 2, 0, 1, 'v1.TodoCompleted', '{"id":"t2"}', 'C1', 'S1', 3, '{"_tag":"None"}');
      INSERT INTO eventlog VALUES (3, 1, 1, 3, 0, 1, 'uiStateSet', '{"id":"S1","value":{"newTodoText":"x"}}', 'C1', 'S1', 1, '{"_tag":"None"}');
      UPDATE __livestore_sync_status SET head = 2;
      UPDATE __livestore_sync_status SET backendId = 'backend-1';
      """
    assertStatus(try sandbox.start("/usr/bin/env", ["sqlite3", sandbox.path(file), sql]).wait(), 0)
  }

  override func tearDown() { sandbox = nil }

  func testEveryReadCommandReadsItAndLeavesItUntouched() throws {
    let bytes = try sandbox.read(file)

    // log: the rebase generation is part of the number as shown (LiveStore's `r` suffix).
    XCTAssertEqual(try sandbox.lstore("--eventlog", file, "log", "--events", "--oneline").lines.map { $0.components(separatedBy: " ")[0] },
                   ["e3+1r1", "e3r1", "e2", "e1", "e0+1"])
    let json = jsonLines(try sandbox.lstore("--eventlog", file, "log", "--json", "--reverse"))
    XCTAssertEqual(json.map { $0["seqNum"] as? String }, ["e0+1", "e1", "e2", "e3r1", "e3+1r1"])
    XCTAssertEqual(json.map { $0["parentSeqNum"] as? String }, ["e0", "e0", "e1", "e2r1", "e3r1"])
    XCTAssertEqual(json.map { $0["clientOnly"] as? Bool }, [true, false, false, false, true])

    // show: by the number with or without its generation, and in LiveStore's notation.
    for revision in ["e3", "e3r1", "e3.0r1"] {
      let shown = try sandbox.lstore("--eventlog", file, "show", revision)
      assertStatus(shown, 0)
      XCTAssertTrue(shown.stdout.contains("v1.TodoCompleted"), "\(revision): \(shown.stdout)")
      XCTAssertTrue(shown.stdout.contains("e3r1"), "\(revision): \(shown.stdout)")
    }
    XCTAssertEqual(jsonLines(try sandbox.lstore("--eventlog", file, "show", "e3.1", "--json")).first?["seqNum"] as? String, "e3+1r1")

    // status: the backend head, what is pending.
    let status = try XCTUnwrap(jsonLines(try sandbox.lstore("--eventlog", file, "status", "--json")).first)
    XCTAssertEqual(status["head"] as? String, "e3+1r1")
    XCTAssertEqual(status["backendHead"] as? String, "e2")
    XCTAssertEqual(status["pending"] as? Int, 1)
    // The backend id LiveStore 0.4 kept, and the format.
    XCTAssertEqual(status["backendId"] as? String, "backend-1")
    XCTAssertEqual(status["format"] as? Int, 6)
    XCTAssertTrue(try sandbox.lstore("--eventlog", file, "status").stdout.contains("Backend id:   backend-1"))

    // fsck: the chain is checked by (global, client), as LiveStore links it.
    let fsck = try sandbox.lstore("--eventlog", file, "fsck", "--schema", "examples/todomvc/schema.yaml", "--json")
    assertStatus(fsck, 0)
    XCTAssertEqual(jsonLines(fsck).last?["errors"] as? Int, 0, fsck.stdout)

    // export: the wire form, numbered by global and client (the backend never sees
    // generations); it imports into a store.
    let export = try sandbox.lstore("--eventlog", file, "export", "-o", "out.ndjson")
    assertStatus(export, 0)
    try sandbox.initStore("copy", storeId: "to")
    assertStatus(try sandbox.lstore("-C", "copy", "import", "out.ndjson"), 0)
    XCTAssertEqual(jsonLines(try sandbox.lstore("-C", "copy", "log", "--json", "--reverse")).map { $0["name"] as? String },
                   json.map { $0["name"] as? String })

    // materialize into a new state file, and sql over the file.
    let materialize = try sandbox.lstore("--eventlog", file, "materialize", "--schema", "examples/todomvc/schema.yaml", "-o", "state.db")
    assertStatus(materialize, 0)
    XCTAssertEqual(try sandbox.sqlite("state.db", "SELECT id, text, completed FROM todos ORDER BY id"), "t1|Buy milk|0\nt2|Call Bob|1\n")
    XCTAssertEqual(try sandbox.sqlite("state.db", "SELECT id, value FROM uiState"), #"S1|{"newTodoText":"x","filter":"all"}"# + "\n")
    // The new state is in the eventlog's format: format 6's changesets carry the generation.
    XCTAssertEqual(try sandbox.sqlite("state.db", "SELECT seqNumGlobal || '.' || seqNumClient || 'r' || seqNumRebaseGeneration FROM __livestore_session_changeset ORDER BY 1"),
                   "3.0r1\n3.1r1\n")
    let sql = try sandbox.lstore("--eventlog", file, "sql", "--json",
                                 "select seqNumGlobal, seqNumRebaseGeneration from eventlog where seqNumClient = 0 order by 1")
    assertStatus(sql, 0)
    XCTAssertEqual(jsonLines(sql).map { $0["seqNumRebaseGeneration"] as? Int }, [0, 0, 1])

    // replay, diff and blame replay the file through a schema.
    let schema = "examples/todomvc/schema.yaml"
    let replay = try sandbox.lstore("--eventlog", file, "replay", "--schema", schema, "--json")
    assertStatus(replay, 0)
    XCTAssertEqual(jsonLines(replay).first?["events"] as? Int, 5, replay.stdout)
    let diff = try sandbox.lstore("--eventlog", file, "diff", "--schema", schema, "e2", "e3r1", "--table", "todos")
    assertStatus(diff, 0)
    XCTAssertEqual(diff.lines, ["todos: +0 -0 ~1", "~ t2 completed: 0 -> 1"])
    let blame = try sandbox.lstore("--eventlog", file, "blame", "--schema", schema, "todos", "t2")
    assertStatus(blame, 0)
    XCTAssertTrue(blame.lines.contains { $0.hasPrefix("e3r1") && $0.hasSuffix("completed = 1") }, blame.stdout)

    XCTAssertEqual(try sandbox.read(file), bytes)
    XCTAssertFalse(sandbox.exists(file + "-journal"))
  }

  /// A file that is neither format: the error names the columns it found and what is off.
  func testAnUnknownLayoutIsRefusedNamingWhatWasFound() throws {
    let odd = "app/odd.db"
    let sql = """
      create table eventlog (seqNumGlobal integer, seqNumClient integer, name text, payload text);
      create table __livestore_sync_status (head integer);
      """
    assertStatus(try sandbox.start("/usr/bin/env", ["sqlite3", sandbox.path(odd), sql]).wait(), 0)
    let log = try sandbox.lstore("--eventlog", odd, "log")
    XCTAssertNotEqual(log.status, 0)
    for fragment in ["storage format 4 or 6", "seqNumGlobal, seqNumClient, name, payload", "missing columns 'parentSeqNumGlobal'",
                     "unknown column 'payload'"] {
      XCTAssertTrue(log.stderr.contains(fragment), "\(fragment): \(log.stderr)")
    }
  }
}
