import Foundation
import XCTest

/// Files and arguments built to hurt: each is refused quickly, with one line naming the
/// limit it broke, in little memory, and the store is left as it was.
final class HostileFilesTests: XCTestCase {
  var sandbox: Sandbox!

  override func setUpWithError() throws {
    sandbox = try Sandbox()
    try sandbox.initStore()
  }

  override func tearDown() { sandbox = nil }

  func eventCount() throws -> Int? {
    jsonLines(try sandbox.lstore("status", "--json")).first?["events"] as? Int
  }

  func testAGzipThatInflatesToAHugeLineIsRefusedEarlyAndSmall() throws {
    // About 250 kB of gzip inflating to one 256 MiB line.
    let made = try sandbox.shell("head -c 268435456 /dev/zero | tr '\\0' 'a' | gzip -1 > bomb.gz && wc -c < bomb.gz")
    XCTAssertEqual(made.status, 0, "\(made)")
    let started = Date()
    let (result, peakBytes) = try sandbox.lstoreMeasuringPeakMemory("import", sandbox.path("bomb.gz"))
    let elapsed = Date().timeIntervalSince(started)
    assertError(result, 65, ["line 1 is longer than 16 MiB", "the limit for one line of an import"])
    XCTAssertLessThan(elapsed, 20)
    // One line is held to its 16 MiB limit, never the 256 MiB it inflates to.
    XCTAssertLessThan(peakBytes, 100 << 20, "peak RSS \(peakBytes >> 20) MiB")
    XCTAssertEqual(try eventCount(), 0)
  }

  /// An export whose commit reuses an id the store already has is refused whole, naming the
  /// id (commit rows are written in sorted runs, after the events they cover).
  func testAnExportReusingACommitIdIsRefusedNamingIt() throws {
    _ = try sandbox.write("first.ndjson", ExportWriter.todos(count: 10, commitEvery: 5))
    assertStatus(try sandbox.lstore("import", sandbox.path("first.ndjson")), 0)
    let taken = String(format: "%016x", 0xC0FFEE00 + 1)
    let rest = ExportWriter.todos(count: 10, firstParent: 10, idPrefix: "u", commitEvery: 5)
    var body = rest.split(separator: "\n").dropFirst().dropLast().joined(separator: "\n") + "\n"
    body = body.replacingOccurrences(of: String(format: "%016x", 0xC0FFEE00 + 16), with: taken)
    _ = try sandbox.write("reused.ndjson", ExportWriter.seal(body: body, storeId: "todos", firstParent: "e10", head: "e20",
                                                             events: 10, commits: 2))
    let result = try sandbox.lstore("import", sandbox.path("reused.ndjson"))
    assertError(result, 65, ["the eventlog already has a commit \(taken)"])
    XCTAssertEqual(try eventCount(), 10)
  }

  func testASchemaWithNestedAliasesIsRefusedQuicklyNamingTheLimit() throws {
    var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    for level in 1...6 {
      yaml += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
    }
    yaml += "name: laughs\ntables: {}\nevents: {}\n"
    _ = try sandbox.write("laughs.yaml", yaml)
    let started = Date()
    let result = try sandbox.lstore("init", "--schema", sandbox.path("laughs.yaml"), sandbox.path("laughs"))
    XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    assertError(result, 65, ["the schema expands to more than 100000 YAML nodes"])
    XCTAssertFalse(sandbox.exists("laughs/.lstore"))
  }

  func testAYAMLSyntaxErrorIsOneLine() throws {
    _ = try sandbox.write("broken.yaml", "tables: [\n")
    let result = try sandbox.lstore("init", "--schema", sandbox.path("broken.yaml"), sandbox.path("broken"))
    assertError(result, 65, ["not valid YAML or JSON", "did not find expected node content"])
  }

  func testAWhitespaceOnlyMaterializerIsRefused() throws {
    for materializer in [#""   ""#, #"["INSERT INTO t (id) VALUES ($id)", " \t "]"#] {
      _ = try sandbox.write("blank.yaml", """
        name: blank
        tables:
          t:
            columns:
              id: { type: text, primaryKey: true }
        events:
          v1.X:
            args: { id: string }
            materializer: \(materializer)
        """)
      let result = try sandbox.lstore("init", "--schema", sandbox.path("blank.yaml"), sandbox.path("blank"))
      assertError(result, 65, ["v1.X", "materializer", "the SQL is empty"])
    }
  }

