import Foundation
import XCTest

/// Export, import, `log --json` and `show --json` faced with damaged data: stored args that
/// are not compact JSON or not JSON at all (edited into the eventlog with sqlite3, as a
/// tester did), and export files whose commit lines are impossible.
final class InterchangeDamageTests: XCTestCase {
  private var sandbox: Sandbox!
  private var eventlog: String { sandbox.path(".lstore/branches/main/eventlog@4.db") }

  override func setUpWithError() throws {
    sandbox = try Sandbox()
    try sandbox.initStore()
    // e1..e2 in one commit, e3 in another.
    try sandbox.write("two.ndjson", """
      {"name":"v1.TodoCreated","args":{"id":"t1","text":"a"}}
      {"name":"v1.TodoCreated","args":{"id":"t2","text":"b"}}

      """)
    assertStatus(try sandbox.lstore("commit", "-m", "two", "--file", "two.ndjson"), 0)
    assertStatus(try sandbox.lstore("commit", "v1.TodoCompleted", #"{"id":"t1"}"#, "-m", "done"), 0)
  }

  override func tearDown() { sandbox = nil }

  /// Runs SQL on the store's eventlog with the sqlite3 shell (no shell quoting in between).
  private func editEventlog(_ sql: String) throws {
    let result = try sandbox.start("/usr/bin/env", ["sqlite3", eventlog, sql]).wait()
    guard result.status == 0 else { throw SandboxError(message: "sqlite3 failed: \(result)") }
  }

  /// Every line of `text` is one JSON object; returns them.
  private func parsedLines(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [[String: Any]] {
    text.split(separator: "\n").compactMap { lineText in
      guard let object = try? JSONSerialization.jsonObject(with: Data(lineText.utf8)) as? [String: Any] else {
        XCTFail("not one JSON object: \(lineText)", file: file, line: line)
        return nil
      }
      return object
    }
  }

  private func exportText(_ name: String = "backup.ndjson") throws -> String {
    assertStatus(try sandbox.lstore("export", "-o", name), 0)
    return String(decoding: try sandbox.read(name), as: UTF8.self)
  }

  // MARK: - Stored args

  /// Args that are valid JSON with a raw newline inside (fsck accepts them): export writes
  /// them compactly, so the export is NDJSON, imports, and exports again byte for byte.
  func testArgsWithARawNewlineExportImportAndExportAgain() throws {
    try editEventlog(#"update eventlog set argsJson = '{"id":"t1",' || char(10) || '"text":"a"}' where seqNumGlobal = 1"#)
    XCTAssertEqual(try sandbox.sqlite(eventlog, "select count(*) from eventlog where instr(argsJson, char(10)) > 0"), "1\n")
    assertStatus(try sandbox.lstore("fsck"), 0)

    let export = try exportText()
    let lines = parsedLines(export)
    XCTAssertEqual(lines.count, 1 + 2 + 3 + 1, export)  // header, two commits, three events, end
    XCTAssertTrue(export.contains(#"{"seqNum":"e1","parentSeqNum":"e0","name":"v1.TodoCreated","args":{"id":"t1","text":"a"},"#), export)

    try sandbox.initStore("other")
    assertStatus(try sandbox.lstore("-C", "other", "import", "backup.ndjson"), 0)
    assertStatus(try sandbox.lstore("-C", "other", "export", "-o", "again.ndjson"), 0)
    func withoutExportedAt(_ text: String) -> String {
      text.replacingOccurrences(of: #","exportedAt":"[^"]*""#, with: "", options: .regularExpression)
    }
    XCTAssertEqual(withoutExportedAt(String(decoding: try sandbox.read("again.ndjson"), as: UTF8.self)), withoutExportedAt(export),
                   "export → import → export is byte-identical apart from exportedAt")

    // log --json and show --json: one compact object per line, the args re-encoded.
    let log = try sandbox.lstore("log", "--json")
    assertStatus(log, 0)
    XCTAssertEqual(parsedLines(log.stdout).count, 3, log.stdout)
    XCTAssertTrue(log.stdout.contains(#""args":{"id":"t1","text":"a"},"#), log.stdout)
    let show = try sandbox.lstore("show", "--json", "e1")
    assertStatus(show, 0)
    XCTAssertEqual(show.lines.count, 1, show.stdout)
    XCTAssertEqual(parsedLines(show.stdout).first?["args"] as? [String: String], ["id": "t1", "text": "a"])
  }

  /// Args that are not JSON, or sync metadata that is not: export refuses, naming the event
  /// and what fixes it, and leaves no file (neither the output nor its temporary file).
  func testExportRefusesStoredTextThatIsNotJSON() throws {
    try editEventlog(#"update eventlog set argsJson = '{"id":"t2",' where seqNumGlobal = 2"#)
    assertStatus(try sandbox.lstore("fsck"), 1)
    for output in ["backup.ndjson", "backup.ndjson.gz"] {
      let refused = try sandbox.lstore("export", "-o", output)
      assertError(refused, 65, ["event e2 v1.TodoCreated", "argsJson is not valid JSON", "lstore fsck", "lstore repair"])
      XCTAssertFalse(sandbox.exists(output), output)
      XCTAssertFalse(sandbox.exists(output + ".partial"), output)
    }
    // To stdout: the same refusal; what was written has no end line, so import refuses it.
    let piped = try sandbox.lstore("export")
    XCTAssertEqual(piped.status, 65, piped.description)
    XCTAssertTrue(piped.stderr.contains("event e2"), piped.description)
    XCTAssertFalse(piped.stdout.contains(#"{"end":"#), piped.stdout)

    try editEventlog(#"update eventlog set argsJson = '{"id":"t2","text":"b"}' where seqNumGlobal = 2"#)
    try editEventlog("update eventlog set syncMetadataJson = 'garbage' where seqNumGlobal = 3")
    assertError(try sandbox.lstore("export", "-o", "backup.ndjson"), 65,
                ["event e3 v1.TodoCompleted", "syncMetadataJson is not valid JSON", "lstore fsck", "lstore repair"])
    XCTAssertFalse(sandbox.exists("backup.ndjson"))
    // Valid JSON that is not an Option: import would refuse it, so export does.
    try editEventlog(#"update eventlog set syncMetadataJson = '{"tag":"None"}' where seqNumGlobal = 3"#)
    assertError(try sandbox.lstore("export", "-o", "backup.ndjson"), 65, ["event e3", "syncMetadataJson is not an Option"])
    XCTAssertFalse(sandbox.exists("backup.ndjson"))
  }

  /// `log --json` and `show --json` print damaged stored text as a string under `argsJson`
  /// and `syncMetadataJson` (with `null` under `args` and `syncMetadata`): still one JSON
  /// object per line, and nothing of the stored text lost.
  func testLogAndShowJSONCarryTextThatIsNotJSON() throws {
    try editEventlog(#"update eventlog set argsJson = '{"id":"t2",' where seqNumGlobal = 2"#)
    try editEventlog("update eventlog set syncMetadataJson = 'garbage' where seqNumGlobal = 3")
    let log = try sandbox.lstore("log", "--json")
    assertStatus(log, 0)
    let events = parsedLines(log.stdout)
    XCTAssertEqual(events.count, 3, log.stdout)
    let e2 = try XCTUnwrap(events.first { $0["seqNum"] as? String == "e2" })
    XCTAssertTrue(e2["args"] is NSNull, "\(e2)")
    XCTAssertEqual(e2["argsJson"] as? String, #"{"id":"t2","#)
    XCTAssertNil(e2["syncMetadataJson"], "only damaged text gets the key")
    let e3 = try XCTUnwrap(events.first { $0["seqNum"] as? String == "e3" })
    XCTAssertTrue(e3["syncMetadata"] is NSNull, "\(e3)")
    XCTAssertEqual(e3["syncMetadataJson"] as? String, "garbage")
    XCTAssertEqual(e3["args"] as? [String: String], ["id": "t1"])
    XCTAssertNil(e3["argsJson"])

    for revision in ["e2", "e3", "HEAD", "HEAD~1"] {
      let show = try sandbox.lstore("show", "--json", revision)
      assertStatus(show, 0)
      XCTAssertEqual(show.lines.count, 1, show.stdout)
      XCTAssertEqual(parsedLines(show.stdout).count, 1, revision)
    }
    let commit = parsedLines(try sandbox.lstore("show", "--json", "HEAD~1").stdout).first
    let commitEvents = try XCTUnwrap(commit?["events"] as? [[String: Any]])
    XCTAssertEqual(commitEvents.last?["argsJson"] as? String, #"{"id":"t2","#)
  }

  /// The text forms print an event's args on its one line whatever is stored: valid JSON
  /// with a raw newline compactly, text that is not JSON (a newline in it too) as a JSON
  /// string. `log --oneline --events` is read line by line by scripts.
  func testTextFormsKeepEachEventOnOneLine() throws {
    try editEventlog(#"update eventlog set argsJson = '{"id":"t1",' || char(10) || '"text":"a"}' where seqNumGlobal = 1"#)
    try editEventlog(#"update eventlog set argsJson = 'not' || char(10) || 'json' where seqNumGlobal = 2"#)
    let oneline = try sandbox.lstore("log", "--oneline", "--events")
    assertStatus(oneline, 0)
    XCTAssertEqual(oneline.stdout, #"""
      e3 v1.TodoCompleted {"id":"t1"}
      e2 v1.TodoCreated "not\njson"
      e1 v1.TodoCreated {"id":"t1","text":"a"}

      """#)
    let long = try sandbox.lstore("log", "--events")
    assertStatus(long, 0)
    XCTAssertTrue(long.stdout.contains(#"  v1.TodoCreated "not\njson""# + "\n"), long.stdout)
    XCTAssertTrue(long.stdout.contains(#"  v1.TodoCreated {"id":"t1","text":"a"}"# + "\n"), long.stdout)
    let show = try sandbox.lstore("show", "HEAD~1")
    assertStatus(show, 0)
    XCTAssertTrue(show.stdout.hasSuffix(#"""
      e1 v1.TodoCreated {"id":"t1","text":"a"}
      e2 v1.TodoCreated "not\njson"

      """#), show.stdout)
  }

  // MARK: - Commit lines

  /// An export with a commit line edited, resealed (a new checksum), is refused with the
  /// line and the reason, and leaves the store as it was: an empty store stays empty, and
  /// the unedited export imports into it afterwards.
  private func assertImportRefuses(_ edit: @escaping ([String]) -> [String], _ fragments: [String],
                                   file: StaticString = #filePath, line: UInt = #line) throws {
    let export = try exportText()
    try sandbox.write("edited.ndjson", ExportWriter.reseal(export, edit: edit))
    if !sandbox.exists("other/.lstore") { try sandbox.initStore("other") }
    let refused = try sandbox.lstore("-C", "other", "import", "edited.ndjson")
    assertError(refused, 65, fragments, file: file, line: line)
    let status = parsedLines(try sandbox.lstore("-C", "other", "status", "--json").stdout).first
    XCTAssertEqual(status?["head"] as? String, "e0", "nothing was imported", file: file, line: line)
    XCTAssertEqual(try sandbox.lstore("-C", "other", "log", "--oneline").stdout, "", file: file, line: line)
  }

  /// The export's lines: 1 header, 2 commit e1..e2, 3 e1, 4 e2, 5 commit e3..e3, 6 e3, 7 end.
  private func replacing(_ line: Int, _ old: String, _ new: String) -> ([String]) -> [String] {
    { lines in
      var lines = lines
      XCTAssertTrue(lines[line - 1].contains(old), lines[line - 1])
      lines[line - 1] = lines[line - 1].replacingOccurrences(of: old, with: new)
      return lines
    }
  }

  func testTheExportsLinesAreAsTheseTestsExpect() throws {
    let lines = try exportText().split(separator: "\n").map(String.init)
    XCTAssertEqual(lines.count, 7)
    XCTAssertTrue(lines[1].contains(#""first":"e1","last":"e2""#), lines[1])
    XCTAssertTrue(lines[4].contains(#""first":"e3","last":"e3""#), lines[4])
    // The resealed but unedited export imports.
    try sandbox.write("same.ndjson", ExportWriter.reseal(lines.joined(separator: "\n") + "\n") { $0 })
    try sandbox.initStore("other")
    assertStatus(try sandbox.lstore("-C", "other", "import", "same.ndjson"), 0)
  }

  func testImportRefusesACommitEndingAfterTheExportsEvents() throws {
    try assertImportRefuses(replacing(5, #""last":"e3""#, #""last":"e9""#),
                            ["invalid export at line 5:", "(e3..e9) is outside the exported events (after e0, through e3)"])
  }

  func testImportRefusesACommitStartingBeforeTheExportsEvents() throws {
    try assertImportRefuses(replacing(2, #""first":"e1""#, #""first":"e0""#),
                            ["invalid export at line 2:", "(e0..e2) is outside the exported events"])
  }

  func testImportRefusesACommitWhoseFirstIsAfterItsLast() throws {
    try assertImportRefuses(replacing(5, #""first":"e3","last":"e3""#, #""first":"e3","last":"e2""#),
                            ["invalid export at line 5:", "not an ascending range"])
  }

  /// Commit one e1..e2 and commit two e2..e3.
  func testImportRefusesOverlappingCommits() throws {
    try assertImportRefuses(replacing(5, #""first":"e3""#, #""first":"e2""#),
                            ["invalid export at line 5:", "(e2..e3) overlaps the commit before it, which ends at e2"])
  }

  /// Commit one's last set to the next commit's last: once a raw SQLite UNIQUE error.
  func testImportRefusesACommitReachingTheNextCommitsLast() throws {
    try assertImportRefuses(replacing(2, #""last":"e2""#, #""last":"e3""#),
                            ["invalid export at line 5:", "(e3..e3) overlaps the commit before it, which ends at e3"])
  }

  /// A commit ending at an event that is not in the export (e2+1, a client-only event that
  /// was never there) though the commit after it is in order.
  func testImportRefusesACommitNamingAnEventTheExportDoesNotHold() throws {
    try assertImportRefuses(replacing(2, #""last":"e2""#, #""last":"e2+1""#),
                            ["invalid export at line 2:", "(e1..e2+1) names an event the export does not hold: e2+1 is not there (the events go from e2 to e3)"])
    // The same with no commit after it: the next event is past the commit's last.
    try assertImportRefuses({ lines in
      var lines = self.replacing(2, #""last":"e2""#, #""last":"e2+1""#)(lines)
      lines.remove(at: 4)  // commit two's line; the header's count follows
      lines[0] = lines[0].replacingOccurrences(of: #""commits":2"#, with: #""commits":1"#)
      return lines
    }, ["invalid export at line 2:", "(e1..e2+1) names an event the export does not hold: e2+1 is not there"])
  }

  /// A header whose head is beyond its last event, and a last commit reaching it: the end
  /// line finds the commit still open.
  func testImportRefusesALastCommitEndingAfterTheLastEvent() throws {
    try assertImportRefuses({ lines in
      var lines = lines
      lines[0] = lines[0].replacingOccurrences(of: #""head":"e3""#, with: #""head":"e9""#)
      lines[4] = lines[4].replacingOccurrences(of: #""last":"e3""#, with: #""last":"e9""#)
      return lines
    }, ["invalid export at line 5:", "(e3..e9) ends after the last event in the export, e3"])
  }
}
