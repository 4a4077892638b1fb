import Foundation
import XCTest

/// The result of running a command.
struct CommandResult: CustomStringConvertible {
  var stdout: String
  var stderr: String
  var status: Int32

  var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
  var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }

  var description: String { "exit \(status)\n--- stdout\n\(stdout.prefix(2000))\n--- stderr\n\(stderr.prefix(2000))" }
}

/// The `lstore` binary under test: beside the test bundle (SwiftPM puts products and the
/// .xctest in the same directory), or `LSTORE_BINARY`, or `.build/debug/lstore`.
enum LStoreBinary {
  static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  static let path: String = {
    var candidates: [URL] = []
    if let explicit = ProcessInfo.processInfo.environment["LSTORE_BINARY"] { candidates.append(URL(fileURLWithPath: explicit)) }
    let bundle = Bundle.main.bundleURL
    candidates.append(bundle.appendingPathComponent("lstore"))
    candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("lstore"))
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
      candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("lstore"))
    }
    if let argv0 = CommandLine.arguments.first {
      candidates.append(URL(fileURLWithPath: argv0).deletingLastPathComponent().appendingPathComponent("lstore"))
    }
    candidates.append(repositoryRoot.appendingPathComponent(".build/debug/lstore"))
    for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate.path) {
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
        return candidate.path
      }
    }
    return candidates.last!.path
  }()

  static var todomvcSchema: String { repositoryRoot.appendingPathComponent("examples/todomvc/schema.yaml").path }
}

/// A temporary working directory with a fixed environment, in which to run lstore as a
/// user would.
final class Sandbox {
  let root: String
  var environment: [String: String]

  static let date = "2026-01-01T00:00:00.000Z"

  init() throws {
    root = NSTemporaryDirectory() + "lstore-e2e-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    environment = [
      "PATH": (LStoreBinary.path as NSString).deletingLastPathComponent + ":/usr/local/bin:/usr/bin:/bin",
      "HOME": root,
      "NO_COLOR": "1",
      "TERM": "dumb",
      "LSTORE_DATE": Self.date,
      "LSTORE_AUTHOR_NAME": "Test User",
      "LSTORE_AUTHOR_EMAIL": "test@example.com",
    ]
    // The example schema at the path the README uses.
    try write("examples/todomvc/schema.yaml", try String(contentsOfFile: LStoreBinary.todomvcSchema, encoding: .utf8))
  }

  deinit { try? FileManager.default.removeItem(atPath: root) }

  func path(_ name: String) -> String { name.hasPrefix("/") ? name : (root as NSString).appendingPathComponent(name) }

  @discardableResult
  func write(_ name: String, _ text: String) throws -> String {
    let target = path(name)
    try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: target, atomically: true, encoding: .utf8)
    return target
  }

  func read(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

  func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

  /// Starts a process with stdout and stderr going to files (no pipe can fill up).
  func start(_ executable: String, _ arguments: [String], stdin: String? = nil, stdinFile: String? = nil,
             cwd: String? = nil, env: [String: String] = [:]) throws -> RunningCommand {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: path(cwd ?? "."))
    process.environment = environment.merging(env) { $1 }.filter { !$0.value.isEmpty }
    let id = UUID().uuidString
    let outPath = NSTemporaryDirectory() + "lstore-e2e-out-\(id)"
    let errPath = NSTemporaryDirectory() + "lstore-e2e-err-\(id)"
    FileManager.default.createFile(atPath: outPath, contents: nil)
    FileManager.default.createFile(atPath: errPath, contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    process.standardOutput = out
    process.standardError = err
    var inputPath: String? = nil
    if let stdin {
      inputPath = NSTemporaryDirectory() + "lstore-e2e-in-\(id)"
      FileManager.default.createFile(atPath: inputPath!, contents: Data(stdin.utf8))
    } else if let stdinFile {
      inputPath = path(stdinFile)
    }
    if let inputPath {
      process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inputPath))
    } else {
      process.standardInput = FileHandle.nullDevice
    }
    try process.run()
    try? out.close()
    try? err.close()
    return RunningCommand(process: process, outPath: outPath, errPath: errPath,
                          temporaryInput: stdin != nil ? inputPath : nil)
  }

  /// Runs `lstore` with `arguments` and waits for it.
  @discardableResult
  func lstore(_ arguments: [String], stdin: String? = nil, stdinFile: String? = nil, cwd: String? = nil,
              env: [String: String] = [:]) throws -> CommandResult {
    try start(LStoreBinary.path, arguments, stdin: stdin, stdinFile: stdinFile, cwd: cwd, env: env).wait()
  }

  @discardableResult
  func lstore(_ arguments: String..., stdin: String? = nil, cwd: String? = nil, env: [String: String] = [:]) throws -> CommandResult {
    try lstore(arguments, stdin: stdin, cwd: cwd, env: env)
  }

  /// Runs `lstore` and returns, with its result, the peak resident size of that process, as
  /// GNU time (`scripts/setup.sh` installs it) measures it from its own small process.
  ///
  /// Not from this process: a child this process spawns (posix_spawn shares this process's
  /// memory until the exec) starts its `ru_maxrss` at this process's own peak, which after
  /// hundreds of tests is well over 100 MiB; `RUSAGE_CHILDREN` is, besides, the largest
  /// child of any earlier test.
  func lstoreMeasuringPeakMemory(_ arguments: String...) throws -> (result: CommandResult, peakBytes: Int) {
    let time = "/usr/bin/time"
    guard FileManager.default.isExecutableFile(atPath: time) else {
      throw SandboxError(message: "\(time) (GNU time) is missing: bash scripts/setup.sh installs it")
    }
    let report = path("peak-memory-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(atPath: report) }
    let result = try start(time, ["-f", "%M", "-o", report, LStoreBinary.path] + arguments).wait()
    // GNU time puts "Command exited with non-zero status N" before the figure.
    guard let kilobytes = try String(contentsOfFile: report, encoding: .utf8)
      .split(separator: "\n").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
      throw SandboxError(message: "GNU time reported no peak memory: \(result)")
    }
    return (result, kilobytes * 1024)
  }

  /// Runs a bash script (lstore is on PATH).
  @discardableResult
  func shell(_ script: String, env: [String: String] = [:]) throws -> CommandResult {
    try start("/bin/bash", ["-c", script], env: env).wait()
  }

  /// Runs a query with the sqlite3 command-line shell.
  func sqlite(_ database: String, _ sql: String) throws -> String {
    let result = try start("/usr/bin/env", ["sqlite3", "-readonly", path(database), sql]).wait()
    guard result.status == 0 else { throw SandboxError(message: "sqlite3 failed: \(result)") }
    return result.stdout
  }

  /// `lstore init` of the README in `directory` (the sandbox root by default).
  @discardableResult
  func initStore(_ directory: String = ".", storeId: String = "todos", format: Int = 4,
                 clientId: String = "cli", sessionId: String = "ses") throws -> CommandResult {
    let result = try lstore(["init", "--schema", path("examples/todomvc/schema.yaml"), "--store-id", storeId,
                             "--client-id", clientId, "--session-id", sessionId, "--format", String(format), directory])
    guard result.status == 0 else { throw SandboxError(message: "init failed: \(result)") }
    return result
  }

  /// The branch's state file of the store in `directory`.
  func statePath(_ directory: String = ".", format: Int = 4, branch name: String = "main") throws -> String {
    let branch = path(directory + "/.lstore/branches/\(name)")
    let files = try FileManager.default.contentsOfDirectory(atPath: branch).filter { $0.hasPrefix("state") && $0.hasSuffix("@\(format).db") }
    guard files.count == 1 else { throw SandboxError(message: "state files: \(files)") }
    return (branch as NSString).appendingPathComponent(files[0])
  }
}

