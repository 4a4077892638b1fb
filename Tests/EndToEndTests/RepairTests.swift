import Foundation
import XCTest

/// A store whose eventlog is written with plain SQL in LiveStore's storage format 4 (the DDL
/// of LiveStore 0.3, as its node adapter runs it) or 6 (LiveStore 0.4.0's), damaged on purpose.
final class DamagedStore {
  let sandbox: Sandbox
  let format: Int
  var eventlog: String { sandbox.path(".lstore/branches/main/eventlog@\(format).db") }
  var lstoreDirectory: String { sandbox.path(".lstore") }

  struct Row {
    var g: Int
    var c = 0
    var pg: Int
    var pc = 0
    /// Format 6 only: the event's and its parent's rebase generation.
    var gen = 0
    var pgen = 0
    var name = "v1.TodoCreated"
    var args: String
    var sync = #"{"_tag":"None"}"#
  }

  static func created(_ g: Int, parent: Int? = nil, id: String? = nil, confirmed: Bool = false) -> Row {
    Row(g: g, pg: parent ?? g - 1, args: #"{"id":"\#(id ?? "t\(g)")","text":"todo \#(g)"}"#,
        sync: confirmed ? #"{"_tag":"Some","value":{}}"# : #"{"_tag":"None"}"#)
  }

  /// `lstore init`, then the branch's eventlog replaced by one written with plain SQL.
  init(_ rows: [Row], backendHead: Int = 0, commits: [(id: String, first: Int, last: Int)] = [], materialize: Bool = true,
       lstoreTables: Bool = true, format: Int = 4) throws {
    sandbox = try Sandbox()
    self.format = format
    try sandbox.initStore(format: format)
    try FileManager.default.removeItem(atPath: eventlog)
    for state in try FileManager.default.contentsOfDirectory(atPath: sandbox.path(".lstore/branches/main")) where state.hasPrefix("state") {
      try FileManager.default.removeItem(atPath: sandbox.path(".lstore/branches/main/" + state))
    }
    func text(_ value: String) -> String { "'" + value.replacingOccurrences(of: "'", with: "''") + "'" }
    var sql = format == 6 ? """
      PRAGMA page_size=8192;
      create table if not exists "eventlog" ("seqNumGlobal" integer   not null , "seqNumClient" integer   not null , "seqNumRebaseGeneration" integer   not null , "parentSeqNumGlobal" integer   not null , "parentSeqNumClient" integer   not null , "parentSeqNumRebaseGeneration" integer   not null , "name" text   not null , "argsJson" text   not null , "clientId" text   not null , "sessionId" text   not null , "schemaHash" integer   not null , "syncMetadataJson" text   not null , PRIMARY KEY ("seqNumGlobal", "seqNumClient", "seqNumRebaseGeneration")) strict;
      create  index if not exists "idx_eventlog_seqNumGlobal" on "eventlog" ("seqNumGlobal");
      create  index if not exists "idx_eventlog_seqNum" on "eventlog" ("seqNumGlobal", "seqNumClient", "seqNumRebaseGeneration");
      create table if not exists "__livestore_sync_status" ("head" integer primary key   , "backendId" text    ) strict;
      INSERT INTO __livestore_sync_status (head) VALUES (\(backendHead));

      """ : """
      PRAGMA page_size=8192;
      create table if not exists 'eventlog' ('seqNumGlobal' integer not null , 'seqNumClient' integer not null , 'parentSeqNumGlobal' integer not null , 'parentSeqNumClient' integer not null , 'name' text not null , 'argsJson' text not null , 'clientId' text not null , 'sessionId' text not null , 'schemaHash' integer not null , 'syncMetadataJson' text not null , PRIMARY KEY ('seqNumGlobal', 'seqNumClient')) strict;
      create  index if not exists 'idx_eventlog_seqNumGlobal' on 'eventlog' (seqNumGlobal);
      create  index if not exists 'idx_eventlog_seqNum' on 'eventlog' (seqNumGlobal, seqNumClient);
      create table if not exists '__livestore_sync_status' ('head' integer not null , PRIMARY KEY ('head')) strict;
      INSERT INTO __livestore_sync_status (head) VALUES (\(backendHead));

      """
    for row in rows {
      // Format 6: generation 0 for the event and its parent unless given (events as committed or pulled).
      let numbers = format == 6 ? "\(row.g), \(row.c), \(row.gen), \(row.pg), \(row.pc), \(row.pgen)" : "\(row.g), \(row.c), \(row.pg), \(row.pc)"
      sql += "INSERT INTO eventlog VALUES (\(numbers), \(text(row.name)), \(text(row.args)), 'app', 'web', 378064758, \(text(row.sync)));\n"
    }
    if lstoreTables {
      // lstore's own records, beside LiveStore's tables, as in a store lstore made.
      sql += "CREATE TABLE lstore_commit (id TEXT NOT NULL PRIMARY KEY, firstGlobal INTEGER NOT NULL, firstClient INTEGER NOT NULL, lastGlobal INTEGER NOT NULL, lastClient INTEGER NOT NULL, message TEXT NOT NULL, authorName TEXT NOT NULL, authorEmail TEXT NOT NULL, time TEXT NOT NULL) STRICT;\n"
      sql += "CREATE UNIQUE INDEX lstore_commit_last ON lstore_commit (lastGlobal, lastClient);\n"
      sql += "CREATE TABLE lstore_meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) STRICT;\n"
      for commit in commits {
        sql += "INSERT INTO lstore_commit VALUES ('\(commit.id)', \(commit.first), 0, \(commit.last), 0, 'commit \(commit.id)', 'A', 'a@example.com', '2026-01-01T00:00:00.000Z');\n"
      }
    }
    let script = try sandbox.write("fixture.sql", sql)
    let result = try sandbox.shell("sqlite3 '\(eventlog)' < '\(script)'")
    guard result.status == 0 else { throw SandboxError(message: "fixture: \(result)") }
    if materialize {
      let built = try sandbox.lstore("materialize")
      guard built.status == 0 else { throw SandboxError(message: "materialize: \(built)") }
    }
  }

  /// The branch's state file (of this store's format).
  func statePath() throws -> String { try sandbox.statePath(format: format) }

  func lstore(_ arguments: String..., env: [String: String] = [:]) throws -> CommandResult { try sandbox.lstore(arguments, env: env) }

  func sql(_ database: String, _ statement: String) throws {
    let result = try sandbox.shell("sqlite3 '\(database)' \"\(statement)\"")
    guard result.status == 0 else { throw SandboxError(message: "sqlite3: \(result)") }
  }

  /// Every file of the store (not the backups), with its bytes.
  func snapshot() throws -> [String: Data] {
    var files: [String: Data] = [:]
    let root = lstoreDirectory
    guard let walker = FileManager.default.enumerator(atPath: root) else { return files }
    while let path = walker.nextObject() as? String {
      if path.hasPrefix("backups") { continue }
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
        files[path] = try Data(contentsOf: URL(fileURLWithPath: root + "/" + path))
      }
    }
    return files
  }

