import Foundation
import XCTest

/// The README's exit-code table is what scripts rely on: every code in it is produced by
/// at least one case here, and no case produces a code outside it.
final class ExitCodeTableTests: XCTestCase {
  /// The codes of the table under "Machine-readable output and exit codes".
  static func readmeCodes() throws -> [Int32: String] {
    let readme = try String(contentsOf: LStoreBinary.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
    guard let section = readme.range(of: "## Machine-readable output and exit codes") else {
      throw SandboxError(message: "README has no exit-code section")
    }
    var codes: [Int32: String] = [:]
    for line in readme[section.upperBound...].split(separator: "\n") {
      if line.hasPrefix("## ") { break }
      let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
      guard line.hasPrefix("|"), cells.count >= 2, let code = Int32(cells[0]) else { continue }
      codes[code] = cells[1]
    }
    return codes
  }

  struct Case {
    var why: String
    var arguments: [String]
    var status: Int32
    var cwd: String = "a"
    var stdin: String? = nil
  }

  func testEveryCodeInTheReadmeTableIsProducedAndNoOther() throws {
    let table = try Self.readmeCodes()
    XCTAssertEqual(Set(table.keys), [0, 1, 2, 3, 4, 5, 6, 64, 65, 66, 69, 130], "the table as parsed: \(table)")

    // Two stores and a path remote; on a, branches that conflict (for 4).
    let store = try VCStore(directory: "a")
    let sandbox = store.sandbox
    _ = try VCStore(sandbox: sandbox, directory: "b", clientId: "bob")
    _ = try VCStore(sandbox: sandbox, directory: "remote", clientId: "srv")
    try store.create("t1", "c1")
    try store.ok("push", "../remote")
    assertStatus(try sandbox.lstore(["commit", "v1.TodoCreated", #"{"id":"b1","text":"b"}"#], cwd: "b"), 0)
    try store.ok("branch", "feat")
    try store.event("v1.TodoRenamed", #"{"id":"t1","text":"main name"}"#, "main rename")
    try store.ok("switch", "feat")
    try store.event("v1.TodoRenamed", #"{"id":"t1","text":"feat name"}"#, "feat rename")
    try sandbox.write("broken.yaml", "tables:\n  todos:\n    columns:\n      id: { type: txt }\n")
    // For replay: creating writes NULL into a NOT NULL column (6); renaming appends (5).
    let vcSchema = try String(contentsOfFile: sandbox.path("vc-schema.yaml"), encoding: .utf8)
    try sandbox.write("failing.yaml", vcSchema.replacingOccurrences(of: "VALUES ($id, $text, 0)", with: "VALUES ($id, NULL, 0)"))
    try sandbox.write("renaming.yaml", vcSchema.replacingOccurrences(of: "SET text = $text", with: "SET text = text || $text"))
    let state = try store.statePath("feat")
    let closed = try GitUserTests.closedPort()

    let cases: [Case] = [
      Case(why: "success", arguments: ["log"], status: 0),
      Case(why: "a config key with no value (as git config)", arguments: ["config", "author.name"], status: 1),
      Case(why: "a store that exists", arguments: ["init", "--schema", sandbox.path("vc-schema.yaml")], status: 2),
      Case(why: "import onto another head", arguments: ["import", "-"], status: 2,
           stdin: ExportWriter.todos(count: 1, firstParent: 0, idPrefix: "x")),
      Case(why: "push while the remote is ahead", arguments: ["push", "../remote"], status: 3, cwd: "b"),
      Case(why: "a rebase with a cell conflict", arguments: ["rebase", "--dry-run", "main"], status: 4),
      Case(why: "a replay whose state differs from --against", arguments: ["replay", "--schema", sandbox.path("renaming.yaml"), "--against", state], status: 5),
      Case(why: "a replay with a failing materializer", arguments: ["replay", "--schema", sandbox.path("failing.yaml")], status: 6),
      Case(why: "an unknown command", arguments: ["stauts"], status: 64),
      Case(why: "an unknown option", arguments: ["log", "--bogus"], status: 64),
      // On branch feat, which does not sync: the command line is still checked first.
      Case(why: "a URL scheme lstore does not speak", arguments: ["push", "ftp://example.com/x"], status: 64),
      Case(why: "a remote added with such a URL", arguments: ["remote", "add", "up", "ftp://example.com/x"], status: 64),
      Case(why: "a remote URL without a host", arguments: ["push", "ws://"], status: 64, cwd: "b"),
      Case(why: "a remote URL with an impossible port", arguments: ["pull", "http://127.0.0.1:99999"], status: 64, cwd: "b"),
      Case(why: "an invalid store id", arguments: ["push", "--store-id", "bad id", "../remote"], status: 65, cwd: "b"),
      Case(why: "args that do not match the schema", arguments: ["commit", "v1.TodoCreated", #"{"id":"t9"}"#], status: 65),
      Case(why: "a schema error", arguments: ["init", "--schema", sandbox.path("broken.yaml"), sandbox.path("fresh")], status: 65),
      Case(why: "no such event", arguments: ["show", "e42"], status: 66),
      Case(why: "no such schema file", arguments: ["init", "--schema", sandbox.path("nope.yaml"), sandbox.path("fresh2")], status: 66),
      Case(why: "no such schema file for materialize", arguments: ["materialize", "--schema", "nope.yaml", "-o", "x.db"], status: 66),
      Case(why: "no store", arguments: ["-C", "/", "log"], status: 66, cwd: "."),
      Case(why: "nothing listens (WebSocket)", arguments: ["push", "ws://127.0.0.1:\(closed)"], status: 69, cwd: "b"),
      Case(why: "nothing listens (HTTP)", arguments: ["pull", "http://127.0.0.1:\(closed)"], status: 69, cwd: "b"),
      Case(why: "a path remote with no store there", arguments: ["pull", "../no-such-store"], status: 66, cwd: "b"),
    ]
    var produced: Set<Int32> = []
    for testCase in cases {
      let result = try sandbox.lstore(testCase.arguments, stdin: testCase.stdin, cwd: testCase.cwd)
      produced.insert(result.status)
      XCTAssertEqual(result.status, testCase.status, "\(testCase.why): lstore \(testCase.arguments.joined(separator: " ")): \(result)")
      XCTAssertNotNil(table[result.status], "\(testCase.why): exit \(result.status) is not in the README's table")
      if result.status >= 64 || (result.status >= 2 && result.status != 4) {
        XCTAssertTrue(result.stderr.hasPrefix("lstore: error: "), "\(testCase.why): \(result)")
      }
    }
    // 130: an import interrupted (SIGINT as Ctrl-C sends it); the store is unchanged.
    try sandbox.write("big.ndjson", ExportWriter.todos(count: 20_000, firstParent: 0, idPrefix: "big"))
    let before = jsonLines(try sandbox.lstore(["status", "--json"], cwd: "remote")).first?["events"] as? Int
    let importing = try sandbox.start(LStoreBinary.path, ["import", sandbox.path("big.ndjson")], cwd: "remote")
    importing.kill(SIGINT)
    let interrupted = try importing.wait()
    XCTAssertEqual(interrupted.status, 130, "\(interrupted)")
    produced.insert(interrupted.status)
    XCTAssertEqual(jsonLines(try sandbox.lstore(["status", "--json"], cwd: "remote")).first?["events"] as? Int, before)
    XCTAssertEqual(produced, Set(table.keys), "codes in the table that no case produced, or the other way round")
  }
}