  func testInvalidUTF8InAnArgumentIsRefusedLikeInAFile() throws {
    let result = try sandbox.shell(#"lstore commit v1.TodoCreated "$(printf '{"id":"t1","text":"\xff\xfe"}')""#)
    assertError(result, 65, ["argument 3 is not valid UTF-8"])
    XCTAssertEqual(try eventCount(), 0)
    // The same bytes in a file are refused too.
    let file = sandbox.path("bad.jsonl")
    FileManager.default.createFile(atPath: file, contents: Data(#"{"name":"v1.TodoCreated","args":{"id":"t1","text":""#.utf8) + Data([0xFF, 0xFE]) + Data(#""}}"#.utf8 + [0x0A]))
    let fromFile = try sandbox.lstore("commit", "--file", file)
    XCTAssertEqual(fromFile.status, 65, "\(fromFile)")
  }

  /// Damaged files: a state that is no database any more is rebuilt from the eventlog (it is
  /// derived); damage deeper in one is named by fsck, with advice that works; a damaged
  /// eventlog, which nothing rebuilds, is named by every command instead of SQLite's bare words.
  func testDamagedFilesAreNamedAndAStateIsRebuilt() throws {
    assertStatus(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t1","text":"a"}"#), 0)
    let state = try sandbox.statePath()
    let eventlog = sandbox.path(".lstore/branches/main/eventlog@4.db")

    // The header overwritten: not a database.
    XCTAssertEqual(try sandbox.shell("echo garbage | dd of='\(state)' conv=notrunc 2>/dev/null").status, 0)
    let rebuilt = try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t2","text":"b"}"#)
    assertStatus(rebuilt, 0)
    XCTAssertTrue(rebuilt.stderr.contains("rebuilt state"), rebuilt.stderr)
    XCTAssertEqual(try sandbox.sqlite(state, "SELECT id FROM todos ORDER BY id"), "t1\nt2\n")

    // The second half of the first page (the schema): status says the state is damaged, not the schema.
    XCTAssertEqual(try sandbox.shell("head -c 4096 /dev/urandom | dd of='\(state)' bs=1 seek=4096 conv=notrunc 2>/dev/null").status, 0)
    let status = jsonLines(try sandbox.lstore("status", "--json")).first ?? [:]
    XCTAssertNotNil(status["stateError"], "\(status)")
    XCTAssertNil(status["schemaError"], "\(status)")
    assertStatus(try sandbox.lstore("materialize"), 0)

    // Pages after the first overwritten: fsck names the state file and says how to rebuild it.
    XCTAssertEqual(try sandbox.shell("head -c 16384 /dev/urandom | dd of='\(state)' bs=1 seek=8192 conv=notrunc 2>/dev/null").status, 0)
    let found = try sandbox.lstore("fsck")
    XCTAssertEqual(found.status, 1, "\(found)")
    XCTAssertTrue(found.stdout.contains("error [state-damaged]: state: the state file ") && found.stdout.contains("/.lstore/branches/main/\((state as NSString).lastPathComponent) is damaged"), found.stdout)
    XCTAssertTrue(found.stdout.contains("'lstore materialize' rebuilds it"), found.stdout)
    assertStatus(try sandbox.lstore("materialize"), 0)
    assertStatus(try sandbox.lstore("fsck"), 0)
    XCTAssertEqual(try sandbox.sqlite(state, "SELECT id FROM todos ORDER BY id"), "t1\nt2\n")

    // The eventlog: every command names it and says it cannot be rebuilt; fsck reports it.
    XCTAssertEqual(try sandbox.shell("echo garbage | dd of='\(eventlog)' conv=notrunc 2>/dev/null").status, 0)
    for command in [["commit", "v1.TodoCreated", #"{"id":"t3","text":"c"}"#], ["log"], ["status"]] {
      assertError(try sandbox.lstore(command), 1, ["/.lstore/branches/main/eventlog@4.db is damaged (file is not a database)",
                                                   "nothing can rebuild it"])
    }
    let fsck = try sandbox.lstore("fsck", "--json")
    XCTAssertEqual(fsck.status, 1, "\(fsck)")
    XCTAssertEqual(jsonLines(fsck).first?["code"] as? String, "eventlog-damaged", fsck.stdout)
  }
}
