import Foundation
import XCTest

/// diff, blame and replay replay the eventlog into scratch states in the temporary
/// directory. Stopped by Ctrl-C (SIGINT) or SIGTERM, they remove them before exiting.
final class ScratchCleanupTests: XCTestCase {
  func testInterruptedCommandsLeaveNoScratchBehind() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore()
    // Enough events that each command is still replaying when the signal comes.
    try sandbox.write("big.ndjson", ExportWriter.todos(count: 20_000, idPrefix: "big"))
    assertStatus(try sandbox.lstore("import", sandbox.path("big.ndjson")), 0)
    let temporary = sandbox.path("tmp")
    try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
    func entries() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] }

    let cases: [(arguments: [String], scratch: String, signal: Int32, message: String)] = [
      (["diff", "e100", "HEAD", "--json"], "lstore-diff-", SIGINT, "lstore: error: interrupted; diff changes nothing"),
      (["blame", "todos", "big1"], "lstore-blame-", SIGTERM, "lstore: error: interrupted; blame changes nothing"),
      (["replay", "--json"], "lstore-replay-", SIGINT, "lstore: error: interrupted; the replay did not finish (replay changes nothing)"),
    ]
    for testCase in cases {
      let command = "lstore \(testCase.arguments.joined(separator: " "))"
      let running = try sandbox.start(LStoreBinary.path, testCase.arguments, env: ["TMPDIR": temporary])
      // Signalled once its scratch directory holds a file: the replay into it has started.
      let deadline = Date().addingTimeInterval(60)
      var started = false
      while running.process.isRunning, Date() < deadline {
        if let scratch = entries().first(where: { $0.hasPrefix(testCase.scratch) }),
           !((try? FileManager.default.contentsOfDirectory(atPath: temporary + "/" + scratch)) ?? []).isEmpty {
          started = true
          break
        }
        usleep(2_000)
      }
      XCTAssertTrue(started, "\(command): no scratch file appeared while it ran")
      running.kill(testCase.signal)
      let result = try running.wait()
      XCTAssertEqual(result.status, 128 + testCase.signal, "\(command): \(result)")
      XCTAssertEqual(result.stderrLines, [testCase.message], "\(command)")
      XCTAssertEqual(entries(), [], "\(command): scratch left in the temporary directory")
    }
    // The store was only read.
    assertStatus(try sandbox.lstore("fsck"), 0)
  }
}