struct SandboxError: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}

final class RunningCommand {
  let process: Process
  private let outPath: String
  let errPath: String
  private let temporaryInput: String?

  init(process: Process, outPath: String, errPath: String, temporaryInput: String?) {
    self.process = process
    self.outPath = outPath
    self.errPath = errPath
    self.temporaryInput = temporaryInput
  }

  var pid: Int32 { process.processIdentifier }

  func kill(_ signal: Int32 = SIGKILL) { _ = Foundation.kill(process.processIdentifier, signal) }

  func wait() throws -> CommandResult {
    process.waitUntilExit()
    defer {
      try? FileManager.default.removeItem(atPath: outPath)
      try? FileManager.default.removeItem(atPath: errPath)
      if let temporaryInput { try? FileManager.default.removeItem(atPath: temporaryInput) }
    }
    let stdout = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: outPath))) ?? Data(), as: UTF8.self)
    let stderr = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: errPath))) ?? Data(), as: UTF8.self)
    let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    return CommandResult(stdout: stdout, stderr: stderr, status: status)
  }
}

/// Writes lstore export files directly (header, events, commits, end line with CRC-32), to
/// feed large or hand-shaped inputs to `lstore import`.
enum ExportWriter {
  static let todoCreatedHash = 378_064_758

  /// `count` v1.TodoCreated events after `firstParent` (a global number), with a commit
  /// every `commitEvery` events when given.
  static func todos(count: Int, firstParent: Int = 0, idPrefix: String = "t", commitEvery: Int? = nil,
                    storeId: String = "todos") -> String {
    var body = ""
    body.reserveCapacity(count * 200)
    var commits = 0
    for i in 1...count {
      let seq = firstParent + i
      if let every = commitEvery, (i - 1) % every == 0 {
        let last = firstParent + min(i + every - 1, count)
        body += #"{"commit":{"id":"\#(String(format: "%016x", 0xC0FFEE00 + seq))","first":"e\#(seq)","last":"e\#(last)","message":"batch \#(seq)","author":{"name":"Gen","email":"gen@example.com"},"time":"2026-01-01T00:00:00.000Z"}}"# + "\n"
        commits += 1
      }
      body += #"{"seqNum":"e\#(seq)","parentSeqNum":"e\#(seq - 1)","name":"v1.TodoCreated","args":{"id":"\#(idPrefix)\#(seq)","text":"todo number \#(seq)"},"clientId":"gen","sessionId":"gen","schemaHash":\#(todoCreatedHash),"syncMetadata":{"_tag":"None"}}"# + "\n"
    }
    return seal(body: body, storeId: storeId, firstParent: "e\(firstParent)", head: "e\(firstParent + count)", events: count,
                commits: commits)
  }

