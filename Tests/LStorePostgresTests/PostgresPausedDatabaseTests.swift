import Foundation
import XCTest
@testable import LStorePostgres

/// A database that stops answering without closing anything (its processes stopped with
/// SIGSTOP, as a host that vanished looks from here): the health check still answers in
/// about 2 s, the listener notices within about 10 s, and both recover once it answers again.
final class PostgresPausedDatabaseTests: PostgresTestCase {
  /// The test cluster's server processes (postmaster first), from PG_CLUSTER_DIR.
  func clusterProcesses() throws -> [pid_t] {
    guard let directory = ProcessInfo.processInfo.environment["PG_CLUSTER_DIR"] else {
      throw XCTSkip("PG_CLUSTER_DIR is not set: run `bash scripts/test.sh`, which starts the test cluster")
    }
    let pidFile = try String(contentsOfFile: directory + "/data/postmaster.pid", encoding: .utf8)
    let postmaster = try XCTUnwrap(pid_t(pidFile.split(separator: "\n").first ?? ""))
    var children: [pid_t] = []
    for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") {
      guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")") else { continue }
      // Fields after the command's closing parenthesis: state, then the parent's pid.
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      if fields.count > 1, pid_t(fields[1]) == postmaster { children.append(pid) }
    }
    return [postmaster] + children
  }

  func testAPausedDatabaseIsReportedInTimeAndServedAgainOnceItAnswers() async throws {
    let url = try requirePostgres()
    _ = try clusterProcesses()
    let storage = try await PostgresSyncStorage.open(url, logger: logger)
    defer { storage.shutdown() }
    var deadline = Date().addingTimeInterval(20)
    while await !storage.health().listening {
      guard Date() < deadline else { return XCTFail("the listener never connected") }
      try await Task.sleep(for: .milliseconds(20))
    }

    // Every server process, those serving this storage's connections included.
    let processes = try clusterProcesses()
    for pid in processes.reversed() { kill(pid, SIGSTOP) }
    func resume() { for pid in processes { kill(pid, SIGCONT) } }
    defer { resume() }
    // Whatever hangs, the cluster answers again within 40 s (a check that waited for it
    // then fails on its time rather than pausing the rest of the suite).
    let watchdog = Task.detached {
      try await Task.sleep(for: .seconds(40))
      for pid in processes { kill(pid, SIGCONT) }
    }
    defer { watchdog.cancel() }

    let started = Date()
    let paused = await storage.health()
    XCTAssertFalse(paused.reachable, "\(paused)")
    XCTAssertLessThan(Date().timeIntervalSince(started), 4, "the health check answers in about 2 s")
    XCTAssertEqual(paused.error, PostgresUnavailable.timedOut.description)
    // The listener's own check (every 5 s, answered within 5 s) ends its listening.
    deadline = Date().addingTimeInterval(20)
    while await storage.health().listening {
      guard Date() < deadline else { return XCTFail("the listener never noticed the database was gone") }
      try await Task.sleep(for: .milliseconds(200))
    }

    resume()
    deadline = Date().addingTimeInterval(30)
    var health = await storage.health()
    while !(health.reachable && health.listening) {
      guard Date() < deadline else { return XCTFail("never served again: \(health)") }
      try await Task.sleep(for: .milliseconds(100))
      health = await storage.health()
    }
    XCTAssertNil(health.error)
  }
}
