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
    XCTAssertEqual(try sandbox.lstore("fsck", "--replay", "--json").lines, [#"{"events":2,"errors":0,"warnings":0}"#])

    // State that no longer matches a replay.
    let state = try sandbox.statePath()
    _ = try sandbox.shell("sqlite3 '\(state)' \"UPDATE todos SET text = 'tampered'\"")
    XCTAssertEqual(try sandbox.lstore("fsck").status, 0, "without --replay the tables are not compared")
    let replay = try sandbox.lstore("fsck", "--replay", "--json")
    XCTAssertEqual(replay.status, 1, replay.description)
    XCTAssertEqual(replay.lines, [#"{"severity":"error","subject":"table todos","message":"differs from a replay of the eventlog: 1 rows missing, 1 rows that should not be there"}"#,
                                  #"{"events":2,"errors":1,"warnings":0}"#])

    // Args that no longer match, and a broken chain, in the eventlog itself.
    let eventlog = sandbox.path(".lstore/branches/main/eventlog@4.db")
    _ = try sandbox.shell("sqlite3 '\(eventlog)' \"UPDATE eventlog SET argsJson = '{\\\"id\\\":5}' WHERE seqNumGlobal = 2; UPDATE eventlog SET parentSeqNumGlobal = 0 WHERE seqNumGlobal = 2\"")
    let broken = try sandbox.lstore("fsck")
    XCTAssertEqual(broken.status, 1, broken.description)
    XCTAssertTrue(broken.stdout.contains("error: e2: breaks the chain"), broken.stdout)
    XCTAssertTrue(broken.stdout.contains(#"error: e2: v1.TodoCompleted {"id":5} does not match the schema"#), broken.stdout)

    // Read-only on a bare eventlog file, with a schema.
    let bare = try sandbox.lstore(["--eventlog", eventlog, "fsck", "--schema", sandbox.path("examples/todomvc/schema.yaml")])
    XCTAssertEqual(bare.status, 1, bare.description)
    XCTAssertTrue(bare.stdout.contains("breaks the chain"), bare.stdout)
  }
}