  /// The codes `fsck --replay --json` prints.
  func fsckCodes() throws -> (status: Int32, codes: [String]) {
    let result = try sandbox.lstore(["fsck", "--replay", "--json"])
    let codes = result.lines.compactMap { line -> String? in
      (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["code"] as? String
    }
    return (result.status, codes)
  }
}

final class RepairTests: XCTestCase {
  /// Every fixture is built in both storage formats LiveStore writes: 4 (0.3) and 6 (0.4.0).
  func forEachFormat(_ body: (Int) throws -> Void) throws {
    for format in [4, 6] { try body(format) }
  }

  /// The round trip every kind of damage goes through: fsck names it, the dry run plans the
  /// expected actions and changes nothing, the repair leaves fsck clean, and restoring the
  /// backup gives back every original file byte for byte.
  @discardableResult
  func assertRepairs(_ store: DamagedStore, finds expected: [String], plans actions: [String],
                     file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    let original = try store.snapshot()
    let format = "format \(store.format): "
    let found = try store.fsckCodes()
    XCTAssertEqual(found.status, 1, format + "fsck reports errors", file: file, line: line)
    for code in expected { XCTAssertTrue(found.codes.contains(code), format + "fsck finds \(code): \(found.codes)", file: file, line: line) }

    let dryRun = try store.lstore("repair", "--dry-run", "--json")
    assertStatus(dryRun, 0, file: file, line: line)
    let planned = jsonLines(dryRun, file: file, line: line).dropLast().map { "\($0["action"]!) \($0["code"]!) \($0["subject"]!)" }
    XCTAssertEqual(planned, actions, format + "the plan", file: file, line: line)
    XCTAssertEqual(try store.snapshot(), original, format + "--dry-run changes nothing", file: file, line: line)
    let text = try store.lstore("repair", "--dry-run")
    assertStatus(text, 0, file: file, line: line)
    XCTAssertTrue(text.stdout.contains("Would apply"), text.description, file: file, line: line)

    let repair = try store.lstore("repair", "--json")
    assertStatus(repair, 0, file: file, line: line)
    let summary = jsonLines(repair, file: file, line: line).last ?? [:]
    XCTAssertEqual(summary["summary"] as? String, "repair", file: file, line: line)
    XCTAssertEqual((summary["remaining"] as? [Any])?.count, 0, "\(summary)", file: file, line: line)
    let after = try store.fsckCodes()
    XCTAssertEqual(after.status, 0, format + "fsck is clean after the repair: \(after.codes)", file: file, line: line)
    XCTAssertEqual(after.codes, [], file: file, line: line)
    XCTAssertEqual(try store.lstore("repair", "--dry-run").lines.last, "Nothing to repair", file: file, line: line)

    let backup = try XCTUnwrap(summary["backup"] as? String, file: file, line: line)
    XCTAssertTrue(backup.contains("/.lstore/backups/repair-20260101T000000Z"), backup, file: file, line: line)
    let restore = try store.lstore("repair", "--restore", backup)
    assertStatus(restore, 0, file: file, line: line)
    XCTAssertEqual(try store.snapshot(), original, format + "the backup restores every file byte for byte", file: file, line: line)
    return summary
  }

