import Foundation
import XCTest

/// The README flow of issue 2, run with the built binary as a user would.
final class ReadmeFlowTests: XCTestCase {
  var sandbox: Sandbox!

  override func setUpWithError() throws { sandbox = try Sandbox() }
  override func tearDown() { sandbox = nil }

  private let week = """
    {"name":"v1.TodoCreated","args":{"id":"t2","text":"Plan the week"}}
    {"name":"uiStateSet","args":{"value":{"filter":"active"}}}

    {"name":"v1.TodoCompleted","args":{"id":"t2"}}

    """

  /// init, commit from args / --file / stdin: the store the other tests start from.
  private func makeHistory() throws {
    let initResult = try sandbox.lstore("init", "--schema", "examples/todomvc/schema.yaml", "--store-id", "todos")
    assertStatus(initResult, 0)
    XCTAssertEqual(initResult.stdout, "Initialized store 'todos' in \(sandbox.path(".lstore"))\n")
    XCTAssertTrue(sandbox.exists(".lstore/config.json"))

    let first = try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t1","text":"Buy milk"}"#, "-m", "First todo")
    assertStatus(first, 0)
    XCTAssertNotNil(first.stdout.range(of: #"^\[[0-9a-f]{8}\] e1 First todo \(1 event\)\n$"#, options: .regularExpression), first.stdout)

    try sandbox.write("week.ndjson", week)
    let file = try sandbox.lstore("commit", "-m", "Plan the week", "--file", "week.ndjson")
    assertStatus(file, 0)
    XCTAssertNotNil(file.stdout.range(of: #"^\[[0-9a-f]{8}\] e2\.\.e3 Plan the week \(3 events\)\n$"#, options: .regularExpression), file.stdout)

    let piped = try sandbox.lstore(["commit", "-m", "From stdin"],
                                   stdin: #"{"name":"v1.TodoDeleted","args":{"id":"t1","deletedAt":"2025-06-06T12:00:00+02:00"}}"# + "\n")
    assertStatus(piped, 0)
    XCTAssertTrue(piped.stdout.contains("] e4 From stdin (1 event)"), piped.stdout)
  }

  func testCommitLogStatusShow() throws {
    try makeHistory()

    // log: commits, newest first, with author and date.
    let log = try sandbox.lstore("log")
    assertStatus(log, 0)
    let headers = log.lines.filter { $0.hasPrefix("commit ") }
    XCTAssertEqual(headers.count, 3, log.stdout)
    XCTAssertEqual(log.lines.filter { $0.hasPrefix("    ") }, ["    From stdin", "    Plan the week", "    First todo"])
    XCTAssertTrue(log.stdout.contains("Author: Test User <test@example.com>\nDate:   2026-01-01T00:00:00.000Z\n"), log.stdout)
    XCTAssertTrue(headers[1].hasSuffix("(e2..e3, 3 events)"), headers[1])

    let oneline = try sandbox.lstore("log", "--oneline")
    assertStatus(oneline, 0)
    XCTAssertEqual(oneline.lines.count, 3)
    XCTAssertNotNil(oneline.lines[0].range(of: #"^[0-9a-f]{16} e4 From stdin$"#, options: .regularExpression), oneline.lines[0])
    XCTAssertNotNil(oneline.lines[1].range(of: #"^[0-9a-f]{16} e2\.\.e3 Plan the week$"#, options: .regularExpression))
    let commitIds = oneline.lines.map { String($0.prefix(16)) }
    XCTAssertEqual(try sandbox.lstore("log", "--oneline", "-n", "1").lines, [oneline.lines[0]])
    XCTAssertEqual(try sandbox.lstore("log", "-n", "2", "--oneline").lines, Array(oneline.lines.prefix(2)))

    // --events: the flat list, newest first; client-only events numbered e2+1.
    let session = try sessionId()
    let events = try sandbox.lstore("log", "--events", "--oneline")
    XCTAssertEqual(events.lines, [
      #"e4 v1.TodoDeleted {"id":"t1","deletedAt":"2025-06-06T10:00:00.000Z"}"#,
      #"e3 v1.TodoCompleted {"id":"t2"}"#,
      #"e2+1 uiStateSet {"id":"ses","value":{"filter":"active"}}"#,
      #"e2 v1.TodoCreated {"id":"t2","text":"Plan the week"}"#,
      #"e1 v1.TodoCreated {"id":"t1","text":"Buy milk"}"#,
    ].map { $0.replacingOccurrences(of: "\"ses\"", with: "\"\(session)\"") })
    XCTAssertEqual(try sandbox.lstore("log", "--events", "--oneline", "-n", "2").lines.count, 2)
    XCTAssertEqual(try sandbox.lstore("log", "--events", "--oneline", "--reverse").lines.first?.hasPrefix("e1 "), true)

    // --json: one object per event with the documented keys.
    let json = try sandbox.lstore("log", "--json")
    assertStatus(json, 0)
    let objects = jsonLines(json)
    XCTAssertEqual(objects.count, 5)
    for (object, line) in zip(objects, json.lines) {
      for key in ["seqNum", "parentSeqNum", "name", "args", "clientId", "sessionId", "commit"] {
        XCTAssertNotNil(object[key], "\(key) missing in \(line)")
      }
      XCTAssertTrue(object["args"] is [String: Any], line)
      XCTAssertTrue(line.hasPrefix(#"{"seqNum":""#), line)
    }
    XCTAssertEqual(objects.map { $0["seqNum"] as? String }, ["e4", "e3", "e2+1", "e2", "e1"])
    XCTAssertEqual(objects.map { $0["parentSeqNum"] as? String }, ["e3", "e2", "e2", "e1", "e0"])
    XCTAssertEqual(objects.map { ($0["commit"] as? [String: Any])?["message"] as? String },
                   ["From stdin", "Plan the week", "Plan the week", "Plan the week", "First todo"])
    XCTAssertEqual(objects.map { ($0["commit"] as? [String: Any])?["id"] as? String },
                   [commitIds[0], commitIds[1], commitIds[1], commitIds[1], commitIds[2]])
    XCTAssertEqual((objects[2]["args"] as? [String: Any])?["value"] as? [String: String], ["filter": "active"])
    XCTAssertEqual(objects[2]["clientOnly"] as? Bool, true)

    // Filters.
    func seqs(_ args: String...) throws -> [String] {
      let result = try sandbox.lstore(["log", "--json"] + args)
      assertStatus(result, 0)
      return jsonLines(result).compactMap { $0["seqNum"] as? String }
    }
    XCTAssertEqual(try seqs("--name", "v1.TodoCreated"), ["e2", "e1"])
    XCTAssertEqual(try seqs("--name", "uiState*"), ["e2+1"])
    XCTAssertEqual(try seqs("--name", "v1.TodoCreated", "--name", "v1.TodoDeleted"), ["e4", "e2", "e1"])
    // `=`: nanoid ids may start with '-', which would read as an option.
    XCTAssertEqual(try seqs("--client=" + (try clientId())), ["e4", "e3", "e2+1", "e2", "e1"])
    XCTAssertEqual(try seqs("--client", "someone-else"), [])
    XCTAssertEqual(try seqs("--session=" + (try sessionId()), "--name", "*Completed"), ["e3"])
    XCTAssertEqual(try seqs("--session", "nope"), [])
    XCTAssertEqual(try seqs("--from", "e2", "--to", "e3"), ["e3", "e2+1", "e2"])
    XCTAssertEqual(try seqs("--from", "e2+1"), ["e4", "e3", "e2+1"])
    XCTAssertEqual(try seqs("--to", "e2"), ["e2", "e1"])
    XCTAssertEqual(try sandbox.lstore("log", "--oneline", "--name", "v1.TodoDeleted").lines.count, 1)

    // status.
    let status = try sandbox.lstore("status")
    assertStatus(status, 0)
    XCTAssertTrue(status.stdout.contains("On branch main of store 'todos'"), status.stdout)
    XCTAssertTrue(status.stdout.contains("Head:         e4 (5 events, 3 commits)"), status.stdout)
    XCTAssertTrue(status.stdout.contains("4 pending to push; 1 client-only event (never pushed)"), status.stdout)
    XCTAssertTrue(status.stdout.contains("state-48884714638@4.db: materialized through e4"), status.stdout)
    let statusJSON = try XCTUnwrap(jsonLines(try sandbox.lstore("status", "--json")).first)
    XCTAssertEqual(statusJSON["head"] as? String, "e4")
    XCTAssertEqual(statusJSON["stateHead"] as? String, "e4")
    XCTAssertEqual(statusJSON["stateCurrent"] as? Bool, true)
    XCTAssertEqual(statusJSON["events"] as? Int, 5)
    XCTAssertEqual(statusJSON["commits"] as? Int, 3)
    XCTAssertEqual(statusJSON["pending"] as? Int, 4)
    XCTAssertEqual(statusJSON["pendingClientOnly"] as? Int, 1)
    XCTAssertEqual(statusJSON["storeId"] as? String, "todos")
    XCTAssertEqual(statusJSON["branch"] as? String, "main")
    XCTAssertEqual(statusJSON["backendHead"] as? String, "e0")
    XCTAssertEqual(statusJSON["state"] as? String, "state-48884714638@4.db")

    // show an event: args, metadata, rows changed.
    let show = try sandbox.lstore("show", "e1")
    assertStatus(show, 0)
    XCTAssertTrue(show.stdout.hasPrefix("event e1 (parent e0)\nName:     v1.TodoCreated\n"), show.stdout)
    XCTAssertTrue(show.stdout.contains("Commit:   \(commitIds[2]) First todo"), show.stdout)
    XCTAssertTrue(show.stdout.contains("\"text\": \"Buy milk\""), show.stdout)
    XCTAssertTrue(show.stdout.contains("INSERT todos (id='t1', text='Buy milk', completed=0, deletedAt=NULL)"), show.stdout)
    let deleted = try sandbox.lstore("show", "e4")
    XCTAssertTrue(deleted.stdout.contains("UPDATE todos [id='t1'] deletedAt: NULL → 1749204000000"), deleted.stdout)
    let clientOnly = try sandbox.lstore("show", "e2+1")
    XCTAssertTrue(clientOnly.stdout.contains("uiStateSet (client-only)"), clientOnly.stdout)
    XCTAssertTrue(clientOnly.stdout.contains(#"INSERT uiState (id='\#(try sessionId())', value='{"newTodoText":"","filter":"active"}')"#), clientOnly.stdout)
    let showJSON = try XCTUnwrap(jsonLines(try sandbox.lstore("show", "e3", "--json")).first)
    XCTAssertEqual(showJSON["name"] as? String, "v1.TodoCompleted")
    let changes = try XCTUnwrap(showJSON["changes"] as? [[String: Any]])
    XCTAssertEqual(changes.count, 1)
    XCTAssertEqual(changes[0]["operation"] as? String, "update")
    XCTAssertEqual(changes[0]["key"] as? [String: String], ["id": "t2"])
    XCTAssertEqual(changes[0]["new"] as? [String: Int], ["completed": 1])

    // show a commit by an id prefix.
    let commit = try sandbox.lstore("show", String(commitIds[1].prefix(7)))
    assertStatus(commit, 0)
    XCTAssertTrue(commit.stdout.hasPrefix("commit \(commitIds[1]) (e2..e3)\n"), commit.stdout)
    XCTAssertEqual(commit.lines.filter { $0.hasPrefix("e") }.map { String($0.prefix(while: { $0 != " " })) }, ["e2", "e2+1", "e3"])
    let commitJSON = try XCTUnwrap(jsonLines(try sandbox.lstore("show", commitIds[0], "--json")).first)
    XCTAssertEqual(commitJSON["message"] as? String, "From stdin")
    XCTAssertEqual((commitJSON["events"] as? [[String: Any]])?.count, 1)
    assertError(try sandbox.lstore("show", "e9"), 66, ["no event e9", "head is e4"])
    assertError(try sandbox.lstore("show", "fffffffffff"), 66, ["unknown revision 'fffffffffff': no event, commit or branch by that name"])
  }

  private func clientId() throws -> String {
    try XCTUnwrap(jsonLines(try sandbox.lstore("status", "--json")).first?["clientId"] as? String)
  }

  private func sessionId() throws -> String {
    try XCTUnwrap(jsonLines(try sandbox.lstore("status", "--json")).first?["sessionId"] as? String)
  }

  func testMaterializeUntilAndAutomaticRebuild() throws {
    try makeHistory()
    let full = try sandbox.lstore("materialize")
    assertStatus(full, 0)
    XCTAssertNotNil(full.stdout.range(of: #"^Materialized 5 events through e4 in [0-9.]+ s \([0-9]+ events/s\) into .*state-48884714638@4\.db\n$"#,
                                      options: .regularExpression), full.stdout)
    let state = try sandbox.statePath()
    XCTAssertEqual(try sandbox.sqlite(state, "SELECT id, completed, deletedAt FROM todos ORDER BY id"), "t1|0|1749204000000\nt2|1|\n")

    // A past state goes to its own file; the branch's state stays current.
    let until = try sandbox.lstore("materialize", "--until", "e2", "-o", "state-e2.db")
    assertStatus(until, 0)
    XCTAssertTrue(until.stdout.hasPrefix("Materialized 2 events through e2 "), until.stdout)
    XCTAssertEqual(try sandbox.sqlite("state-e2.db", "SELECT id, completed, deletedAt FROM todos ORDER BY id"), "t1|0|\nt2|0|\n")
    XCTAssertEqual(try sandbox.sqlite(state, "SELECT id, completed, deletedAt FROM todos ORDER BY id"), "t1|0|1749204000000\nt2|1|\n")
    let unchanged = try XCTUnwrap(jsonLines(try sandbox.lstore("status", "--json")).first)
    XCTAssertEqual(unchanged["stateHead"] as? String, "e4")
    XCTAssertEqual(unchanged["stateCurrent"] as? Bool, true)
    let json = try XCTUnwrap(jsonLines(try sandbox.lstore("materialize", "--json")).first)
    XCTAssertEqual(json["events"] as? Int, 5)
    XCTAssertEqual(json["through"] as? String, "e4")
    XCTAssertNotNil(json["eventsPerSecond"])
    assertStatus(try sandbox.lstore("commit", "v1.TodoCompleted", #"{"id":"t1"}"#), 0)

    // A table change in the schema selects a new state file, rebuilt on the next command.
    let schema = try String(contentsOfFile: sandbox.path("examples/todomvc/schema.yaml"), encoding: .utf8)
    try sandbox.write("examples/todomvc/schema.yaml", schema.replacingOccurrences(
      of: "      deletedAt: { type: datetimeInteger, nullable: true }",
      with: "      deletedAt: { type: datetimeInteger, nullable: true }\n      priority: { type: integer, default: 2 }"))
    let stale = try XCTUnwrap(jsonLines(try sandbox.lstore("status", "--json")).first)
    XCTAssertNotEqual(stale["state"] as? String, "state-48884714638@4.db")
    XCTAssertEqual(stale["stateCurrent"] as? Bool, false)
    let commit = try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t3","text":"after the change"}"#)
    assertStatus(commit, 0)
    XCTAssertTrue(commit.stderr.contains("rebuilt state for the current schema (6 events)"), commit.stderr)
    let newState = sandbox.path(".lstore/branches/main/" + (stale["state"] as! String))
    XCTAssertEqual(try sandbox.sqlite(newState, "SELECT id, completed, priority FROM todos ORDER BY id"), "t1|1|2\nt2|1|2\nt3|0|2\n")
    XCTAssertEqual(try sandbox.sqlite(state, "SELECT count(*) FROM todos"), "2\n", "the old state file is left alone")
    let current = try XCTUnwrap(jsonLines(try sandbox.lstore("status", "--json")).first)
    XCTAssertEqual(current["stateCurrent"] as? Bool, true)
    XCTAssertEqual(current["stateHead"] as? String, "e6")
  }

  func testExportImportRoundTrip() throws {
    try makeHistory()
    let stdout = try sandbox.shell("lstore export > backup.ndjson")
    assertStatus(stdout, 0)
    XCTAssertEqual(stdout.stderr, "")
    let backup = try sandbox.read("backup.ndjson")
    let lines = String(decoding: backup, as: UTF8.self).split(separator: "\n").map(String.init)
    XCTAssertEqual(lines.first, #"{"lstore":"export","version":1,"storeId":"todos","firstParent":"e0","head":"e4","events":5,"commits":3,"backendHead":0,"exportedAt":"2026-01-01T00:00:00.000Z"}"#)
    XCTAssertEqual(lines.count, 1 + 3 + 5 + 1)
    XCTAssertTrue(lines.last!.hasPrefix(#"{"end":{"events":5,"commits":3,"crc32":""#), lines.last!)

    assertStatus(try sandbox.lstore("export", "--gzip", "-o", "backup.ndjson.gz"), 0)
    assertStatus(try sandbox.lstore("export", "-o", "auto.gz"), 0)
    assertStatus(try sandbox.lstore("export", "-o", "plain.ndjson"), 0)
    XCTAssertEqual(try sandbox.read("plain.ndjson"), backup)
    for name in ["backup.ndjson.gz", "auto.gz"] {
      XCTAssertEqual(Array(try sandbox.read(name).prefix(2)), [0x1F, 0x8B], name)
      let unzipped = try sandbox.shell("gzip -dc \(name)")
      assertStatus(unzipped, 0)
      XCTAssertEqual(Data(unzipped.stdout.utf8), backup, name)
    }
    XCTAssertFalse(sandbox.exists("plain.ndjson.partial"))

    // A second store; `-C other import` resolves the file from the current directory.
    assertStatus(try sandbox.lstore("init", "--schema", "examples/todomvc/schema.yaml", "--store-id", "todos", "other"), 0)
    let imported = try sandbox.lstore("-C", "other", "import", "backup.ndjson.gz")
    assertStatus(imported, 0)
    XCTAssertTrue(imported.stdout.hasPrefix("Imported 5 events and 3 commits; head is now e4 ("), imported.stdout)
    XCTAssertFalse(sandbox.exists("other/backup.ndjson.gz"))

    // export → import → export is byte-identical apart from exportedAt.
    let again = try sandbox.lstore(["-C", "other", "export"], env: ["LSTORE_DATE": "2030-12-31T23:59:59.999Z"])
    assertStatus(again, 0)
    XCTAssertNotEqual(Data(again.stdout.utf8), backup)
    XCTAssertEqual(again.stdout, String(decoding: backup, as: UTF8.self)
      .replacingOccurrences(of: #""exportedAt":"2026-01-01T00:00:00.000Z""#, with: #""exportedAt":"2030-12-31T23:59:59.999Z""#))
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("other"), "SELECT * FROM todos ORDER BY id"),
                   try sandbox.sqlite(try sandbox.statePath(), "SELECT * FROM todos ORDER BY id"))
    XCTAssertEqual(try sandbox.lstore("-C", "other", "log", "--oneline").stdout, try sandbox.lstore("log", "--oneline").stdout)

    // Importing it again is refused: the head no longer matches.
    assertError(try sandbox.lstore("-C", "other", "import", "backup.ndjson"), 2, ["continues from e0", "head is e4"])
    // Stdin works too, and a partial export continues a store.
    assertStatus(try sandbox.lstore("init", "--schema", "examples/todomvc/schema.yaml", "--store-id", "todos", "third"), 0)
    assertStatus(try sandbox.lstore("export", "--to", "e1", "-o", "part1.ndjson"), 0)
    assertStatus(try sandbox.lstore("export", "--from", "e2", "-o", "part2.ndjson"), 0)
    assertStatus(try sandbox.lstore(["-C", "third", "import", "-"], stdinFile: "part1.ndjson"), 0)
    assertError(try sandbox.lstore("-C", "third", "import", "part1.ndjson"), 2, ["head is e1"])
    assertStatus(try sandbox.lstore("-C", "third", "import", "part2.ndjson"), 0)
    let third = try sandbox.lstore(["-C", "third", "export"])
    XCTAssertEqual(third.stdout, String(decoding: backup, as: UTF8.self))
  }
}
