import Foundation
import XCTest

/// Exit codes (Sources/LStoreCLI/Errors/ExitStatus.swift), one-line errors naming what was
/// wrong, pipes, color.
final class CLIConventionsTests: XCTestCase {
  var sandbox: Sandbox!

  override func setUpWithError() throws {
    sandbox = try Sandbox()
    try sandbox.initStore()
    assertStatus(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t1","text":"Buy milk"}"#, "-m", "First"), 0)
  }

  override func tearDown() { sandbox = nil }

  private func eventCount(_ directory: String = ".") throws -> Int? {
    jsonLines(try sandbox.lstore("-C", directory, "status", "--json")).first?["events"] as? Int
  }

  func testInvalidEventsExit65WithOneLineNamingTheProblem() throws {
    assertError(try sandbox.lstore("commit", "v1.TodoRenamed", #"{"id":"t1"}"#), 65,
                ["unknown event 'v1.TodoRenamed'", "v1.TodoCreated"])
    assertError(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t2"}"#), 65,
                ["event 'v1.TodoCreated'", "field 'text'", "missing required field"])
    assertError(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t2","text":7}"#), 65,
                ["field 'text'", "expected a string, got a number"])
    assertError(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t2","text":"x","due":"soon"}"#), 65,
                ["field 'due'", "unknown field"])
    assertError(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t2","text":"x",}"#), 65,
                ["not valid JSON", "invalid JSON at byte 23"])
    assertError(try sandbox.lstore("commit", "v1.TodoCreated", #"["t2"]"#), 65, ["must be a JSON object"])
    assertError(try sandbox.lstore("commit", "v1.TodoDeleted", #"{"id":"t1","deletedAt":"2025-02-30"}"#), 65,
                ["field 'deletedAt'", "'2025-02-30' is not an ISO-8601 date"])
    // A date with sub-millisecond digits is accepted (this used to crash lstore).
    assertStatus(try sandbox.lstore("commit", "v1.TodoDeleted", #"{"id":"t1","deletedAt":"2025-06-06T10:00:00.123456Z"}"#), 0)
    XCTAssertEqual(try eventCount(), 2)
  }

  /// `git pull --rebase` is what every pull does: the habit works.
  func testPullRebaseIsAPull() throws {
    try sandbox.initStore("hub")
    assertStatus(try sandbox.lstore("push", sandbox.path("hub")), 0)
    try sandbox.initStore("other")
    let pulled = try sandbox.lstore("-C", "other", "pull", "--rebase", sandbox.path("hub"))
    assertStatus(pulled, 0)
    XCTAssertTrue(pulled.stdout.hasPrefix("Pulled 1 event"), pulled.stdout)
  }

  func testFileInputErrorsNameTheLine() throws {
    try sandbox.write("week.ndjson", """
      {"name":"v1.TodoCreated","args":{"id":"t2","text":"a"}}
      {"name":"v1.TodoCreated","args":{"id":"t3"}}

      """)
    assertError(try sandbox.lstore("commit", "--file", "week.ndjson"), 65,
                ["week.ndjson:2: event 'v1.TodoCreated': field 'text': missing required field"])
    try sandbox.write("bad.ndjson", "{\"name\":\"v1.TodoCreated\",\"args\":{\"id\":\"t2\",\"text\":\"a\"}}\n\n{\"name\":\"v1.TodoCreated\",\"args\":{\"id\":\"t3\",\"text\":\"b\"}\n")
    assertError(try sandbox.lstore("commit", "--file", "bad.ndjson"), 65, ["bad.ndjson:3: invalid JSON at byte"])
    try sandbox.write("unknown.ndjson", "{\"name\":\"v1.TodoCreated\",\"args\":{\"id\":\"t2\",\"text\":\"a\"}}\n{\"name\":\"v2.Nope\",\"args\":{}}\n")
    assertError(try sandbox.lstore("commit", "--file", "unknown.ndjson"), 65, ["unknown.ndjson:2: unknown event 'v2.Nope'"])
    assertError(try sandbox.lstore(["commit"], stdin: "{\"name\":\"v1.TodoCreated\",\"args\":{\"id\":\"t9\",\"text\":\"a\",\"x\":1}}\n"), 65,
                ["stdin:1:", "field 'x'"])
    try sandbox.write("extra.ndjson", "{\"name\":\"v1.TodoCreated\",\"args\":{\"id\":\"t2\",\"text\":\"a\"},\"when\":1}\n")
    assertError(try sandbox.lstore("commit", "--file", "extra.ndjson"), 65, ["extra.ndjson:1: unknown key 'when'"])
    try sandbox.write("empty.ndjson", "\n\n")
    assertError(try sandbox.lstore("commit", "--file", "empty.ndjson"), 65, ["no events"])
    assertError(try sandbox.lstore("commit", "--file", "missing.ndjson"), 66, ["missing.ndjson"])
    // Two files: refused, not the last one silently.
    assertError(try sandbox.lstore("commit", "--file", "week.ndjson", "-f", "extra.ndjson"), 64, ["give --file once"])
    // Nothing of the valid lines was written.
    XCTAssertEqual(try eventCount(), 1)
  }

  func testMaterializerFailureNamesTheEventAndChangesNothing() throws {
    try sandbox.write("dup.ndjson", """
      {"name":"v1.TodoCreated","args":{"id":"t2","text":"new"}}
      {"name":"uiStateSet","args":{"value":{"filter":"completed"}}}
      {"name":"v1.TodoCreated","args":{"id":"t1","text":"again"}}

      """)
    let before = try sandbox.lstore("export").stdout
    let state = try sandbox.sqlite(try sandbox.statePath(), "SELECT * FROM todos; SELECT * FROM uiState; SELECT count(*) FROM __livestore_session_changeset")
    assertError(try sandbox.lstore("commit", "-m", "dup", "--file", "dup.ndjson"), 65,
                [#"materializer of e3 v1.TodoCreated {"id":"t1","text":"again"} failed: UNIQUE constraint failed: todos.id"#])
    XCTAssertEqual(try sandbox.lstore("export").stdout, before)
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath(), "SELECT * FROM todos; SELECT * FROM uiState; SELECT count(*) FROM __livestore_session_changeset"), state)
  }

  func testExitCodes() throws {
    // 0
    assertStatus(try sandbox.lstore("log"), 0)
    assertStatus(try sandbox.lstore("--help"), 0)
    assertStatus(try sandbox.lstore("--version"), 0)
    // 64 usage
    let unknownOption = try sandbox.lstore("log", "--bogus")
    assertStatus(unknownOption, 64)
    XCTAssertTrue(unknownOption.stderr.contains("--bogus"), unknownOption.stderr)
    assertStatus(try sandbox.lstore("frobnicate"), 64)
    assertStatus(try sandbox.lstore("init"), 64)
    assertStatus(try sandbox.lstore("show"), 64)
    // --from and --until take revisions: a name that is none is not found, as for show.
    assertStatus(try sandbox.lstore("log", "--from", "banana"), 66)
    assertStatus(try sandbox.lstore("materialize", "--until", "x1"), 66)
    assertStatus(try sandbox.lstore("commit", "v1.TodoCreated", "{}", "--file", "x.ndjson"), 64)
    // 66 not found
    let noStore = try sandbox.lstore("-C", "/", "log")
    assertError(noStore, 66, ["not an lstore store"])
    assertError(try sandbox.lstore("show", "e42"), 66, ["no event e42"])
    assertError(try sandbox.lstore("import", "nope.ndjson"), 66, ["nope.ndjson"])
    assertError(try sandbox.lstore("--eventlog", "nope.db", "log"), 66, ["no such file: nope.db"])
    // 65 invalid input: schema errors, damaged exports, not an eventlog
    try sandbox.write("broken.yaml", "tables:\n  todos:\n    columns:\n      id: { type: txt }\n")
    assertError(try sandbox.lstore("init", "--schema", "broken.yaml", "fresh"), 65,
                ["broken.yaml", "table 'todos', column 'id'", "unknown column type 'txt'"])
    XCTAssertFalse(sandbox.exists("fresh/.lstore"), "a schema error creates nothing")
    try sandbox.write("garbage.ndjson", "hello\n")
    assertError(try sandbox.lstore("import", "garbage.ndjson"), 65, ["not an lstore export"])
    try sandbox.write("notdb.db", "just text")
    assertStatus(try sandbox.lstore("--eventlog", "notdb.db", "log"), 65)
    // 2 refused
    assertError(try sandbox.lstore("init", "--schema", "examples/todomvc/schema.yaml"), 2, ["already exists"])
    assertStatus(try sandbox.lstore("export", "-o", "all.ndjson"), 0)
    assertError(try sandbox.lstore("import", "all.ndjson"), 2, ["continues from e0", "head is e1"])
    XCTAssertEqual(try eventCount(), 1)
  }

  func testPipesEndCleanly() throws {
    // Enough history that the output is far larger than a pipe buffer.
    try sandbox.write("many.ndjson", ExportWriter.todos(count: 3000, firstParent: 1, idPrefix: "m", commitEvery: 1))
    assertStatus(try sandbox.lstore("import", "many.ndjson"), 0)
    for command in ["lstore log --oneline | head -1", "lstore log | head -1", "lstore log --events --oneline | head -1",
                    "lstore log --json | head -1", "lstore export | head -1"] {
      let result = try sandbox.shell(command + "; echo \"status=${PIPESTATUS[0]}\"")
      XCTAssertEqual(result.stderr, "", command)
      XCTAssertEqual(result.lines.count, 2, "\(command): \(result)")
      let status = result.lines.last ?? ""
      XCTAssertTrue(status == "status=0" || status == "status=141", "\(command): \(status) (0, or SIGPIPE)")
    }
    let first = try sandbox.shell("lstore log --oneline | head -1")
    XCTAssertNotNil(first.stdout.range(of: #"^[0-9a-f]{16} e3001 batch 3001\n$"#, options: .regularExpression), first.stdout)
    let count = try sandbox.shell("lstore log --oneline | wc -l")
    XCTAssertEqual(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "3001")
  }

  func testNoColorWhenPipedOrWithNoColor() throws {
    let escape = "\u{1B}["
    // Piped (not a terminal), even without NO_COLOR: plain.
    let piped = try sandbox.lstore(["log", "--oneline"], env: ["NO_COLOR": ""])
    XCTAssertFalse(piped.stdout.contains(escape), piped.stdout)
    XCTAssertFalse(try sandbox.lstore(["show", "e1"], env: ["NO_COLOR": ""]).stdout.contains(escape))
    // Forced: colored, so the check above can fail.
    XCTAssertTrue(try sandbox.lstore(["--color", "always", "log", "--oneline"], env: ["NO_COLOR": ""]).stdout.contains(escape))
    XCTAssertFalse(try sandbox.lstore(["--color", "never", "log", "--oneline"], env: ["NO_COLOR": ""]).stdout.contains(escape))
    // On a terminal (a pseudo-terminal from script(1)): colored unless NO_COLOR is set.
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { return }
    let tty = try sandbox.shell("script -qc 'lstore log --oneline' /dev/null", env: ["NO_COLOR": "", "TERM": "xterm"])
    XCTAssertTrue(tty.stdout.contains(escape), "on a terminal: \(tty)")
    let noColor = try sandbox.shell("script -qc 'lstore log --oneline' /dev/null", env: ["NO_COLOR": "1", "TERM": "xterm"])
    XCTAssertTrue(noColor.stdout.contains(" e1 First"), "\(noColor)")
    XCTAssertFalse(noColor.stdout.contains(escape), "NO_COLOR on a terminal: \(noColor)")
  }

  func testHelpListsTheCommandsAndTheGlobalOptions() throws {
    let help = try sandbox.lstore("--help")
    for word in ["init", "commit", "log", "show", "status", "materialize", "export", "import", "-C <dir>", "--eventlog <path>"] {
      XCTAssertTrue(help.stdout.contains(word), "help lacks \(word)")
    }
    let words = help.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
    for code in ["0 success", "1 failure", "2 refused", "64 usage error", "65 invalid input", "66 not found"] {
      XCTAssertTrue(words.contains(code), "help lacks exit code '\(code)'")
    }
  }

  func testStoreIsFoundFromASubdirectoryAndWithC() throws {
    try FileManager.default.createDirectory(atPath: sandbox.path("deep/er"), withIntermediateDirectories: true)
    XCTAssertEqual(try sandbox.lstore(["log", "--oneline"], cwd: "deep/er").lines.count, 1)
    XCTAssertEqual(try sandbox.lstore(["-C", sandbox.root, "log", "--oneline"], cwd: "/").lines.count, 1)
    XCTAssertEqual(try sandbox.lstore(["log", "--oneline"], env: ["LSTORE_DIR": sandbox.path(".lstore")]).lines.count, 1)
    // A -C directory that does not exist is named as such, not as a missing store.
    let missing = try sandbox.lstore("-C", "no/such/dir", "status")
    XCTAssertEqual(missing.status, 66)
    XCTAssertEqual(missing.stderr, "lstore: error: cannot use -C no/such/dir: no such directory\n")
  }
}
