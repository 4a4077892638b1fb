import Foundation
import XCTest

/// Stores in LiveStore 0.4's storage format 6: `init --format 6`, writes with rebase
/// generations, sync through `lstore serve` (the 0.4 protocol, detected), and `convert` between 4 and 6.
final class StoreFormat6Tests: XCTestCase {
  var sandbox: Sandbox!

  override func setUpWithError() throws { sandbox = try Sandbox() }
  override func tearDown() { sandbox = nil }

  /// The `sql` of LiveStore's own objects in a file, in creation order (lstore's tables and
  /// SQLite's auto-indexes left out).
  func liveStoreSQL(_ database: String) throws -> [String] {
    try sandbox.sqlite(database, "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'lstore%' AND name NOT LIKE 'sqlite%' ORDER BY rowid")
      .split(separator: "\n").map(String.init)
  }

  /// Document A2, "What SQLite keeps in sqlite_master.sql", for the eventlog DB.
  static let eventlogMaster = [
    #"CREATE TABLE "eventlog" ("seqNumGlobal" integer   not null , "seqNumClient" integer   not null , "seqNumRebaseGeneration" integer   not null , "parentSeqNumGlobal" integer   not null , "parentSeqNumClient" integer   not null , "parentSeqNumRebaseGeneration" integer   not null , "name" text   not null , "argsJson" text   not null , "clientId" text   not null , "sessionId" text   not null , "schemaHash" integer   not null , "syncMetadataJson" text   not null , PRIMARY KEY ("seqNumGlobal", "seqNumClient", "seqNumRebaseGeneration")) strict"#,
    #"CREATE INDEX "idx_eventlog_seqNumGlobal" on "eventlog" ("seqNumGlobal")"#,
    #"CREATE INDEX "idx_eventlog_seqNum" on "eventlog" ("seqNumGlobal", "seqNumClient", "seqNumRebaseGeneration")"#,
    #"CREATE TABLE "__livestore_sync_status" ("head" integer primary key   , "backendId" text    ) strict"#,
  ]

  /// The same block, for the state DB's system tables.
  static let stateSystemMaster = [
    #"CREATE TABLE "__livestore_schema" ("tableName" text primary key   , "schemaHash" integer   not null , "updatedAt" text   not null ) strict"#,
    #"CREATE TABLE "__livestore_schema_event_defs" ("eventName" text primary key   , "schemaHash" integer   not null , "updatedAt" text   not null ) strict"#,
    #"CREATE TABLE "__livestore_session_changeset" ("seqNumGlobal" integer   not null , "seqNumClient" integer   not null , "seqNumRebaseGeneration" integer   not null , "changeset" blob    , "debug" text    ) strict"#,
    #"CREATE INDEX "idx_session_changeset_id" on "__livestore_session_changeset" ("seqNumGlobal", "seqNumClient")"#,
  ]

