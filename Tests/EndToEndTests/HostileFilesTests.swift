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
}
