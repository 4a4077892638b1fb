import Foundation
import XCTest

/// `lstore serve` as an operator runs it: it says where it listens, answers plain HTTP,
/// and stops cleanly on SIGTERM and SIGINT with everything acknowledged kept.
final class ServeLifecycleTests: XCTestCase {
  /// `lstore -C <store> pull --follow <url>`, started, and a reader of its stderr so far.
  private func startFollowing(_ sandbox: Sandbox, _ store: String, _ url: String) throws
    -> (follower: RunningCommand, stderr: () -> String)
  {
    let follower = try sandbox.start(LStoreBinary.path, ["-C", store, "pull", "--follow", url])
    return (follower, { (try? String(contentsOfFile: follower.errPath, encoding: .utf8)) ?? "" })
  }

  /// Ctrl-C for a follower still running, then reaps it.
  private func stop(_ follower: RunningCommand) {
    if follower.process.isRunning { kill(follower.process.processIdentifier, SIGINT) }
    _ = try? follower.wait()
  }

  /// Commits one todo in `store` and pushes it to `url`.
  private func pushTodo(_ sandbox: Sandbox, from store: String, id: String, text: String = "x", to url: String,
                        file: StaticString = #filePath, line: UInt = #line) throws {
    let args = #"{"id":"\#(id)","text":"\#(text)"}"#  // plain ids and texts: nothing to escape
    XCTAssertEqual(try sandbox.lstore(["-C", store, "commit", "v1.TodoCreated", args]).status, 0, file: file, line: line)
    XCTAssertEqual(try sandbox.lstore(["-C", store, "push", url]).status, 0, file: file, line: line)
  }