  static func seal(body: String, storeId: String, firstParent: String, head: String, events: Int, commits: Int) -> String {
    let header = #"{"lstore":"export","version":1,"storeId":"\#(storeId)","firstParent":"\#(firstParent)","head":"\#(head)","events":\#(events),"commits":\#(commits),"backendHead":0"#
    var crc = CRC32()
    crc.update(Array((header + "}\n").utf8))
    crc.update(Array(body.utf8))
    return header + #","exportedAt":"2026-01-01T00:00:00.000Z"}"# + "\n" + body
      + #"{"end":{"events":\#(events),"commits":\#(commits),"crc32":"\#(String(format: "%08x", crc.value))"}}"# + "\n"
  }
}

extension ExportWriter {
  /// An export as lstore wrote it, its lines passed through `edit` (the header, commit and
  /// event lines, not the end line), with a new end line whose CRC-32 covers the edited
  /// lines: so an import gets past the checksum to the checks that follow it.
  static func reseal(_ export: String, edit: ([String]) -> [String]) -> String {
    var lines = export.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    let end = lines.removeLast()
    let edited = edit(lines)
    var crc = CRC32()
    // The header counts without its exportedAt key (docs/export-format.md).
    let header = edited[0].replacingOccurrences(of: #","exportedAt":"[^"]*""#, with: "", options: .regularExpression)
    crc.update(Array((header + "\n").utf8))
    for line in edited.dropFirst() { crc.update(Array((line + "\n").utf8)) }
    let sealedEnd = end.replacingOccurrences(of: #""crc32":"[0-9a-f]{8}""#, with: #""crc32":"\#(String(format: "%08x", crc.value))""#,
                                             options: .regularExpression)
    return (edited + [sealedEnd]).joined(separator: "\n") + "\n"
  }
}

/// zlib's CRC-32 (the export trailer's checksum).
struct CRC32 {
  private static let table: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }

  private(set) var state: UInt32 = 0xFFFF_FFFF
  var value: UInt32 { state ^ 0xFFFF_FFFF }

  mutating func update(_ bytes: [UInt8]) {
    var c = state
    for byte in bytes { c = Self.table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
    state = c
  }
}

/// The exit codes of the README's table (what scripts may rely on).
let readmeExitCodes: Set<Int32> = Set(((try? ExitCodeTableTests.readmeCodes()) ?? [:]).keys)

extension XCTestCase {
  /// Polls `condition` every 50 ms until it returns a value, for at most `timeout` seconds:
  /// the wait for a condition that tests use instead of a fixed sleep.
  @discardableResult
  func waitFor<T>(_ what: String, timeout: TimeInterval = 30, _ condition: () throws -> T?) throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if let value = try condition() { return value }
      Thread.sleep(forTimeInterval: 0.05)
    }
    throw SandboxError(message: "timed out waiting for \(what)")
  }

  /// `waitFor` until `condition` is true.
  func waitFor(_ what: String, timeout: TimeInterval = 30, _ condition: () throws -> Bool) throws {
    try waitFor(what, timeout: timeout) { try condition() ? true : nil }
  }

  /// Asserts an exit status, printing the whole result when it differs, and that the
  /// status is one the README's table documents.
  func assertStatus(_ result: CommandResult, _ status: Int32, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(result.status, status, "\(result)", file: file, line: line)
    assertDocumented(result.status, file: file, line: line)
  }

  func assertDocumented(_ status: Int32, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertTrue(readmeExitCodes.contains(status), "exit \(status) is not in the README's exit-code table", file: file, line: line)
  }

  /// Asserts a failure: the status, and exactly one line on stderr, `lstore: error: …`,
  /// containing every fragment; nothing on stdout.
  func assertError(_ result: CommandResult, _ status: Int32, _ fragments: [String],
                   file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(result.status, status, "\(result)", file: file, line: line)
    assertDocumented(result.status, file: file, line: line)
    XCTAssertEqual(result.stderrLines.count, 1, "one line on stderr: \(result)", file: file, line: line)
    XCTAssertTrue(result.stderr.hasPrefix("lstore: error: "), "\(result)", file: file, line: line)
    for fragment in fragments where !result.stderr.contains(fragment) {
      XCTFail("stderr lacks \"\(fragment)\": \(result)", file: file, line: line)
    }
    XCTAssertEqual(result.stdout, "", file: file, line: line)
  }

  /// Parses one JSON object per line.
  func jsonLines(_ result: CommandResult, file: StaticString = #filePath, line: UInt = #line) -> [[String: Any]] {
    result.lines.compactMap { text in
      guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        XCTFail("not a JSON object: \(text)", file: file, line: line)
        return nil
      }
      return object
    }
  }
}