  func testInitFormat6WritesLiveStore040sExactDDL() throws {
    try sandbox.initStore(format: 6)
    let branch = ".lstore/branches/main/"
    XCTAssertTrue(sandbox.exists(branch + "eventlog@6.db"))
    XCTAssertFalse(sandbox.exists(branch + "eventlog@4.db"))
    XCTAssertEqual(try liveStoreSQL(branch + "eventlog@6.db"), Self.eventlogMaster)
    let state = try sandbox.statePath(format: 6)
    XCTAssertEqual(Array(try liveStoreSQL(state).prefix(4)), Self.stateSystemMaster)
    // No merge counter in 0.4.0; user tables double-quoted as 0.4's makeColumnSpec writes them.
    XCTAssertFalse(try liveStoreSQL(state).contains { $0.contains("__livestore_leader_merge_counter") })
    let stateSQL = try liveStoreSQL(state)
    XCTAssertTrue(stateSQL.contains { $0.hasPrefix(#"CREATE TABLE "todos" ("id" text primary key   ,"#) }, stateSQL.joined(separator: "\n"))
    let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: try sandbox.read(".lstore/config.json")) as? [String: Any])
    XCTAssertEqual(config["storageFormat"] as? Int, 6)
    XCTAssertEqual(config["formatVersion"] as? Int, 2, "an lstore that knows only format 4 refuses the store")
    // The sync status row, backendId unset until a backend tells it.
    XCTAssertEqual(try sandbox.sqlite(branch + "eventlog@6.db", "SELECT head, quote(backendId) FROM __livestore_sync_status"), "0|NULL\n")
    let status = try XCTUnwrap(jsonLines(try sandbox.lstore("status", "--json")).first)
    XCTAssertEqual(status["format"] as? Int, 6)
    XCTAssertNil(status["backendId"])
    // The default stays 4.
    try sandbox.initStore("four")
    XCTAssertTrue(sandbox.exists("four/.lstore/branches/main/eventlog@4.db"))
    let config4 = try XCTUnwrap(try JSONSerialization.jsonObject(with: try sandbox.read("four/.lstore/config.json")) as? [String: Any])
    XCTAssertEqual(config4["formatVersion"] as? Int, 1)
    XCTAssertEqual(try XCTUnwrap(jsonLines(try sandbox.lstore("-C", "four", "status", "--json")).first)["format"] as? Int, 4)
  }

  func rows(_ store: String, _ branch: String = "main") throws -> String {
    try sandbox.sqlite("\(store)/.lstore/branches/\(branch)/eventlog@6.db", """
      SELECT seqNumGlobal || '.' || seqNumClient || 'r' || seqNumRebaseGeneration || '<' || parentSeqNumGlobal || '.' || parentSeqNumClient || 'r' || parentSeqNumRebaseGeneration
      FROM eventlog ORDER BY seqNumGlobal, seqNumClient
      """).split(separator: "\n").joined(separator: " ")
  }

  func ok(_ arguments: String..., stdin: String? = nil) throws -> CommandResult {
    let result = try sandbox.lstore(arguments, stdin: stdin)
    XCTAssertEqual(result.status, 0, "\(arguments): \(result)")
    return result
  }

  func testFormat6FlowCommitsBranchRebasePullResetFsckExportImport() throws {
    let server = try SyncEndToEndTests.Server(sandbox: sandbox)
    defer { server.kill() }
    try sandbox.initStore("a", format: 6)
    try sandbox.initStore("b", format: 6, clientId: "bob", sessionId: "bs")
    for store in ["a", "b"] { try ok("-C", store, "remote", "add", "origin", server.url) }

    try ok("-C", "a", "commit", "v1.TodoCreated", #"{"id":"a1","text":"from A"}"#, "-m", "A1")
    try ok("-C", "a", "commit", "v1.TodoCompleted", #"{"id":"a1"}"#, "-m", "A2")
    try ok("-C", "a", "push")
    let events = """
      {"name":"v1.TodoCreated","args":{"id":"b1","text":"from B"}}
      {"name":"uiStateSet","args":{"value":{"filter":"active"}}}
      {"name":"v1.TodoCompleted","args":{"id":"b1"}}
      """
    try ok("-C", "b", "commit", "-m", "B's work", "--file", "-", stdin: events)
    XCTAssertEqual(try rows("b"), "1.0r0<0.0r0 1.1r0<1.0r0 2.0r0<1.0r0")

    // The pull rebases B's pending events after A's: generation newUpstreamHead + 1 = 1, the
    // first one's parent the pulled e2 (generation 0), as LiveStore's rebaseEvents numbers them.
    let pull = try ok("-C", "b", "pull", "--json")
    XCTAssertTrue(pull.stdout.contains(#""rebased":3"#), pull.stdout)
    XCTAssertEqual(try rows("b"), "1.0r0<0.0r0 2.0r0<1.0r0 3.0r1<2.0r0 3.1r1<3.0r1 4.0r1<3.0r1")
    XCTAssertEqual(try sandbox.lstore("-C", "b", "log", "--events", "--oneline", "--reverse").lines.map { $0.components(separatedBy: " ")[0] },
                   ["e1", "e2", "e3r1", "e3+1r1", "e4r1"])
    // Session changesets of the pending events carry their generation.
    let bState = try sandbox.statePath("b", format: 6)
    XCTAssertEqual(try sandbox.sqlite(bState, "SELECT seqNumGlobal || '.' || seqNumClient || 'r' || seqNumRebaseGeneration FROM __livestore_session_changeset ORDER BY 1"),
                   "3.0r1\n3.1r1\n4.0r1\n")
    XCTAssertEqual(try sandbox.sqlite(bState, "SELECT id || ':' || completed FROM todos ORDER BY id"), "a1:1\nb1:1\n")
    // A commit follows the head in its generation (nextPair keeps the base's).
    try ok("-C", "b", "commit", "v1.TodoCreated", #"{"id":"b2","text":"next"}"#, "-m", "B2")
    let afterCommit = try rows("b")
    XCTAssertTrue(afterCommit.hasSuffix("5.0r1<4.0r1"), afterCommit)
    try ok("-C", "b", "push")
    try ok("-C", "a", "pull")
    // Pulled events have generation 0; a format-6 store syncs with lstore serve over 0.4,
    // whose backend id it keeps (21 characters, the same in both clones).
    XCTAssertEqual(try rows("a"), "1.0r0<0.0r0 2.0r0<1.0r0 3.0r0<2.0r0 4.0r0<3.0r0 5.0r0<4.0r0")
    XCTAssertEqual(try sandbox.sqlite("a/.lstore/branches/main/eventlog@6.db", "SELECT head, length(backendId) FROM __livestore_sync_status"), "5|21\n")
    XCTAssertEqual(try sandbox.sqlite("a/.lstore/branches/main/eventlog@6.db", "SELECT backendId FROM __livestore_sync_status"),
                   try sandbox.sqlite("b/.lstore/branches/main/eventlog@6.db", "SELECT backendId FROM __livestore_sync_status"))

    // A branch and `lstore rebase`: the replayed events get the new base's generation + 1.
    try ok("-C", "b", "branch", "feat")
    try ok("-C", "b", "switch", "feat")
    try ok("-C", "b", "commit", "v1.TodoCreated", #"{"id":"f1","text":"feat"}"#, "-m", "F1")
    try ok("-C", "b", "switch", "main")
    try ok("-C", "b", "commit", "v1.TodoCreated", #"{"id":"m1","text":"main"}"#, "-m", "M1")
    let onMain = try rows("b")
    XCTAssertTrue(onMain.hasSuffix("6.0r1<5.0r1"), onMain)
    try ok("-C", "b", "switch", "feat")
    try ok("-C", "b", "rebase", "main")
    let feat = try rows("b", "feat")
    XCTAssertTrue(feat.hasSuffix("6.0r1<5.0r1 7.0r2<6.0r1"), feat)
    try ok("-C", "b", "switch", "main")

    // reset moves back, the reflog restores the numbers with their generations.
    try ok("-C", "b", "reset", "--hard", "HEAD~1")
    let reset = try rows("b")
    XCTAssertTrue(reset.hasSuffix("5.0r1<4.0r1"), reset)
    try ok("-C", "b", "reset", "--hard", "HEAD@{1}")
    let restored = try rows("b")
    XCTAssertTrue(restored.hasSuffix("6.0r1<5.0r1"), restored)

    for branch in ["main", "feat"] {
      let fsck = try sandbox.lstore("-C", "b", "fsck", "--replay", "--json")
      assertStatus(fsck, 0)
      XCTAssertEqual(jsonLines(fsck).last?["errors"] as? Int, 0, "\(branch): \(fsck.stdout)")
      try ok("-C", "b", "switch", branch == "main" ? "feat" : "main")
    }

    // export/import: generations travel in the numbers (e3r1), into another format-6 store.
    try ok("-C", "b", "export", "-o", sandbox.path("b.ndjson"))
    try sandbox.initStore("c", format: 6, clientId: "bob", sessionId: "bs")
    try ok("-C", "c", "import", sandbox.path("b.ndjson"))
    XCTAssertEqual(try rows("c"), try rows("b"))
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("c", format: 6), "SELECT id FROM todos ORDER BY id"),
                   try sandbox.sqlite(bState, "SELECT id FROM todos ORDER BY id"))
  }

  // MARK: - convert

  func snapshot(_ store: String, format: Int) throws -> [String] {
    let log = try sandbox.lstore("-C", store, "log", "--json", "--reverse")
    let commits = try sandbox.lstore("-C", store, "log", "--oneline")
    let todos = try sandbox.sqlite(try sandbox.statePath(store, format: format), "SELECT * FROM todos ORDER BY id")
    return [log.stdout, commits.stdout, todos]
  }

  func testConvertRoundTripKeepsEventsCommitsAndState() throws {
    try sandbox.initStore("s")
    try ok("-C", "s", "commit", "v1.TodoCreated", #"{"id":"t1","text":"one"}"#, "-m", "one")
    try ok("-C", "s", "commit", "uiStateSet", #"{"value":{"filter":"active"}}"#, "-m", "ui")
    try ok("-C", "s", "commit", "v1.TodoCompleted", #"{"id":"t1"}"#, "-m", "done")
    try ok("-C", "s", "branch", "side")
    let before = try snapshot("s", format: 4)

    let to6 = try ok("-C", "s", "convert", "--format", "6")
    XCTAssertTrue(to6.stdout.contains("fsck: clean"), to6.stdout)
    let backupLine = try XCTUnwrap(to6.lines.first { $0.hasPrefix("Backup of the old files: ") })
    let backup = String(backupLine.dropFirst("Backup of the old files: ".count))
    XCTAssertTrue(FileManager.default.fileExists(atPath: backup + "/branches/main/eventlog@4.db"), backup)
    XCTAssertTrue(sandbox.exists("s/.lstore/branches/side/eventlog@6.db"))
    XCTAssertFalse(sandbox.exists("s/.lstore/branches/main/eventlog@4.db"))
    XCTAssertEqual(try liveStoreSQL("s/.lstore/branches/main/eventlog@6.db").sorted(), Self.eventlogMaster.sorted())
    XCTAssertEqual(try XCTUnwrap(jsonLines(try sandbox.lstore("-C", "s", "status", "--json")).first)["format"] as? Int, 6)
    XCTAssertEqual(try snapshot("s", format: 6), before)
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("s", format: 6), "SELECT count(*) FROM __livestore_session_changeset WHERE seqNumRebaseGeneration = 0"), "3\n")

    // Converting again to the same format is refused and changes nothing.
    XCTAssertNotEqual(try sandbox.lstore("-C", "s", "convert", "--format", "6").status, 0)

    // A generation made on 6 is dropped going back to 4, and said.
    try sandbox.shell("sqlite3 s/.lstore/branches/side/eventlog@6.db 'UPDATE eventlog SET seqNumRebaseGeneration = 1, parentSeqNumRebaseGeneration = 1 WHERE seqNumGlobal = 2; UPDATE __livestore_sync_status SET backendId = '\\''b-1'\\'''")
    let to4 = try ok("-C", "s", "convert", "--format", "4")
    XCTAssertTrue(to4.stdout.contains("Dropped the backend id"), to4.stdout)
    XCTAssertTrue(to4.stdout.contains("Dropped the rebase generations of 1 event"), to4.stdout)
    XCTAssertTrue(to4.stdout.contains("fsck: clean"), to4.stdout)
    XCTAssertEqual(try liveStoreSQL("s/.lstore/branches/main/eventlog@4.db").count, 4)
    XCTAssertEqual(try snapshot("s", format: 4), before)
    assertStatus(try sandbox.lstore("-C", "s", "fsck", "--replay"), 0)
  }

  func testConvertRefusesBadFormatAndAFailureLeavesTheOriginal() throws {
    try sandbox.initStore("s")
    try ok("-C", "s", "commit", "v1.TodoCreated", #"{"id":"t1","text":"one"}"#, "-m", "one")
    assertStatus(try sandbox.lstore("-C", "s", "convert", "--format", "5"), 64)
    let before = try snapshot("s", format: 4)
    // A branch whose eventlog cannot be converted (its sync status table is gone) fails
    // midway, after the main branch was staged: nothing of the store changes.
    try ok("-C", "s", "branch", "zz")
    try sandbox.shell("sqlite3 s/.lstore/branches/zz/eventlog@4.db 'DROP TABLE __livestore_sync_status'")
    let failed = try sandbox.lstore("-C", "s", "convert", "--format", "6")
    XCTAssertNotEqual(failed.status, 0, failed.description)
    XCTAssertTrue(failed.stderr.contains("cannot convert branch 'zz'") && failed.stderr.contains("nothing was changed"), failed.stderr)
    XCTAssertTrue(sandbox.exists("s/.lstore/branches/main/eventlog@4.db"))
    XCTAssertFalse(sandbox.exists("s/.lstore/branches/main/eventlog@6.db"))
    XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: sandbox.path("s/.lstore")).contains { $0.hasPrefix(".convert") })
    XCTAssertEqual(try XCTUnwrap(jsonLines(try sandbox.lstore("-C", "s", "status", "--json")).first)["format"] as? Int, 4)
    XCTAssertEqual(try snapshot("s", format: 4), before)
  }

  // MARK: - Every command on both formats

  /// One flow of most commands on a store of `format`, syncing through a local store of the
  /// other format; returns what it ends with (events without generations, commits, state).
  func flow(format: Int) throws -> [String] {
    let s = "s\(format)", backend = "backend\(format)", copy = "copy\(format)"
    let other = format == 4 ? 6 : 4
    try sandbox.initStore(s, format: format, clientId: "A", sessionId: "a")
    try sandbox.initStore(backend, format: other, clientId: "S", sessionId: "s")
    try ok("-C", s, "commit", "v1.TodoCreated", #"{"id":"t1","text":"milk"}"#, "-m", "t1")
    try ok("-C", s, "switch", "-c", "side")
    try ok("-C", s, "commit", "v1.TodoCreated", #"{"id":"t2","text":"eggs"}"#, "-m", "Side todo")
    let sideCommit = String(try ok("-C", s, "log", "--oneline").lines[0].prefix(8))
    try ok("-C", s, "switch", "main")
    try ok("-C", s, "commit", "v1.TodoCompleted", #"{"id":"t1"}"#, "-m", "Complete t1")
    try ok("-C", s, "cherry-pick", sideCommit)
    try ok("-C", s, "revert", "HEAD~1")
    try ok("-C", s, "commit", "uiStateSet", #"{"value":{"filter":"active"}}"#, "-m", "ui")
    try ok("-C", s, "commit", "--amend", "-m", "ui amended")
    try ok("-C", s, "push", "./" + backend)
    try ok("-C", backend, "commit", "v1.TodoCompleted", #"{"id":"t2"}"#, "-m", "from the backend")
    try ok("-C", s, "commit", "v1.TodoCreated", #"{"id":"t3","text":"bread"}"#, "-m", "t3")
    try ok("-C", s, "pull", "./" + backend)
    try ok("-C", s, "push", "./" + backend)
    try ok("-C", s, "show", "HEAD")
    try ok("-C", s, "status")
    try ok("-C", s, "materialize", "-o", sandbox.path("past\(format).db"), "--until", "HEAD~1")
    XCTAssertTrue(try ok("-C", s, "reflog").stdout.contains("pull"))
    let fsck = try sandbox.lstore("-C", s, "fsck", "--replay")
    assertStatus(fsck, 0)
    try ok("-C", s, "export", "-o", sandbox.path("\(s).ndjson"))
    try sandbox.initStore(copy, format: other, clientId: "A", sessionId: "a")
    try ok("-C", copy, "import", sandbox.path("\(s).ndjson"))
    assertStatus(try sandbox.lstore("-C", copy, "fsck", "--replay"), 0)
    // Numbers without their generations (e5r1 → e5): the positions are the same in both formats.
    func positions(_ line: String) -> String {
      line.replacingOccurrences(of: #"(e[0-9]+(\+[0-9]+)?)r[0-9]+"#, with: "$1", options: .regularExpression)
    }
    let events = try ok("-C", s, "log", "--events", "--oneline", "--reverse").lines.map(positions)
    let commits = try ok("-C", s, "log", "--oneline").lines.map { positions(String($0.drop { $0 != " " })) }
    let todos = try sandbox.sqlite(try sandbox.statePath(s, format: format), "SELECT id, text, completed FROM todos ORDER BY id")
    let copied = try sandbox.sqlite(try sandbox.statePath(copy, format: other), "SELECT id, text, completed FROM todos ORDER BY id")
    XCTAssertEqual(copied, todos)
    return events + commits + [todos]
  }

  func testEveryCommandWorksOnBothFormatsAlike() throws {
    let four = try flow(format: 4)
    let six = try flow(format: 6)
    XCTAssertEqual(six, four)
    XCTAssertTrue(four.last?.contains("t2|eggs|1") ?? false, four.joined(separator: "\n"))
  }
}