  func testGracefulShutdownKeepsAcknowledgedEvents() throws {
    for signal in [SIGTERM, SIGINT] {
      let sandbox = try Sandbox()
      let server = try SyncEndToEndTests.Server(sandbox: sandbox)
      try sandbox.initStore("a")
      XCTAssertEqual(try sandbox.lstore(["-C", "a", "commit", "v1.TodoCreated", #"{"id":"t1","text":"x"}"#]).status, 0)
      XCTAssertEqual(try sandbox.lstore(["-C", "a", "push", server.url]).status, 0)
      kill(server.command.process.processIdentifier, signal)
      server.command.process.waitUntilExit()
      XCTAssertEqual(server.command.process.terminationStatus, 0, "serve must exit 0 on signal \(signal): \(server.log)")
      // A new server on the same data has the event.
      let restarted = try SyncEndToEndTests.Server(sandbox: sandbox)
      defer { restarted.kill() }
      try sandbox.initStore("b")
      XCTAssertEqual(try sandbox.lstore(["-C", "b", "pull", restarted.url]).status, 0)
      XCTAssertEqual(try sandbox.lstore(["-C", "b", "log", "--oneline", "--events"]).lines,
                     [#"e1 v1.TodoCreated {"id":"t1","text":"x"}"#])
    }
  }

  /// A peer holding an idle socket open does not keep a stopping server alive: after the
  /// graceful wait (10 s) its connection is cancelled and serve exits 0.
  func testSigtermEndsEvenWithAnIdleConnectionOpen() throws {
    let sandbox = try Sandbox()
    let server = try SyncEndToEndTests.Server(sandbox: sandbox)
    defer { server.kill(SIGKILL) }
    let idle = try sandbox.start("/bin/bash", ["-c", "exec 3<>/dev/tcp/127.0.0.1/\(server.port); read -t 60 <&3"])
    defer { kill(idle.process.processIdentifier, SIGKILL) }
    // The connection is open once the server answers another one (accepts are in order).
    try waitFor("the server") { try sandbox.shell("curl -s \(server.httpURL)/health").status == 0 }
    let stopping = Date()
    kill(server.command.process.processIdentifier, SIGTERM)
    try waitFor("serve to exit", timeout: 40) { !server.command.process.isRunning }
    XCTAssertEqual(server.command.process.terminationStatus, 0, server.log)
    // Held by the idle connection until the graceful wait ran out, then exited anyway.
    let waited = Date().timeIntervalSince(stopping)
    XCTAssertGreaterThan(waited, 9, "the idle connection held the shutdown for the graceful wait")
    XCTAssertLessThan(waited, 30)
    XCTAssertTrue(server.log.contains("connections still open"), server.log)
  }

  /// A connection that sends no request head is closed after the head timeout (15 s), and a
  /// keep-alive connection silent after its answered request after the idle timeout (15 s),
  /// so idle or byte-at-a-time peers cannot pile up; a WebSocket client, whose first frame
  /// follows its upgrade, stays connected past both.
  func testQuietConnectionsAreClosedAndAQuietFollowerIsNot() throws {
    let sandbox = try Sandbox()
    let server = try SyncEndToEndTests.Server(sandbox: sandbox)
    defer { server.kill() }
    try sandbox.initStore("a")
    try sandbox.initStore("b")
    let (follower, stderr) = try startFollowing(sandbox, "a", server.url)
    defer { stop(follower) }
    try waitFor("the follower") { stderr().contains("Following") }
    let opened = Date()
    let idle = try sandbox.start("/bin/bash", ["-c", "exec 3<>/dev/tcp/127.0.0.1/\(server.port); read -t 60 <&3; echo $?"])
    let keptAlive = try sandbox.start("/bin/bash", ["-c", """
      exec 3<>/dev/tcp/127.0.0.1/\(server.port); printf 'GET /health HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n' >&3
      timeout 60 cat <&3 >answer; echo $?; head -1 answer
      """])
    // When each one ended, seen by polling both.
    var closedAfter: [Int: TimeInterval] = [:]
    try waitFor("the server to close both quiet connections", timeout: 40) {
      for (index, peer) in [idle, keptAlive].enumerated() where !peer.process.isRunning && closedAfter[index] == nil {
        closedAfter[index] = Date().timeIntervalSince(opened)
      }
      return closedAfter.count == 2
    }
    XCTAssertEqual(try idle.wait().stdout, "1\n", "read saw the end of the connection, not its own timeout")
    XCTAssertEqual(try keptAlive.wait().stdout, "0\nHTTP/1.1 200 OK\r\n",
                   "the request was answered, then cat saw the end of the connection, not timeout's")
    for seconds in closedAfter.values {
      XCTAssertGreaterThan(seconds, 13)
      XCTAssertLessThan(seconds, 30)
    }
    // The follower, connected since before the idle peer and quiet since its pull, is still
    // there: a live event reaches it without a reconnect.
    try pushTodo(sandbox, from: "b", id: "late", to: server.url)
    try waitFor("the live event") { try sandbox.lstore(["-C", "a", "log", "--oneline", "--events"]).stdout.contains("late") }
    XCTAssertFalse(stderr().contains("lost"), stderr())
  }

  func testHTTPHeadAndUnknownPaths() throws {
    let sandbox = try Sandbox()
    let server = try SyncEndToEndTests.Server(sandbox: sandbox)
    defer { server.kill() }
    let head = try sandbox.shell("curl -s -w ' %{http_code}' \(server.httpURL)/api/v1/stores/todos/head")
    XCTAssertEqual(head.stdout, #"{"head":0} 200"#, head.description)
    let health = try sandbox.shell("curl -s -w ' %{http_code}' \(server.httpURL)/health")
    XCTAssertTrue(health.stdout.hasPrefix(#"{"status":"ok","node":{"id":""#), health.description)
    XCTAssertTrue(health.stdout.hasSuffix(#""database":{"kind":"sqlite","reachable":true}} 200"#), health.description)
    let bad = try sandbox.shell("curl -s -o /dev/null -w '%{http_code}' \(server.httpURL)/nope")
    XCTAssertEqual(bad.stdout, "400", bad.description)
    let badStore = try sandbox.shell("curl -s -o /dev/null -w '%{http_code}' '\(server.httpURL)/api/v1/stores/a%20b/head'")
    XCTAssertEqual(badStore.stdout, "400", badStore.description)
  }

  func testPullFollowAppliesLiveUpdates() throws {
    let sandbox = try Sandbox()
    let server = try SyncEndToEndTests.Server(sandbox: sandbox)
    defer { server.kill() }
    try sandbox.initStore("a")
    try sandbox.initStore("b")
    let (follower, _) = try startFollowing(sandbox, "a", server.url)
    defer { stop(follower) }
    try pushTodo(sandbox, from: "b", id: "live", to: server.url)
    // The follower applies the broadcast without being asked again.
    let seen = try waitFor("the live event", timeout: 10) { () -> String? in
      let log = try sandbox.lstore(["-C", "a", "log", "--oneline", "--events"]).stdout
      return log.contains("live") ? log : nil
    }
    XCTAssertEqual(seen, #"e1 v1.TodoCreated {"id":"live","text":"x"}"# + "\n")
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("a"), "SELECT id FROM todos"), "live\n")
  }

  /// A LiveStore 0.3 backend has no id: a following pull whose server came back as another
  /// backend (a new data directory on the same port) can tell only by the events. After its
  /// reconnect the follower asks again from one event before the last one it applied, finds
  /// that event is not the one it has, and stops with the advice a plain pull gives, taking
  /// nothing of the other history.
  func testAFollowerWhoseBackendCameBackReplacedStopsAfterItsReconnect() throws {
    let sandbox = try Sandbox()
    var server = try SyncEndToEndTests.Server(sandbox: sandbox, data: "first")
    defer { server.kill() }
    let port = server.port, url = server.url
    for store in ["a", "b", "c"] { try sandbox.initStore(store) }
    try pushTodo(sandbox, from: "b", id: "t1", text: "one", to: url)
    let (follower, stderr) = try startFollowing(sandbox, "a", url)
    defer { stop(follower) }
    try waitFor("the follower") { stderr().contains("Following") }
    try pushTodo(sandbox, from: "b", id: "t2", text: "two", to: url)
    try waitFor("the live event") { try sandbox.lstore(["-C", "a", "log", "--oneline", "--events"]).stdout.contains("t2") }
    let before = try sandbox.lstore(["-C", "a", "log", "--oneline", "--events"]).stdout

    server.kill(SIGKILL)
    try waitFor("the lost line") { stderr().contains("Connection to \(url) lost; reconnecting") }
    // Another backend on the same port, with another history of three events.
    for id in ["x1", "x2", "x3"] {
      XCTAssertEqual(try sandbox.lstore(["-C", "c", "commit", "v1.TodoCreated", #"{"id":"\#(id)","text":"other"}"#]).status, 0)
    }
    server = try SyncEndToEndTests.Server(sandbox: sandbox, data: "second", port: port)
    XCTAssertEqual(try sandbox.lstore(["-C", "c", "push", url]).status, 0)

    try waitFor("the follower to stop") { !follower.process.isRunning }
    let ended = try follower.wait()
    XCTAssertEqual(ended.status, 2, ended.description)
    XCTAssertTrue(ended.stderr.contains("confirmed to this store: it was reset or replaced"), ended.stderr)
    XCTAssertTrue(ended.stderr.contains("lstore pull --adopt-backend"), ended.stderr)
    XCTAssertEqual(try sandbox.lstore(["-C", "a", "log", "--oneline", "--events"]).stdout, before,
                   "nothing of the other history was taken")
  }

  /// Two servers on one SQLite file would each keep their own head and acknowledge pushes
  /// into different histories: the second is refused while the first runs, and may start
  /// once the first is gone, even after a SIGKILL (the lock dies with the process).
  func testASecondServeOnTheSameDataIsRefused() throws {
    let sandbox = try Sandbox()
    let first = try SyncEndToEndTests.Server(sandbox: sandbox)
    let second = try sandbox.lstore(["serve", "--port", "0", "--data", sandbox.path("backend")])
    assertError(second, 2, ["in use by another lstore serve", "pid \(first.command.process.processIdentifier)", "--data"])
    XCTAssertFalse(second.stderr.contains("listening"), second.stderr)
    // The first still serves.
    let head = try sandbox.shell("curl -s \(first.httpURL)/api/v1/stores/todos/head")
    XCTAssertEqual(head.stdout, #"{"head":0}"#, head.description)
    first.kill(SIGKILL)
    let restarted = try SyncEndToEndTests.Server(sandbox: sandbox)
    restarted.kill()
    // Another directory is another backend.
    let other = try SyncEndToEndTests.Server(sandbox: sandbox, data: "backend2")
    other.kill()
  }
}