  func testBrokenParentInPendingEventsIsRelinked() throws {
    try forEachFormat { format in
      let store = try DamagedStore([DamagedStore.created(1), DamagedStore.created(2), DamagedStore.created(3), DamagedStore.created(4, parent: 1)], format: format)
      try assertRepairs(store, finds: ["chain-broken"], plans: ["renumber chain-broken e4", "rebuild-state chain-broken state"])
    }
  }

  func testGapIsClosed() throws {
    try forEachFormat { format in
      let store = try DamagedStore([DamagedStore.created(1), DamagedStore.created(2), DamagedStore.created(4, parent: 3), DamagedStore.created(5)],
                                   lstoreTables: false, format: format)
      try assertRepairs(store, finds: ["chain-broken"], plans: ["renumber chain-broken e4", "renumber chain-broken e5", "rebuild-state chain-broken state"])
      // Checked after the restore: the repaired numbering is what a repair gives again.
      assertStatus(try store.lstore("repair"), 0)
      XCTAssertEqual(try store.sandbox.sqlite(store.eventlog, "SELECT seqNumGlobal || '/' || parentSeqNumGlobal FROM eventlog ORDER BY 1"),
                     "1/0\n2/1\n3/2\n4/3\n")
    }
  }

  /// The same event appended twice on one parent (a retried write): the second is renumbered.
  func testDuplicateIsRenumbered() throws {
    try forEachFormat { format in
      var twice = DamagedStore.created(3, parent: 1, id: "t2")
      twice.args = #"{"id":"t2b","text":"todo 2"}"#
      let store = try DamagedStore([DamagedStore.created(1), DamagedStore.created(2), twice], format: format)
      try assertRepairs(store, finds: ["chain-broken"], plans: ["renumber chain-broken e3", "rebuild-state chain-broken state"])
    }
  }

