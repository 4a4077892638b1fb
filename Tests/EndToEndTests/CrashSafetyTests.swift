import Foundation
import XCTest

/// SIGKILL during `import` and `commit --file`: afterwards the eventlog and state agree,
/// and each commit (each import) is there entirely or not at all.
final class CrashSafetyTests: XCTestCase {
  var sandbox: Sandbox!

  override func setUpWithError() throws {
    sandbox = try Sandbox()
    try sandbox.initStore()
    // Some history the crashes must not damage: 3 commits, a client-only event.
    try sandbox.write("base.ndjson", """
      {"name":"v1.TodoCreated","args":{"id":"base1","text":"a"}}
      {"name":"uiStateSet","args":{"value":{"filter":"active"}}}
      {"name":"v1.TodoCreated","args":{"id":"base2","text":"b"}}

      """)
    assertStatus(try sandbox.lstore("commit", "-m", "base", "--file", "base.ndjson"), 0)
    assertStatus(try sandbox.lstore("commit", "v1.TodoCompleted", #"{"id":"base1"}"#, "-m", "done"), 0)
    assertStatus(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"base3","text":"c"}"#, "-m", "third"), 0)
  }

  override func tearDown() { sandbox = nil }

  struct Observed: Equatable {
    var head: String
    var events: Int
    var commits: Int
  }

  /// Checks a store the way a user would after a crash: read commands work, the state is
  /// at the eventlog's head, and its rows equal a fresh `materialize -o` of the eventlog.
  private func checkConsistent(_ label: String, file: StaticString = #filePath, line: UInt = #line) throws -> Observed {
    let status = try sandbox.lstore("status", "--json")
    XCTAssertEqual(status.status, 0, "\(label): \(status)", file: file, line: line)
    let object = try XCTUnwrap(jsonLines(status).first, label, file: file, line: line)
    let head = object["head"] as? String ?? "?"
    XCTAssertEqual(object["stateHead"] as? String, head, "\(label): state head vs eventlog head", file: file, line: line)
    XCTAssertEqual(object["stateCurrent"] as? Bool, true, label, file: file, line: line)
    let logCount = try sandbox.shell("lstore log --events --oneline | wc -l")
    XCTAssertEqual(Int(logCount.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), object["events"] as? Int, label, file: file, line: line)

    let fresh = sandbox.path("fresh-\(UUID().uuidString).db")
    defer { try? FileManager.default.removeItem(atPath: fresh) }
    let materialized = try sandbox.lstore("materialize", "-o", fresh)
    XCTAssertEqual(materialized.status, 0, "\(label): \(materialized)", file: file, line: line)
    let query = """
      SELECT count(*), count(DISTINCT id), total(completed), total(length(text)), total(coalesce(deletedAt, 0)) FROM todos;
      SELECT id || '=' || value FROM uiState ORDER BY id;
      SELECT count(*), max(seqNumGlobal) FROM __livestore_session_changeset;
      SELECT headGlobal, headClient FROM lstore_state;
      """
    let state = try sandbox.statePath()
    XCTAssertEqual(try sandbox.sqlite(state, query), try sandbox.sqlite(fresh, query), "\(label): state rows differ from a fresh materialize",
                   file: file, line: line)
    XCTAssertEqual(try sandbox.sqlite(state, "SELECT count(*) FROM todos"), try sandbox.sqlite(fresh, "SELECT count(*) FROM todos"),
                   file: file, line: line)
    // The eventlog itself is sound and its parent chain unbroken.
    XCTAssertEqual(try sandbox.sqlite(sandbox.path(".lstore/branches/main/eventlog@4.db"), "PRAGMA integrity_check"), "ok\n",
                   file: file, line: line)
    return Observed(head: head, events: object["events"] as? Int ?? -1, commits: object["commits"] as? Int ?? -1)
  }

  /// A copy of the store (and the schema it names, relative to it) in `directory`.
  private func copyStore(to directory: String) throws {
    try FileManager.default.createDirectory(atPath: sandbox.path(directory), withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: sandbox.path(".lstore"), toPath: sandbox.path(directory + "/.lstore"))
    try FileManager.default.copyItem(atPath: sandbox.path("examples"), toPath: sandbox.path(directory + "/examples"))
  }

  /// Runs `arguments`, kills it with SIGKILL after `delay` seconds (if still running).
  private func killed(_ arguments: [String], after delay: Double) throws -> (wasKilled: Bool, result: CommandResult) {
    let running = try sandbox.start(LStoreBinary.path, arguments)
    let deadline = Date().addingTimeInterval(delay)
    while Date() < deadline && running.process.isRunning { usleep(5_000) }
    let wasRunning = running.process.isRunning
    if wasRunning { running.kill(SIGKILL) }
    let result = try running.wait()
    return (wasRunning && result.status == 128 + SIGKILL, result)
  }

  /// A process killed inside a write transaction, after SQLite spilled pages into the
  /// database file, leaves a hot journal. Every lstore command must still work and see
  /// the store as it was before that transaction.
  func testAHotJournalLeftByAKilledWriterIsRolledBack() throws {
    let before = try checkConsistent("before")
    let exportBefore = try sandbox.lstore("export").stdout
    let state = try sandbox.statePath()
    let eventlog = sandbox.path(".lstore/branches/main/eventlog@4.db")
    for (database, table) in [(eventlog, "lstore_meta"), (state, "todos")] {
      // sqlite3 kills itself mid-transaction, with a one-page cache so the changes spill.
      let insert = table == "lstore_meta"
        ? "INSERT INTO lstore_meta SELECT 'k' || i, printf('%.1000c', 'x') FROM n"
        : "INSERT INTO todos (id, text) SELECT 'ghost' || i, printf('%.1000c', 'x') FROM n"
      let script = """
        PRAGMA cache_size=1;
        BEGIN;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) \(insert);
        .shell kill -9 $PPID

        """
      try sandbox.write("crash.sql", script)
      let killed = try sandbox.start("/usr/bin/env", ["sqlite3", database], stdinFile: "crash.sql").wait()
      XCTAssertEqual(killed.status, 128 + SIGKILL, "\(killed)")
      XCTAssertTrue(sandbox.exists(database + "-journal"), "no journal left behind: the test setup did not work")

      for command in [["status"], ["log", "--oneline"], ["show", "e1"], ["export"]] {
        let result = try sandbox.lstore(command)
        XCTAssertEqual(result.status, 0, "lstore \(command.joined(separator: " ")) after a killed writer on \(table): \(result)")
      }
      XCTAssertEqual(try sandbox.lstore("export").stdout, exportBefore)
      XCTAssertEqual(try checkConsistent("after a killed writer on \(table)"), before)
      XCTAssertEqual(try sandbox.sqlite(database, "SELECT count(*) FROM \(table) WHERE \(table == "todos" ? "id" : "key") LIKE 'ghost%' OR \(table == "todos" ? "id" : "key") LIKE 'k%'"), "0\n")
    }
    assertStatus(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"after","text":"z"}"#), 0)
  }

  func testKilledImportLeavesAllOrNothing() throws {
    let base = try checkConsistent("before")
    XCTAssertEqual(base, Observed(head: "e4", events: 5, commits: 3))
    let count = 100_000
    try sandbox.write("big.ndjson", ExportWriter.todos(count: count, firstParent: 4, idPrefix: "big", commitEvery: 1000))
    let complete = Observed(head: "e\(4 + count)", events: 5 + count, commits: 3 + count / 1000)

    // How long a whole import takes here, in a scratch copy of the store.
    try copyStore(to: "scratch")
    let started = Date()
    assertStatus(try sandbox.lstore("-C", "scratch", "import", "big.ndjson"), 0)
    let duration = Date().timeIntervalSince(started)

    // Kill at random points, the last close to the end (the commit itself).
    var generator = SystemRandomNumberGenerator()
    // In this order, so that the store is still at its base for every kill but the last.
    let delays = [Double.random(in: 0.05...0.3, using: &generator) * duration,
                  Double.random(in: 0.3...0.8, using: &generator) * duration,
                  Double.random(in: 0.85...1.0, using: &generator) * duration]
    var kills = 0
    for delay in delays {
      let (wasKilled, result) = try killed(["import", "big.ndjson"], after: delay)
      let label = String(format: "import killed after %.2f s of %.2f s", delay, duration)
      let after = try checkConsistent(label)
      if wasKilled {
        kills += 1
        XCTAssertTrue(after == base || after == complete, "\(label): \(after) is neither before nor after the import")
      } else {
        assertStatus(result, 0)
        XCTAssertEqual(after, complete, label)
      }
      if after == complete { break }
    }
    XCTAssertGreaterThan(kills, 0, "no import was killed mid-way (whole import took \(duration) s)")
    // Whatever happened, finishing the import gives the complete store.
    if try checkConsistent("after kills") == base {
      assertStatus(try sandbox.lstore("import", "big.ndjson"), 0)
    }
    XCTAssertEqual(try checkConsistent("completed"), complete)
  }

  func testKilledCommitLeavesAllOrNothing() throws {
    let base = try checkConsistent("before")
    let count = 30_000
    var lines = ""
    for i in 0..<count {
      lines += i % 10 == 9 ? #"{"name":"uiStateSet","args":{"value":{"newTodoText":"draft \#(i)"}}}"# + "\n"
        : #"{"name":"v1.TodoCreated","args":{"id":"c\#(i)","text":"commit \#(i)"}}"# + "\n"
    }
    try sandbox.write("many.ndjson", lines)
    try copyStore(to: "scratch")
    let started = Date()
    assertStatus(try sandbox.lstore("-C", "scratch", "commit", "-m", "many", "--file", "many.ndjson"), 0)
    let duration = Date().timeIntervalSince(started)
    // Every tenth event is client-only, the last one too: e(4 + synced)+1.
    let complete = Observed(head: "e\(4 + count - count / 10)+1", events: 5 + count, commits: 4)

    var generator = SystemRandomNumberGenerator()
    var kills = 0
    for range in [0.1...0.5, 0.5...0.9, 0.9...1.0] {
      let delay = Double.random(in: range, using: &generator) * duration
      let (wasKilled, result) = try killed(["commit", "-m", "many", "--file", "many.ndjson"], after: delay)
      let label = String(format: "commit killed after %.2f s of %.2f s", delay, duration)
      let after = try checkConsistent(label)
      if wasKilled {
        kills += 1
        XCTAssertTrue(after == base || after == complete, "\(label): \(after) is neither before nor after the commit")
      } else {
        assertStatus(result, 0)
        XCTAssertEqual(after, complete, label)
      }
      if after == complete { break }
    }
    XCTAssertGreaterThan(kills, 0, "no commit was killed mid-way (whole commit took \(duration) s)")
    let final = try checkConsistent("after kills")
    XCTAssertTrue(final == base || final == complete, "\(final)")
    // The store still takes commits.
    assertStatus(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"after","text":"z"}"#, "-m", "after"), 0)
    _ = try checkConsistent("after a new commit")
  }

  /// One statement that rewrites thousands of rows late in a long transaction (TodoMVC's
  /// clear-completed in a bulk commit): its statement journal outgrows memory and spills to
  /// a temporary file. A larger spill threshold once made exactly this fail with "database
  /// or disk is full", so the commit must go through and write every row.
  func testALargeStatementLateInALongCommitGoesThrough() throws {
    var lines: [String] = []
    for i in 0..<6_000 {
      lines.append(#"{"name":"v1.TodoCreated","args":{"id":"bulk\#(i)","text":"\#(String(repeating: "x", count: 200))"}}"#)
      lines.append(#"{"name":"v1.TodoCompleted","args":{"id":"bulk\#(i)"}}"#)
    }
    lines.append(#"{"name":"v1.TodoClearedCompleted","args":{"deletedAt":"2026-01-02T00:00:00.000Z"}}"#)
    try sandbox.write("bulk.ndjson", lines.joined(separator: "\n") + "\n")
    assertStatus(try sandbox.lstore("commit", "-m", "bulk", "--file", "bulk.ndjson"), 0)
    XCTAssertEqual(try sandbox.lstore("sql", "select count(*) as n from todos where id like 'bulk%' and deletedAt is not null").lines.last, "6000")
  }
}
