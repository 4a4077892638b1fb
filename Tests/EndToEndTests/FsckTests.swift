import Foundation
import XCTest

/// `lstore fsck` finds what is wrong and changes nothing.
final class FsckTests: XCTestCase {
  func testCleanStoreAndTamperedFiles() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore()
    XCTAssertEqual(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t1","text":"a"}"#).status, 0)
    XCTAssertEqual(try sandbox.lstore("commit", "v1.TodoCompleted", #"{"id":"t1"}"#).status, 0)
    let clean = try sandbox.lstore("fsck", "--replay")
    XCTAssertEqual(clean.status, 0, clean.description)
    XCTAssertEqual(clean.lines.last, "checked 2 events: 0 errors, 0 warnings")
    // --json on a clean store: the summary line alone.
    XCTAssertEqual(try sandbox.lstore("fsck", "--replay", "--json").lines, [#"{"summary":"fsck","events":2,"errors":0,"warnings":0,"omitted":0}"#])

    // State that no longer matches a replay.
    let state = try sandbox.statePath()
    _ = try sandbox.shell("sqlite3 '\(state)' \"UPDATE todos SET text = 'tampered'\"")
    XCTAssertEqual(try sandbox.lstore("fsck").status, 0, "without --replay the tables are not compared")
    let replay = try sandbox.lstore("fsck", "--replay", "--json")
    XCTAssertEqual(replay.status, 1, replay.description)
    XCTAssertEqual(replay.lines, [
      #"{"code":"state-differs","severity":"error","subject":"table todos","message":"differs from a replay of the eventlog: 1 rows missing, 1 rows that should not be there; first at key t1","table":"todos","key":"t1"}"#,
      #"{"summary":"fsck","events":2,"errors":1,"warnings":0,"omitted":0}"#,
    ])

    // Args that no longer match, and a broken chain, in the eventlog itself.
    let eventlog = sandbox.path(".lstore/branches/main/eventlog@4.db")
    _ = try sandbox.shell("sqlite3 '\(eventlog)' \"UPDATE eventlog SET argsJson = '{\\\"id\\\":5}' WHERE seqNumGlobal = 2; UPDATE eventlog SET parentSeqNumGlobal = 0 WHERE seqNumGlobal = 2\"")
    let broken = try sandbox.lstore("fsck")
    XCTAssertEqual(broken.status, 1, broken.description)
    XCTAssertTrue(broken.stdout.contains("error [chain-broken]: e2: breaks the chain"), broken.stdout)
    XCTAssertTrue(broken.stdout.contains(#"error [args-schema]: e2: v1.TodoCompleted {"id":5} does not match the schema"#), broken.stdout)

    // Read-only on a bare eventlog file, with a schema.
    let bare = try sandbox.lstore(["--eventlog", eventlog, "fsck", "--schema", sandbox.path("examples/todomvc/schema.yaml")])
    XCTAssertEqual(bare.status, 1, bare.description)
    XCTAssertTrue(bare.stdout.contains("breaks the chain"), bare.stdout)
  }

  /// A clean store still prints a summary line in --json, so a script can tell "no findings"
  /// from "fsck printed nothing".
  func testCleanJSONPrintsOnlyTheSummary() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore()
    XCTAssertEqual(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t1","text":"a"}"#).status, 0)
    let clean = try sandbox.lstore("fsck", "--replay", "--json")
    XCTAssertEqual(clean.status, 0, clean.description)
    XCTAssertEqual(clean.lines, [#"{"summary":"fsck","events":1,"errors":0,"warnings":0,"omitted":0}"#])
  }

  /// Each kind of damage, made with plain SQL, gets its own code.
  func testEachDamageHasItsCode() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore()
    for i in 1...3 {
      XCTAssertEqual(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t\#(i)","text":"a"}"#).status, 0)
    }
    let eventlog = sandbox.path(".lstore/branches/main/eventlog@4.db")
    func codes() throws -> (Int32, [String]) {
      let result = try sandbox.lstore("fsck", "--json")
      let codes = result.lines.dropLast().compactMap { line -> String? in
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        return object["code"] as? String
      }
      return (result.status, codes)
    }
    func sql(_ statement: String) throws { _ = try sandbox.shell("sqlite3 '\(eventlog)' \"\(statement)\"") }

    try sql("UPDATE eventlog SET argsJson = '{not json' WHERE seqNumGlobal = 1")
    XCTAssertEqual(try codes().1, ["args-invalid-json"])
    try sql("UPDATE eventlog SET argsJson = '{\\\"id\\\":\\\"t1\\\",\\\"text\\\":\\\"a\\\"}' WHERE seqNumGlobal = 1")
    XCTAssertEqual(try codes().1, [])

    try sql("UPDATE eventlog SET name = 'v9.Nope' WHERE seqNumGlobal = 2")
    XCTAssertEqual(try codes().1, ["unknown-event"])
    try sql("UPDATE eventlog SET name = 'v1.TodoCreated' WHERE seqNumGlobal = 2")

    try sql("UPDATE eventlog SET syncMetadataJson = 'x' WHERE seqNumGlobal = 3")
    XCTAssertEqual(try codes().1, ["sync-metadata"])
    try sql("UPDATE eventlog SET syncMetadataJson = '{\\\"_tag\\\":\\\"None\\\"}' WHERE seqNumGlobal = 3")

    try sql("UPDATE eventlog SET parentSeqNumGlobal = 1 WHERE seqNumGlobal = 3")
    XCTAssertEqual(try codes().1, ["chain-broken"])
    try sql("UPDATE eventlog SET parentSeqNumGlobal = 2 WHERE seqNumGlobal = 3")

    try sql("UPDATE __livestore_sync_status SET head = 9")
    XCTAssertEqual(try codes().1, ["backend-head-ahead"])
    try sql("UPDATE __livestore_sync_status SET head = 0")

    // The changeset a rebase needs to roll back a pending event.
    let state = try sandbox.statePath()
    _ = try sandbox.shell("sqlite3 '\(state)' \"DELETE FROM __livestore_session_changeset WHERE seqNumGlobal = 2\"")
    XCTAssertEqual(try codes().1, ["changeset-missing"])
    XCTAssertEqual(try sandbox.lstore("fsck").lines.first, "error [changeset-missing]: e2: pending but the state has no changeset for it: a rebase could not roll it back (lstore materialize)")
    XCTAssertEqual(try sandbox.lstore("materialize").status, 0)
    XCTAssertEqual(try codes().1, [])

    // An lstore commit record naming events that are not there.
    try sql("DELETE FROM eventlog WHERE seqNumGlobal = 3")
    let (status, found) = try codes()
    XCTAssertEqual(status, 1)
    XCTAssertTrue(found.contains("commit-missing-events"), "\(found)")
    XCTAssertTrue(found.contains("state-ahead"), "\(found)")
    XCTAssertEqual(try sandbox.lstore("fsck").lines.first { $0.contains("[commit-missing-events]") }?.hasPrefix("error [commit-missing-events]: commit "), true)
  }
}