  func testUnknownEventIsQuarantinedAndCanBeRestored() throws {
    try forEachFormat { format in
      var unknown = DamagedStore.created(2)
      unknown.name = "v9.TodoArchived"
      unknown.args = #"{"id":"t1"}"#
      let store = try DamagedStore([DamagedStore.created(1), unknown, DamagedStore.created(3)], materialize: false, format: format)
      try assertRepairs(store, finds: ["unknown-event", "replay-fails"], plans: [
        "quarantine unknown-event e2", "renumber unknown-event e3", "rebuild-state state-missing state",
      ])
      let repair = try store.lstore("repair")
      assertStatus(repair, 0)
      XCTAssertTrue(repair.stdout.contains("Quarantined 1 event into "), repair.stdout)
      let quarantine = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: store.sandbox.path(".lstore/quarantine")).first)
      let lines = String(decoding: try store.sandbox.read(".lstore/quarantine/" + quarantine), as: UTF8.self).split(separator: "\n")
      XCTAssertEqual(lines.count, 2)
      let event = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
      XCTAssertEqual(event["seqNum"] as? String, "e2")
      XCTAssertEqual(event["name"] as? String, "v9.TodoArchived")
      XCTAssertEqual(event["argsJson"] as? String, #"{"id":"t1"}"#)
      XCTAssertEqual(event["code"] as? String, "unknown-event")
      XCTAssertEqual(try store.sandbox.sqlite(store.eventlog, "SELECT count(*) FROM eventlog WHERE name = 'v9.TodoArchived'"), "0\n")

      // The restore advice: once the schema knows the event, its command appends it again.
      let schema = try String(contentsOfFile: store.sandbox.path("examples/todomvc/schema.yaml"), encoding: .utf8)
      _ = try store.sandbox.write("examples/todomvc/schema.yaml", schema + """

          v9.TodoArchived:
            args: { id: string }
            materializer: UPDATE todos SET text = 'archived' WHERE id = $id

        """)
      let restore = try XCTUnwrap(event["restore"] as? String)
      XCTAssertEqual(restore, #"lstore commit v9.TodoArchived '{"id":"t1"}'"#)
      let again = try store.sandbox.shell(restore)
      assertStatus(again, 0)
      XCTAssertEqual(try store.sandbox.sqlite(try store.statePath(), "SELECT text FROM todos WHERE id = 't1'"), "archived\n")
    }
  }

  func testArgsThatDoNotDecodeAreQuarantined() throws {
    try forEachFormat { format in
      var notJSON = DamagedStore.created(2)
      notJSON.args = "{not json"
      var wrongType = DamagedStore.created(3)
      wrongType.name = "v1.TodoCompleted"
      wrongType.args = #"{"id":5}"#
      let store = try DamagedStore([DamagedStore.created(1), notJSON, wrongType, DamagedStore.created(4)], materialize: false, format: format)
      try assertRepairs(store, finds: ["args-invalid-json", "args-schema"], plans: [
        "quarantine args-invalid-json e2", "quarantine args-schema e3", "renumber args-invalid-json e4",
        "rebuild-state state-missing state",
      ])
    }
  }

  func testFailingMaterializerIsQuarantined() throws {
    try forEachFormat { format in
      // The second TodoCreated of t1 fails its INSERT (primary key).
      let store = try DamagedStore([DamagedStore.created(1), DamagedStore.created(2, id: "t1"), DamagedStore.created(3)],
                                   materialize: false, format: format)
      try assertRepairs(store, finds: ["replay-fails"], plans: [
        "quarantine replay-fails e2", "renumber replay-fails e3", "rebuild-state state-missing state",
      ])
    }
  }

  func testBackendHeadAheadIsReset() throws {
    try forEachFormat { format in
      let store = try DamagedStore([DamagedStore.created(1, confirmed: true), DamagedStore.created(2, confirmed: true), DamagedStore.created(3)],
                                   backendHead: 7, format: format)
      try assertRepairs(store, finds: ["backend-head-ahead"], plans: ["reset-backend-head backend-head-ahead sync status",
                                                                       "rebuild-state backend-head-ahead state"])
    }
  }

