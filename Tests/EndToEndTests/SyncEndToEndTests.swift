import Foundation
import XCTest

/// Two stores syncing through a real `lstore serve` on a free loopback port.
final class SyncEndToEndTests: XCTestCase {
  /// A running `lstore serve`, stopped when the test ends.
  final class Server {
    let command: RunningCommand
    let port: Int
    let errPath: String

    init(sandbox: Sandbox, data: String = "backend", port requested: Int = 0, extra: [String] = []) throws {
      command = try sandbox.start(LStoreBinary.path, ["serve", "--port", String(requested), "--data", sandbox.path(data)] + extra)
      errPath = command.errPath
      var found: Int? = nil
      let deadline = Date().addingTimeInterval(20)
      while found == nil && Date() < deadline {
        let log = (try? String(contentsOfFile: command.errPath, encoding: .utf8)) ?? ""
        if let range = log.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
          found = Int(log[range].split(separator: ":").last!)
        } else if !command.process.isRunning {
          throw SandboxError(message: "lstore serve exited: \(log)")
        } else {
          Thread.sleep(forTimeInterval: 0.05)
        }
      }
      guard let found else { throw SandboxError(message: "lstore serve did not report its port") }
      port = found
    }

    var url: String { "ws://127.0.0.1:\(port)" }
    var httpURL: String { "http://127.0.0.1:\(port)" }
    var log: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    func kill(_ signal: Int32 = SIGTERM) {
      Foundation.kill(command.process.processIdentifier, signal)
      command.process.waitUntilExit()
    }

    deinit { if command.process.isRunning { kill(SIGKILL) } }
  }

  func syncedEvents(_ sandbox: Sandbox, _ store: String) throws -> [String] {
    let result = try sandbox.lstore(["-C", store, "log", "--json", "--reverse"])
    XCTAssertEqual(result.status, 0, result.description)
    return result.lines.compactMap { line -> String? in
      guard !line.contains(#""clientOnly":true"#) else { return nil }
      // seqNum, name, args and origin identify an event; metadata differs per store.
      let parts = line.components(separatedBy: #","schemaHash""#)
      return parts[0]
    }
  }

  func testTwoStoresSyncThroughServeWithRebase() throws {
    let sandbox = try Sandbox()
    let server = try Server(sandbox: sandbox)
    defer { server.kill() }
    try sandbox.initStore("a")
    XCTAssertEqual(try sandbox.lstore(["init", "--schema", sandbox.path("examples/todomvc/schema.yaml"), "--store-id", "todos",
                                       "--client-id", "bob", "--session-id", "bs", "b"]).status, 0)
    for store in ["a", "b"] {
      XCTAssertEqual(try sandbox.lstore(["-C", store, "remote", "add", "origin", server.url]).status, 0)
    }
    // A commits and pushes.
    XCTAssertEqual(try sandbox.lstore(["-C", "a", "commit", "v1.TodoCreated", #"{"id":"a1","text":"from A"}"#, "-m", "A1"]).status, 0)
    XCTAssertEqual(try sandbox.lstore(["-C", "a", "commit", "v1.TodoCompleted", #"{"id":"a1"}"#, "-m", "A2"]).status, 0)
    let pushA = try sandbox.lstore(["-C", "a", "push"])
    XCTAssertEqual(pushA.status, 0, pushA.description)
    XCTAssertTrue(pushA.stdout.contains("Pushed 2 events"), pushA.stdout)

    // B commits without having pulled: its push is refused with exit code 3.
    let events = """
      {"name":"v1.TodoCreated","args":{"id":"b1","text":"from B"}}
      {"name":"uiStateSet","args":{"value":{"filter":"active"}}}
      {"name":"v1.TodoCompleted","args":{"id":"b1"}}
      """
    XCTAssertEqual(try sandbox.lstore(["-C", "b", "commit", "-m", "B's work", "--file", "-"], stdin: events).status, 0)
    let refused = try sandbox.lstore(["-C", "b", "push"])
    XCTAssertEqual(refused.status, 3, refused.description)
    XCTAssertTrue(refused.stderr.contains("pull"), refused.stderr)

    // B pulls: A's events come first, B's are renumbered after them, state is right.
    let pull = try sandbox.lstore(["-C", "b", "pull", "--json"])
    XCTAssertEqual(pull.status, 0, pull.description)
    XCTAssertTrue(pull.stdout.contains(#""pulled":2"#), pull.stdout)
    XCTAssertTrue(pull.stdout.contains(#""rebased":3"#), pull.stdout)
    // One JSON object, its keys in the documented order, each moved event's old and new number.
    let report = try XCTUnwrap(jsonLines(pull).first)
    XCTAssertEqual(report["renumbered"] as? [[String]], [["e1", "e3"], ["e1+1", "e3+1"], ["e2", "e4"]], pull.stdout)
    XCTAssertTrue(report["stopped"] is NSNull, pull.stdout)
    XCTAssertTrue(pull.stdout.hasPrefix(#"{"pulled":2,"confirmed":0,"rebased":3,"alreadyOnRemote":0,"head":"e4","backendHead":"e2","renumbered":[["#), pull.stdout)
    let log = try sandbox.lstore(["-C", "b", "log", "--oneline", "--events", "--reverse"])
    XCTAssertEqual(log.lines, [
      #"e1 v1.TodoCreated {"id":"a1","text":"from A"}"#,
      #"e2 v1.TodoCompleted {"id":"a1"}"#,
      #"e3 v1.TodoCreated {"id":"b1","text":"from B"}"#,
      #"e3+1 uiStateSet {"id":"bs","value":{"filter":"active"}}"#,
      #"e4 v1.TodoCompleted {"id":"b1"}"#,
    ], log.description)
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("b"), "SELECT id || ':' || completed FROM todos ORDER BY id"),
                   "a1:1\nb1:1\n")
    let commits = try sandbox.lstore(["-C", "b", "log", "--oneline"])
    XCTAssertTrue(commits.lines.first?.contains("e3..e4 B's work") ?? false, commits.description)

    // B pushes (client-only events stay local); A pulls; both hold the same synced events.
    let pushB = try sandbox.lstore(["-C", "b", "push"])
    XCTAssertEqual(pushB.status, 0, pushB.description)
    XCTAssertTrue(pushB.stdout.contains("Pushed 2 events"), pushB.stdout)
    XCTAssertEqual(try sandbox.lstore(["-C", "a", "pull"]).status, 0)
    XCTAssertEqual(try syncedEvents(sandbox, "a"), try syncedEvents(sandbox, "b"))
    XCTAssertEqual(try syncedEvents(sandbox, "a").count, 4)
    let status = try sandbox.lstore(["-C", "a", "status", "--json"])
    XCTAssertTrue(status.stdout.contains(#""backendHead":"e4""#), status.stdout)
    XCTAssertTrue(status.stdout.contains(#""pending":0"#), status.stdout)
    // Confirmed events carry the backend's metadata, as LiveStore records it.
    let confirmed = try sandbox.lstore(["-C", "a", "log", "--json", "--from", "e3", "--to", "e3"])
    XCTAssertTrue(confirmed.stdout.contains(#""syncMetadata":{"_tag":"Some","value":{"createdAt":""#), confirmed.stdout)
  }

  func testHTTPAndTokenAuth() throws {
    let sandbox = try Sandbox()
    let server = try Server(sandbox: sandbox, extra: ["--auth-token", "s3cret-token"])
    defer { server.kill() }
    try sandbox.initStore("a")
    XCTAssertEqual(try sandbox.lstore(["-C", "a", "commit", "v1.TodoCreated", #"{"id":"t1","text":"x"}"#]).status, 0)
    let denied = try sandbox.lstore(["-C", "a", "push", server.url, "--auth-token", "wrong"])
    XCTAssertEqual(denied.status, 69, denied.description)
    let pushed = try sandbox.lstore(["-C", "a", "push", server.httpURL], env: ["LSTORE_AUTH_TOKEN": "s3cret-token"])
    XCTAssertEqual(pushed.status, 0, pushed.description)
    // Confirmed over HTTP as over WebSocket: the backend's createdAt is recorded.
    let confirmed = try sandbox.lstore(["-C", "a", "log", "--json"])
    XCTAssertTrue(confirmed.stdout.contains(#""syncMetadata":{"_tag":"Some","value":{"createdAt":""#), confirmed.stdout)
    try sandbox.initStore("b")
    let pulled = try sandbox.lstore(["-C", "b", "pull", server.url], env: ["LSTORE_AUTH_TOKEN": "s3cret-token"])
    XCTAssertEqual(pulled.status, 0, pulled.description)
    XCTAssertEqual(try syncedEvents(sandbox, "a"), try syncedEvents(sandbox, "b"))
    XCTAssertFalse(server.log.contains("s3cret-token"), "the token must never be logged")
  }

  /// A remote URL with a query (a LiveStore app's `…/?storeId=s&transport=http`) is refused
  /// before anything is sent, by `push`, `pull` and `remote add`, with the URL to give
  /// instead; nothing is marked pushed. (It was sent with a second query glued on, and a
  /// push answered 200 by the wrong handler was taken as stored.)
  func testARemoteURLWithAQueryIsRefusedAndNothingIsMarkedPushed() throws {
    let sandbox = try Sandbox()
    let server = try Server(sandbox: sandbox)
    defer { server.kill() }
    try sandbox.initStore("a")
    XCTAssertEqual(try sandbox.lstore(["-C", "a", "commit", "v1.TodoCreated", #"{"id":"t1","text":"x"}"#]).status, 0)
    for url in ["\(server.httpURL)/?storeId=todos&transport=http", "\(server.url)/?storeId=todos&transport=ws", "\(server.httpURL)#x"] {
      for command in [["push", url], ["pull", url], ["remote", "add", "origin", url]] {
        let refused = try sandbox.lstore(["-C", "a"] + command)
        XCTAssertEqual(refused.status, 64, "\(command): \(refused)")
        XCTAssertTrue(refused.stderr.contains("has a query or fragment; give the server's base URL"), refused.stderr)
      }
    }
    let status = try sandbox.lstore(["-C", "a", "status", "--json"])
    XCTAssertTrue(status.stdout.contains(#""pending":1,"#), status.stdout)
    XCTAssertEqual(try sandbox.shell("curl -s \(server.httpURL)/api/v1/stores/todos/head").stdout, #"{"head":0}"#)
    // The advice, followed: the base URL.
    XCTAssertEqual(try sandbox.lstore(["-C", "a", "push", server.httpURL]).status, 0)
    XCTAssertEqual(try sandbox.shell("curl -s \(server.httpURL)/api/v1/stores/todos/head").stdout, #"{"head":1}"#)
  }

  func testServerKilledMidPushLosesNoAcknowledgedEvent() throws {
    // Big enough that the push (pipelined, group-committed) is still running when the
    // server dies, and that the client has recorded a confirmed backend head by then (it
    // confirms every 50,000 events).
    let total = 100_000
    let sandbox = try Sandbox()
    var server = try Server(sandbox: sandbox)
    try sandbox.initStore("a")
    var lines = ""
    lines.reserveCapacity(total * 64)
    for i in 0..<total { lines += #"{"name":"v1.TodoCreated","args":{"id":"t\#(i)","text":"x"}}"# + "\n" }
    XCTAssertEqual(try sandbox.lstore(["-C", "a", "commit", "-m", "many", "--file", "-"], stdin: lines).status, 0)
    func recordedBackendHead() throws -> Int {
      let status = try sandbox.lstore(["-C", "a", "status", "--json"])
      return Int(status.stdout.components(separatedBy: #""backendHead":"e"#).last!.prefix { $0.isNumber }) ?? 0
    }
    let push = try sandbox.start(LStoreBinary.path, ["-C", "a", "push", server.url, "--quiet"])
    // Kill the server as soon as the client has confirmed something.
    let deadline = Date().addingTimeInterval(120)
    while push.process.isRunning, Date() < deadline, try recordedBackendHead() == 0 {
      Thread.sleep(forTimeInterval: 0.02)
    }
    server.kill(SIGKILL)
    let pushResult = try push.wait()
    XCTAssertNotEqual(pushResult.status, 0, "the kill should land mid-push (the push finished first): \(pushResult)")
    // Whatever the client recorded as confirmed must be on the restarted backend.
    let confirmed = try recordedBackendHead()
    XCTAssertGreaterThan(confirmed, 0, "the client confirmed nothing before the kill")
    server = try Server(sandbox: sandbox)
    defer { server.kill() }
    try sandbox.initStore("b")
    XCTAssertEqual(try sandbox.lstore(["-C", "b", "pull", server.url]).status, 0)
    let pulled = try sandbox.lstore(["-C", "b", "status", "--json"])
    let backendHead = Int(pulled.stdout.components(separatedBy: #""head":"e"#).last!.prefix { $0.isNumber }) ?? -1
    XCTAssertGreaterThanOrEqual(backendHead, confirmed, "the backend lost acknowledged events")
    XCTAssertLessThan(backendHead, total, "the kill landed after the whole push")
    // And the pusher can finish: pull (confirms its own events), push the rest.
    XCTAssertEqual(try sandbox.lstore(["-C", "a", "pull", server.url]).status, 0)
    let rest = try sandbox.lstore(["-C", "a", "push", server.url])
    XCTAssertEqual(rest.status, 0, rest.description)
    XCTAssertEqual(try sandbox.lstore(["-C", "b", "pull", server.url]).status, 0)
    let eventsA = try syncedEvents(sandbox, "a"), eventsB = try syncedEvents(sandbox, "b")
    XCTAssertEqual(eventsB.count, total)
    XCTAssertTrue(eventsA == eventsB, "the two stores hold different synced events")
  }

  func testLocalStoreAsRemote() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore("a")
    try sandbox.initStore("b")
    try sandbox.initStore("hub")
    XCTAssertEqual(try sandbox.lstore(["-C", "a", "commit", "v1.TodoCreated", #"{"id":"t1","text":"x"}"#]).status, 0)
    XCTAssertEqual(try sandbox.lstore(["-C", "a", "push", sandbox.path("hub")]).status, 0)
    let pulled = try sandbox.lstore(["-C", "b", "pull", sandbox.path("hub")])
    XCTAssertEqual(pulled.status, 0, pulled.description)
    XCTAssertEqual(try syncedEvents(sandbox, "a"), try syncedEvents(sandbox, "b"))
  }
}

/// Large events: 100 of them near the event limit would be an 80 MB push, more than any
/// backend takes in one message or body; pushes are split by bytes too, over every protocol.
final class LargeEventSyncTests: XCTestCase {
  func testAPushOfLargeEventsIsSplitAndEveryProtocolStoresIt() throws {
    let sandbox = try Sandbox()
    let server = try SyncEndToEndTests.Server(sandbox: sandbox)
    defer { server.kill() }
    // 25 events of 700,000 bytes of text: 17.5 MB, over the server's 16 MiB message and
    // body limits. (0.4 pushes were split by bytes already, as LiveStore's client does.)
    let text = String(repeating: "x", count: 700_000)
    let lines = (1...25).map { #"{"name":"v1.TodoCreated","args":{"id":"t\#($0)","text":"\#(text)"}}"# }
    try sandbox.write("big.ndjson", lines.joined(separator: "\n") + "\n")
    for (store, url, extra) in [("ws03", server.url, [String]()), ("http", server.httpURL, [])] {
      try sandbox.initStore(store, storeId: "big-\(store)")
      assertStatus(try sandbox.lstore("-C", store, "commit", "-m", "big", "--file", sandbox.path("big.ndjson")), 0)
      let pushed = try sandbox.lstore(["-C", store, "push", url] + extra)
      assertStatus(pushed, 0)
      XCTAssertTrue(pushed.stdout.contains("Pushed 25 events"), "\(store): \(pushed)")
      // Another clone gets them whole.
      try sandbox.initStore("\(store)-clone", storeId: "big-\(store)", clientId: "other")
      assertStatus(try sandbox.lstore(["-C", "\(store)-clone", "pull", url] + extra), 0)
      let count = try sandbox.lstore("-C", "\(store)-clone", "sql", "--json", "SELECT count(*) AS n, sum(length(text)) AS bytes FROM todos")
      XCTAssertEqual(count.stdout, #"{"n":25,"bytes":17500000}"# + "\n", "\(store): \(count)")
    }
  }
}