  /// Client-only events chain on their own: `(g, c+1)` with parent `(g, c)`.
  func testClientOnlyEventsAreRenumberedByTheirOwnRule() throws {
    try forEachFormat { format in
      func ui(_ c: Int, parent: Int) -> DamagedStore.Row {
        DamagedStore.Row(g: 1, c: c, pg: 1, pc: parent, name: "uiStateSet",
                         args: #"{"id":"ses","value":{"newTodoText":"n\#(c)","filter":"all"}}"#)
      }
      let store = try DamagedStore([DamagedStore.created(1), ui(1, parent: 0), ui(3, parent: 2), DamagedStore.created(2)], format: format)
      try assertRepairs(store, finds: ["chain-broken"], plans: ["renumber chain-broken e1+3", "rebuild-state chain-broken state"])
      assertStatus(try store.lstore("repair"), 0)
      XCTAssertEqual(try store.sandbox.sqlite(store.eventlog, "SELECT seqNumGlobal || '+' || seqNumClient || ' < ' || parentSeqNumGlobal || '+' || parentSeqNumClient FROM eventlog ORDER BY seqNumGlobal, seqNumClient"),
                     "1+0 < 0+0\n1+1 < 1+0\n1+2 < 1+1\n2+0 < 1+0\n")
    }
  }

  /// A quarantined event inside a commit: the commit keeps its other events, renumbered.
  func testQuarantineInsideACommit() throws {
    try forEachFormat { format in
      var unknown = DamagedStore.created(3)
      unknown.name = "v9.Nope"
      let store = try DamagedStore([DamagedStore.created(1), DamagedStore.created(2), unknown, DamagedStore.created(4)],
                                   commits: [("c1", 1, 2), ("c2", 3, 4)], materialize: false, format: format)
      try assertRepairs(store, finds: ["unknown-event"], plans: [
        "quarantine unknown-event e3", "renumber unknown-event e4", "trim-commit unknown-event commit c2",
        "rebuild-state state-missing state",
      ])
      let repair = try store.lstore("repair")
      assertStatus(repair, 0)
      XCTAssertEqual(try store.sandbox.sqlite(store.eventlog, "SELECT id || ' ' || firstGlobal || '..' || lastGlobal FROM lstore_commit ORDER BY lastGlobal"),
                     "c1 1..2\nc2 3..3\n")
      XCTAssertEqual(try store.sandbox.sqlite(store.eventlog, "SELECT group_concat(json_extract(argsJson, '$.id')) FROM eventlog"), "t1,t2,t4\n")
      // The repair's own advice undoes it.
      let advice = try XCTUnwrap(repair.lines.first { $0.hasPrefix("Backup: ") })
      let command = try XCTUnwrap(advice.range(of: "undo with '").map { String(advice[$0.upperBound...].dropLast(2)) })
      assertStatus(try store.sandbox.shell(command), 0)
      XCTAssertEqual(try store.sandbox.sqlite(store.eventlog, "SELECT count(*) FROM eventlog WHERE name = 'v9.Nope'"), "1\n")
    }
  }

  /// A backup whose copy was damaged restores nothing.
  func testADamagedBackupRestoresNothing() throws {
    try forEachFormat { format in
      let store = try DamagedStore([DamagedStore.created(1), DamagedStore.created(3, parent: 2)], format: format)
      let repair = try store.lstore("repair", "--json")
      assertStatus(repair, 0)
      let backup = try XCTUnwrap(jsonLines(repair).last?["backup"] as? String)
      let repaired = try store.snapshot()
      let copy = backup + "/branches/main/eventlog@\(format).db"
      var bytes = try Data(contentsOf: URL(fileURLWithPath: copy))
      bytes[bytes.count - 1] ^= 0xFF
      try bytes.write(to: URL(fileURLWithPath: copy))
      assertError(try store.lstore("repair", "--restore", backup), 65, ["does not match the backup's manifest"])
      XCTAssertEqual(try store.snapshot(), repaired, "nothing restored")
    }
  }

  /// A pending event's sync metadata is None again; a confirmed one's is left to the backend.
  func testSyncMetadataOfPendingEvents() throws {
    try forEachFormat { format in
      var pending = DamagedStore.created(3)
      pending.sync = "garbage"
      var confirmed = DamagedStore.created(1, confirmed: true)
      confirmed.sync = "{}"
      let store = try DamagedStore([confirmed, DamagedStore.created(2, confirmed: true), pending], backendHead: 2, format: format)
      let original = try store.snapshot()
      let plan = try store.lstore("repair", "--dry-run", "--json")
      assertStatus(plan, 1)
      XCTAssertEqual(jsonLines(plan).dropLast().map { "\($0["action"]!) \($0["code"]!) \($0["subject"]!)" },
                     ["reset-sync-metadata sync-metadata e3", "cannot-fix sync-metadata e1"])
      XCTAssertEqual(try store.snapshot(), original)
      let repair = try store.lstore("repair")
      assertStatus(repair, 1)
      XCTAssertTrue(repair.stdout.contains("remaining error [sync-metadata]: e1:"), repair.stdout)
      XCTAssertEqual(try store.sandbox.sqlite(store.eventlog, "SELECT syncMetadataJson FROM eventlog WHERE seqNumGlobal = 3"), #"{"_tag":"None"}"# + "\n")
      XCTAssertEqual(try store.fsckCodes().codes, ["sync-metadata"])
    }
  }

  /// An event numbered against the schema's client-only flag (a uiStateSet numbered as
  /// synced): which of the two is wrong is not the eventlog's to say, so repair lists it as
  /// `cannot-fix`, changes nothing for it, and fsck still finds it afterwards.
  func testClientOnlyMismatchIsFoundAndLeft() throws {
    try forEachFormat { format in
      let ui = DamagedStore.Row(g: 2, pg: 1, name: "uiStateSet", args: #"{"id":"ses","value":{"newTodoText":"n","filter":"all"}}"#)
      let store = try DamagedStore([DamagedStore.created(1), ui, DamagedStore.created(3, parent: 2)], format: format)
      let original = try store.snapshot()
      let found = try store.fsckCodes()
      XCTAssertEqual(found.status, 1, "format \(format)")
      XCTAssertEqual(found.codes, ["client-only-mismatch"], "format \(format)")
      let plan = try store.lstore("repair", "--dry-run", "--json")
      assertStatus(plan, 1)
      XCTAssertEqual(jsonLines(plan).dropLast().map { "\($0["action"]!) \($0["code"]!) \($0["subject"]!)" },
                     ["cannot-fix client-only-mismatch e2"], "format \(format)")
      let repair = try store.lstore("repair")
      assertStatus(repair, 1)
      XCTAssertTrue(repair.stdout.contains("remaining error [client-only-mismatch]: e2:"), repair.stdout)
      XCTAssertEqual(try store.snapshot(), original, "format \(format): nothing to change, nothing changed")
      XCTAssertEqual(try store.fsckCodes().codes, ["client-only-mismatch"], "format \(format)")
    }
  }

  func testStateThatDiffersIsRebuilt() throws {
    try forEachFormat { format in
      let store = try DamagedStore([DamagedStore.created(1), DamagedStore.created(2)], format: format)
      try store.sql(try store.statePath(), "UPDATE todos SET text = 'tampered' WHERE id = 't2'")
      try assertRepairs(store, finds: ["state-differs"], plans: ["rebuild-state state-differs table todos"])
    }
  }

  func testMissingChangesetIsRecorded() throws {
    try forEachFormat { format in
      let store = try DamagedStore([DamagedStore.created(1), DamagedStore.created(2)], format: format)
      try store.sql(try store.statePath(), "DELETE FROM __livestore_session_changeset WHERE seqNumGlobal = 2")
      try assertRepairs(store, finds: ["changeset-missing"], plans: ["rebuild-state changeset-missing e2"])
    }
  }

  func testCommitRecordsPointingAtMissingEventsAreTrimmedOrDropped() throws {
    try forEachFormat { format in
      let store = try DamagedStore((1...4).map { DamagedStore.created($0) },
                                   commits: [("c1", 1, 2), ("c2", 3, 9), ("c3", 10, 11)], format: format)
      try assertRepairs(store, finds: ["commit-missing-events"], plans: [
        "trim-commit commit-missing-events commit c2", "drop-commit commit-missing-events commit c3",
      ])
      assertStatus(try store.lstore("repair"), 0)
      XCTAssertEqual(try store.sandbox.sqlite(store.eventlog, "SELECT id || ' ' || firstGlobal || '..' || lastGlobal FROM lstore_commit ORDER BY lastGlobal"),
                     "c1 1..2\nc2 3..4\n")
    }
  }

  func testReversedAndOverlappingCommitRecords() throws {
    try forEachFormat { format in
      let store = try DamagedStore((1...5).map { DamagedStore.created($0) },
                                   commits: [("c1", 1, 2), ("c2", 2, 3), ("c3", 5, 4)], format: format)
      try assertRepairs(store, finds: ["commit-overlap", "commit-reversed"], plans: [
        "trim-commit commit-overlap commit c2", "drop-commit commit-reversed commit c3",
      ])
      assertStatus(try store.lstore("repair"), 0)
      XCTAssertEqual(try store.sandbox.sqlite(store.eventlog, "SELECT id || ' ' || firstGlobal || '..' || lastGlobal FROM lstore_commit ORDER BY lastGlobal"),
                     "c1 1..2\nc2 3..3\n")
    }
  }

  /// LiveStore #1552: the state's tables were made by an older schema. The state is rebuilt
  /// with the current one; the eventlog is kept as it is.
  func testChangedStateSchemaIsRebuiltKeepingTheEventlog() throws {
    try forEachFormat { format in
      let store = try DamagedStore([DamagedStore.created(1), DamagedStore.created(2)], format: format)
      let oldState = try store.statePath()
      let schemaPath = store.sandbox.path("examples/todomvc/schema.yaml")
      let schema = try String(contentsOfFile: schemaPath, encoding: .utf8)
      _ = try store.sandbox.write("examples/todomvc/schema.yaml", schema.replacingOccurrences(
        of: "      completed: { type: boolean, default: false }\n",
        with: "      completed: { type: boolean, default: false }\n      priority: { type: integer, default: 0 }\n"))
      // The old tables under the new schema's file name, as a state kept across the change.
      let directory = store.sandbox.path(".lstore/branches/main")
      let before = Set(try FileManager.default.contentsOfDirectory(atPath: directory))
      assertStatus(try store.lstore("materialize"), 0)
      let created = try XCTUnwrap(Set(try FileManager.default.contentsOfDirectory(atPath: directory)).subtracting(before).first)
      let newStatePath = directory + "/" + created
      try FileManager.default.removeItem(atPath: newStatePath)
      try FileManager.default.copyItem(atPath: oldState, toPath: newStatePath)
      let eventlogBefore = try store.sandbox.read(store.eventlog)
      try assertRepairs(store, finds: ["state-schema-changed"], plans: [
        "rebuild-state state-schema-changed state", "rebuild-state state-stale state",
      ])
      assertStatus(try store.lstore("repair"), 0)
      XCTAssertEqual(try store.sandbox.read(store.eventlog), eventlogBefore, "the eventlog is kept")
      XCTAssertEqual(try store.sandbox.sqlite(newStatePath, "SELECT id || ' ' || priority FROM todos ORDER BY id"), "t1 0\nt2 0\n")
    }
  }

  func testConfirmedEventsAreNotRewrittenWithoutForce() throws {
    try forEachFormat { format in
      var unknown = DamagedStore.created(2, confirmed: true)
      unknown.name = "v9.Nope"
      let store = try DamagedStore([DamagedStore.created(1, confirmed: true), unknown, DamagedStore.created(3, confirmed: true),
                                    DamagedStore.created(4)], backendHead: 3, materialize: false, format: format)
      let original = try store.snapshot()
      let dryRun = try store.lstore("repair", "--dry-run")
      assertStatus(dryRun, 2)
      XCTAssertTrue(dryRun.stdout.contains("quarantine [unknown-event] e2:"), dryRun.stdout)
      XCTAssertTrue(dryRun.stdout.contains("[confirmed: needs --force]"), dryRun.stdout)
      XCTAssertTrue(dryRun.stdout.contains("needs --force"), dryRun.stdout)
      let dryJSON = try store.lstore("repair", "--dry-run", "--json")
      assertStatus(dryJSON, 2)
      let objects = jsonLines(dryJSON)
      XCTAssertEqual(objects.last?["needsForce"] as? Bool, true)
      XCTAssertEqual(objects.dropLast().filter { $0["confirmed"] as? Bool == true }.map { "\($0["action"]!) \($0["subject"]!)" },
                     ["quarantine e2", "renumber e3", "reset-backend-head sync status"])
      let refused = try store.lstore("repair")
      XCTAssertEqual(refused.status, 2, refused.description)
      XCTAssertTrue(refused.stderr.contains("lstore: error: the repair would rewrite events the backend has confirmed (e2"), refused.stderr)
      XCTAssertTrue(refused.stderr.contains("nothing was changed"), refused.stderr)
      XCTAssertEqual(refused.stdout, "")
      XCTAssertEqual(try store.snapshot(), original, "nothing changed")
      XCTAssertFalse(store.sandbox.exists(".lstore/backups"), "no backup either: nothing was going to change")

      let forced = try store.lstore("repair", "--force")
      assertStatus(forced, 0)
      XCTAssertEqual(try store.sandbox.sqlite(store.eventlog, "SELECT head FROM __livestore_sync_status"), "1\n")
      XCTAssertEqual(try store.fsckCodes().codes, [])
    }
  }

  /// A repair that fails at any point leaves every original file, and names its backup.
  func testAFailureMidwayLosesNothing() throws {
    try forEachFormat { format in
      for point in ["after-backup", "before-swap", "between-swaps"] {
        var unknown = DamagedStore.created(2)
        unknown.name = "v9.Nope"
        let store = try DamagedStore([DamagedStore.created(1), unknown, DamagedStore.created(3)], materialize: false, format: format)
        let original = try store.snapshot()
        let failed = try store.lstore("repair", env: ["LSTORE_REPAIR_FAIL_AT": point])
        assertError(failed, 1, ["the repair failed and changed nothing", "failure injected at \(point)",
                                "the backup it wrote first is \(store.sandbox.path(".lstore/backups/repair-20260101T000000Z"))"])
        XCTAssertEqual(try store.snapshot(), original, "\(point): the original files")
        let scratch = try FileManager.default.contentsOfDirectory(atPath: store.sandbox.path(".lstore/branches/main")).filter { $0.contains(".repair-") }
        XCTAssertEqual(scratch, [], "\(point): no scratch file left")
        // And the repair still works afterwards.
        assertStatus(try store.lstore("repair"), 0)
      }
    }
  }

  func testRestoreRefusesWhatIsNotABackup() throws {
    let store = try DamagedStore([DamagedStore.created(1)])
    assertError(try store.lstore("repair", "--restore", store.sandbox.path("nowhere")), 66, ["no such backup"])
    try FileManager.default.createDirectory(atPath: store.sandbox.path("empty"), withIntermediateDirectories: true)
    assertError(try store.lstore("repair", "--restore", store.sandbox.path("empty")), 65, ["is not a repair backup"])
  }

  // MARK: - Damage only format 6 can hold

  /// The rebase generation is part of format 6's primary key: one position can hold an event
  /// twice, as first committed (generation 0) and as rebased (generation 1), when a rebase
  /// stopped between writing the renumbered copy and deleting the original. fsck finds it;
  /// lstore moves events by position, so repair says it cannot fix it and changes nothing
  /// (it used to plan a renumbering that did not take).
  func testFormat6SamePositionInTwoGenerationsIsFoundAndLeft() throws {
    var rebased = DamagedStore.created(3, parent: 2, id: "t3b")
    rebased.gen = 1
    let store = try DamagedStore([DamagedStore.created(1), DamagedStore.created(2), DamagedStore.created(3), rebased,
                                  DamagedStore.created(4)], format: 6)
    let original = try store.snapshot()
    let found = try store.fsckCodes()
    XCTAssertEqual(found.status, 1)
    XCTAssertEqual(found.codes, ["chain-broken"])
    let plan = try store.lstore("repair", "--dry-run", "--json")
    assertStatus(plan, 1)
    XCTAssertEqual(jsonLines(plan).dropLast().map { "\($0["action"]!) \($0["code"]!) \($0["subject"]!)" },
                   ["cannot-fix chain-broken e3r1"])
    let repair = try store.lstore("repair")
    assertStatus(repair, 1)
    XCTAssertTrue(repair.stdout.contains("remaining error [chain-broken]: e3r1:"), repair.stdout)
    XCTAssertEqual(try store.snapshot(), original, "nothing changed")
    // The advice works: with one copy gone the store is sound.
    try store.sql(store.eventlog, "DELETE FROM eventlog WHERE seqNumRebaseGeneration = 1")
    XCTAssertEqual(try store.fsckCodes().codes, ["state-differs"], "t3b's row is still in the state")
    assertStatus(try store.lstore("repair"), 0)
    XCTAssertEqual(try store.fsckCodes().codes, [])
  }
}
