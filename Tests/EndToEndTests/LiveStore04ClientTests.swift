import Foundation
import XCTest

/// lstore as a LiveStore 0.4 sync client, against a real `lstore serve` on a free loopback
/// port: the protocol detected per store, push and pull over WebSocket and HTTP with a
/// rebase, a live pull, and a backend that changed its id.
final class LiveStore04ClientTests: XCTestCase {
  typealias Server = SyncEndToEndTests.Server

  func run(_ sandbox: Sandbox, _ arguments: [String], status: Int32 = 0, file: StaticString = #filePath,
           line: UInt = #line) throws -> CommandResult {
    let result = try sandbox.lstore(arguments)
    XCTAssertEqual(result.status, status, result.description, file: file, line: line)
    return result
  }

  func syncedEvents(_ sandbox: Sandbox, _ store: String) throws -> [String] {
    let result = try sandbox.lstore(["-C", store, "log", "--json", "--reverse"])
    XCTAssertEqual(result.status, 0, result.description)
    // seqNum, name, args and origin identify an event; metadata differs per store, and so
    // does the rebase generation (`e3r1` where the event was rebased), which never leaves a store.
    return result.lines.filter { !$0.contains(#""clientOnly":true"#) }.map {
      $0.components(separatedBy: #","schemaHash""#)[0].replacingOccurrences(of: #"r[0-9]+""#, with: "\"", options: .regularExpression)
    }
  }

  func status(_ sandbox: Sandbox, _ store: String) throws -> [String: Any] {
    let result = try run(sandbox, ["-C", store, "status", "--json"])
    return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
  }

  /// Format-6 stores "a" and "b" (clients a and b), each with `origin` as its remote.
  private func twoFormat6Stores(_ sandbox: Sandbox, origin: String) throws {
    try sandbox.initStore("a", format: 6, clientId: "a", sessionId: "as")
    try sandbox.initStore("b", format: 6, clientId: "b", sessionId: "bs")
    for store in ["a", "b"] { _ = try run(sandbox, ["-C", store, "remote", "add", "origin", origin]) }
  }

  func testAFormat6AndAFormat4StoreSyncThroughOneServeEachWithItsProtocol() throws {
    let sandbox = try Sandbox()
    let server = try Server(sandbox: sandbox)
    defer { server.kill() }
    try sandbox.initStore("new", format: 6, clientId: "new", sessionId: "ns")
    try sandbox.initStore("old", format: 4, clientId: "old", sessionId: "os")
    // Detected once, at `remote add`: lstore serve speaks both, each store gets its own.
    XCTAssertTrue(try run(sandbox, ["-C", "new", "remote", "add", "origin", server.url]).stdout.contains("(livestore-0.4)"))
    XCTAssertTrue(try run(sandbox, ["-C", "old", "remote", "add", "origin", server.url]).stdout.contains("(livestore-0.3)"))
    XCTAssertTrue(try run(sandbox, ["-C", "new", "remote", "-v"]).stdout.contains("livestore-0.4"))
    XCTAssertTrue(try run(sandbox, ["-C", "old", "remote", "-v"]).stdout.contains("livestore-0.3"))
    XCTAssertEqual((try status(sandbox, "new")["remote"] as? [String: Any])?["protocol"] as? String, "livestore-0.4")
    XCTAssertTrue(try run(sandbox, ["-C", "old", "status"]).stdout.contains("livestore-0.3"))

    _ = try run(sandbox, ["-C", "new", "commit", "v1.TodoCreated", #"{"id":"n1","text":"from 0.4"}"#])
    XCTAssertTrue(try run(sandbox, ["-C", "new", "push"]).stdout.contains("Pushed 1 event"))
    _ = try run(sandbox, ["-C", "old", "pull"])
    _ = try run(sandbox, ["-C", "old", "commit", "v1.TodoCreated", #"{"id":"o1","text":"from 0.3"}"#])
    XCTAssertTrue(try run(sandbox, ["-C", "old", "push"]).stdout.contains("Pushed 1 event"))
    _ = try run(sandbox, ["-C", "new", "pull"])
    XCTAssertEqual(try syncedEvents(sandbox, "new"), try syncedEvents(sandbox, "old"))
    XCTAssertEqual(try syncedEvents(sandbox, "new").count, 2)
    XCTAssertTrue(server.log.contains("livestore-0.4") && server.log.contains("livestore-0.3"), server.log)
    // The format-6 store keeps the backend's id, as LiveStore 0.4 keeps it.
    let backendId = try status(sandbox, "new")["backendId"] as? String
    XCTAssertEqual(backendId?.count, 21)
  }

  /// The auth payload goes in the URL and in every request, as LiveStore's client sends it;
  /// it is never printed, and a wrong one is refused with the reason.
  func testTheAuthTokenOver04WebSocketAndHTTP() throws {
    let sandbox = try Sandbox()
    let server = try Server(sandbox: sandbox, extra: ["--auth-token", "s3cret-token"])
    defer { server.kill() }
    try sandbox.initStore("a", format: 6, clientId: "a", sessionId: "as")
    let env = ["LSTORE_AUTH_TOKEN": "s3cret-token"]
    let added = try sandbox.lstore(["-C", "a", "remote", "add", "origin", server.httpURL], env: env)
    XCTAssertTrue(added.stdout.contains("(livestore-0.4)"), added.description)
    _ = try run(sandbox, ["-C", "a", "commit", "v1.TodoCreated", #"{"id":"t1","text":"x"}"#])
    var outputs: [String] = [added.stdout + added.stderr]
    for url in [server.httpURL, server.url] {
      let denied = try sandbox.lstore(["-C", "a", "push", url, "--protocol", "livestore-0.4", "--auth-token", "wrong-token"])
      XCTAssertEqual(denied.status, 69, denied.description)
      XCTAssertTrue(denied.stderr.contains("auth token"), denied.stderr)
      outputs.append(denied.stdout + denied.stderr)
    }
    let pushed = try sandbox.lstore(["-C", "a", "push"], env: env)
    XCTAssertEqual(pushed.status, 0, pushed.description)
    try sandbox.initStore("b", format: 6, clientId: "b", sessionId: "bs")
    let pulled = try sandbox.lstore(["-C", "b", "pull", server.url], env: env)
    XCTAssertEqual(pulled.status, 0, pulled.description)
    outputs += [pushed.stdout + pushed.stderr, pulled.stdout + pulled.stderr]
    XCTAssertEqual(try syncedEvents(sandbox, "a"), try syncedEvents(sandbox, "b"))
    for output in outputs + [server.log] {
      XCTAssertFalse(output.contains("s3cret") || output.contains("wrong-token"), output)
    }
  }

  /// A format-4 store has nowhere to keep a backend id: told to speak 0.4, it learns the id
  /// on every command (a cursor with an empty id, which the backend answers by naming its own).
  func testAFormat4StoreSpeaks04WhenTold() throws {
    let sandbox = try Sandbox()
    let server = try Server(sandbox: sandbox)
    defer { server.kill() }
    try sandbox.initStore("a", format: 4, clientId: "a", sessionId: "as")
    try sandbox.initStore("b", format: 4, clientId: "b", sessionId: "bs")
    _ = try run(sandbox, ["-C", "a", "remote", "add", "origin", server.httpURL, "--protocol", "livestore-0.4"])
    _ = try run(sandbox, ["-C", "b", "remote", "add", "origin", server.url, "--protocol", "livestore-0.4"])
    _ = try run(sandbox, ["-C", "a", "commit", "v1.TodoCreated", #"{"id":"t1","text":"x"}"#])
    _ = try run(sandbox, ["-C", "a", "push"])
    _ = try run(sandbox, ["-C", "b", "pull"])
    _ = try run(sandbox, ["-C", "b", "commit", "v1.TodoCompleted", #"{"id":"t1"}"#])
    _ = try run(sandbox, ["-C", "b", "push"])
    for store in ["a", "b"] {
      XCTAssertTrue(try run(sandbox, ["-C", store, "pull"]).stdout.contains(store == "a" ? "Pulled 1 event" : "Already up to date"))
      XCTAssertNil(try status(sandbox, store)["backendId"], "format 4 keeps no backend id")
    }
    XCTAssertEqual(try syncedEvents(sandbox, "a"), try syncedEvents(sandbox, "b"))
  }

  /// A branch other than main travels on a store id of its own over 0.4 too; that store's
  /// backend id is not taken for main's.
  func testABranchPushedAndFetchedOver04() throws {
    let sandbox = try Sandbox()
    let server = try Server(sandbox: sandbox)
    defer { server.kill() }
    try twoFormat6Stores(sandbox, origin: server.url)
    _ = try run(sandbox, ["-C", "a", "commit", "v1.TodoCreated", #"{"id":"t1","text":"main"}"#])
    _ = try run(sandbox, ["-C", "a", "push"])
    let mainId = try status(sandbox, "a")["backendId"] as? String
    _ = try run(sandbox, ["-C", "a", "switch", "-c", "feat"])
    _ = try run(sandbox, ["-C", "a", "commit", "v1.TodoCreated", #"{"id":"f1","text":"feat"}"#])
    XCTAssertTrue(try run(sandbox, ["-C", "a", "push"]).stdout.contains("Pushed 2 events"))
    _ = try run(sandbox, ["-C", "b", "pull"])
    let switched = try run(sandbox, ["-C", "b", "switch", "feat"])
    XCTAssertTrue(switched.stderr.contains("Fetched branch 'feat' from origin (2 events"), switched.stderr)
    XCTAssertEqual(try syncedEvents(sandbox, "b"), try syncedEvents(sandbox, "a"))
    _ = try run(sandbox, ["-C", "a", "switch", "main"])
    XCTAssertEqual(try status(sandbox, "a")["backendId"] as? String, mainId)
  }

  /// A remote whose backend could not be asked at `remote add` (or added before lstore spoke
  /// 0.4) is asked on its first use, and the answer kept.
  func testARemoteWithoutAProtocolIsAskedOnFirstUse() throws {
    let sandbox = try Sandbox()
    let probe = try Server(sandbox: sandbox, data: "probe")
    let port = probe.port
    probe.kill()
    try sandbox.initStore("a", format: 6, clientId: "a", sessionId: "as")
    let added = try run(sandbox, ["-C", "a", "remote", "add", "origin", "ws://127.0.0.1:\(port)"])
    XCTAssertTrue(added.stderr.contains("asked again on first use"), added.description)
    XCTAssertTrue(try run(sandbox, ["-C", "a", "remote", "-v"]).stdout.contains("not detected yet"))
    let server = try Server(sandbox: sandbox, data: "d", port: port)
    defer { server.kill() }
    _ = try run(sandbox, ["-C", "a", "commit", "v1.TodoCreated", #"{"id":"t1","text":"x"}"#])
    _ = try run(sandbox, ["-C", "a", "push"])
    let listed = try run(sandbox, ["-C", "a", "remote", "list", "--json"]).stdout
    XCTAssertTrue(listed.contains(#""protocol":"livestore-0.4""#), listed)
    XCTAssertNotNil(try status(sandbox, "a")["backendId"] as? String, "learned before the first push")
  }

  /// Two format-6 clones, one over WebSocket and one over HTTP, commit concurrently: the
  /// second push is refused, its pull rebases, and both end with the same history.
  func testPushAndPullOverWebSocketAndHTTPWithARebase() throws {
    let sandbox = try Sandbox()
    let server = try Server(sandbox: sandbox)
    defer { server.kill() }
    try sandbox.initStore("ws", format: 6, clientId: "alice", sessionId: "as")
    try sandbox.initStore("http", format: 6, clientId: "bob", sessionId: "bs")
    _ = try run(sandbox, ["-C", "ws", "remote", "add", "origin", server.url, "--protocol", "livestore-0.4"])
    XCTAssertTrue(try run(sandbox, ["-C", "http", "remote", "add", "origin", server.httpURL]).stdout.contains("(livestore-0.4)"))

    _ = try run(sandbox, ["-C", "ws", "commit", "v1.TodoCreated", #"{"id":"a1","text":"from A"}"#, "-m", "A1"])
    _ = try run(sandbox, ["-C", "ws", "commit", "v1.TodoCompleted", #"{"id":"a1"}"#, "-m", "A2"])
    _ = try run(sandbox, ["-C", "http", "commit", "v1.TodoCreated", #"{"id":"b1","text":"from B"}"#, "-m", "B1"])
    XCTAssertTrue(try run(sandbox, ["-C", "ws", "push"]).stdout.contains("Pushed 2 events"))
    let refused = try run(sandbox, ["-C", "http", "push"], status: 3)
    XCTAssertTrue(refused.stderr.contains("lstore pull"), refused.stderr)

    let pull = try run(sandbox, ["-C", "http", "pull", "--json"])
    XCTAssertTrue(pull.stdout.contains(#""pulled":2"#) && pull.stdout.contains(#""rebased":1"#), pull.stdout)
    XCTAssertTrue(try run(sandbox, ["-C", "http", "push"]).stdout.contains("Pushed 1 event"))
    _ = try run(sandbox, ["-C", "ws", "pull"])
    XCTAssertEqual(try syncedEvents(sandbox, "ws"), try syncedEvents(sandbox, "http"))
    let log = try run(sandbox, ["-C", "ws", "log", "--oneline", "--events", "--reverse"])
    XCTAssertEqual(log.lines, [#"e1 v1.TodoCreated {"id":"a1","text":"from A"}"#, #"e2 v1.TodoCompleted {"id":"a1"}"#,
                               #"e3 v1.TodoCreated {"id":"b1","text":"from B"}"#], log.description)
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("http", format: 6), "SELECT id || ':' || completed FROM todos ORDER BY id"),
                   "a1:1\nb1:0\n")
    let ws = try status(sandbox, "ws")
    let http = try status(sandbox, "http")
    XCTAssertEqual(ws["backendHead"] as? String, "e3")
    XCTAssertEqual(http["pending"] as? Int, 0)
    XCTAssertNotNil(ws["backendId"])
    XCTAssertEqual(ws["backendId"] as? String, http["backendId"] as? String, "one backend, one id, over both transports")
    // Pages: more events than one 0.4 page (100) come back in order over both transports.
    let many = (1...250).map { #"{"name":"v1.TodoCreated","args":{"id":"m\#($0)","text":"x"}}"# }.joined(separator: "\n")
    let committed = try sandbox.lstore(["-C", "ws", "commit", "--file", "-", "-m", "many"], stdin: many)
    XCTAssertEqual(committed.status, 0, committed.description)
    _ = try run(sandbox, ["-C", "ws", "push"])
    try sandbox.initStore("fresh-http", format: 6, clientId: "carol", sessionId: "cs")
    try sandbox.initStore("fresh-ws", format: 6, clientId: "dave", sessionId: "ds")
    _ = try run(sandbox, ["-C", "fresh-http", "pull", server.httpURL])
    _ = try run(sandbox, ["-C", "fresh-ws", "pull", server.url])
    XCTAssertEqual(try syncedEvents(sandbox, "fresh-http"), try syncedEvents(sandbox, "ws"))
    XCTAssertEqual(try syncedEvents(sandbox, "fresh-ws"), try syncedEvents(sandbox, "ws"))
  }

  func testPullFollowReceivesALiveEventOver04() throws {
    let sandbox = try Sandbox()
    let server = try Server(sandbox: sandbox)
    defer { server.kill() }
    try twoFormat6Stores(sandbox, origin: server.url)
    let follower = try sandbox.start(LStoreBinary.path, ["-C", "a", "pull", "--follow"])
    defer {
      kill(follower.process.processIdentifier, SIGINT)
      _ = try? follower.wait()
    }
    try waitFor("the follower") { ((try? String(contentsOfFile: follower.errPath, encoding: .utf8)) ?? "").contains("Following") }
    _ = try run(sandbox, ["-C", "b", "commit", "v1.TodoCreated", #"{"id":"live","text":"x"}"#])
    _ = try run(sandbox, ["-C", "b", "push"])
    try waitFor("the live event") {
      try sandbox.lstore(["-C", "a", "log", "--oneline", "--events"]).stdout.contains(#""id":"live""#)
    }
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("a", format: 6), "SELECT id FROM todos"), "live\n")
    XCTAssertTrue(follower.process.isRunning)

    // Over HTTP, which has no live stream, the follower asks again until the event comes.
    try sandbox.initStore("c", format: 6, clientId: "c", sessionId: "cs")
    let poller = try sandbox.start(LStoreBinary.path, ["-C", "c", "pull", "--follow", server.httpURL])
    defer {
      kill(poller.process.processIdentifier, SIGINT)
      _ = try? poller.wait()
    }
    try waitFor("the polling follower") { ((try? String(contentsOfFile: poller.errPath, encoding: .utf8)) ?? "").contains("Following") }
    _ = try run(sandbox, ["-C", "b", "commit", "v1.TodoCreated", #"{"id":"polled","text":"y"}"#])
    _ = try run(sandbox, ["-C", "b", "push"])
    try waitFor("the polled event") {
      try sandbox.lstore(["-C", "c", "log", "--oneline", "--events"]).stdout.contains(#""id":"polled""#)
    }
    XCTAssertEqual(try syncedEvents(sandbox, "c"), try syncedEvents(sandbox, "b"))
  }

  /// A following 0.4 pull whose server goes away reconnects with back-off, pulls again from
  /// what it applied (under a new request id), and keeps receiving live events.
  func testAFollowing04PullReconnectsAndCatchesUp() throws {
    let sandbox = try Sandbox()
    var server: Server? = try Server(sandbox: sandbox, data: "d")
    let port = server!.port
    let url = server!.url
    try sandbox.initStore("a", format: 6, clientId: "a", sessionId: "as")
    try sandbox.initStore("b", format: 6, clientId: "b", sessionId: "bs")
    _ = try run(sandbox, ["-C", "b", "commit", "v1.TodoCreated", #"{"id":"before","text":"x"}"#])
    _ = try run(sandbox, ["-C", "b", "push", url])
    let follower = try sandbox.start(LStoreBinary.path, ["-C", "a", "pull", "--follow", url, "--protocol", "livestore-0.4"])
    defer {
      kill(follower.process.processIdentifier, SIGINT)
      _ = try? follower.wait()
      server?.kill()
    }
    let stderr = { (try? String(contentsOfFile: follower.errPath, encoding: .utf8)) ?? "" }
    try waitFor("the follower") { stderr().contains("Following") }
    server!.kill(SIGKILL)
    try waitFor("the lost line") { stderr().contains("Connection to \(url) lost; reconnecting") }
    server = try Server(sandbox: sandbox, data: "d", port: port)
    try waitFor("the reconnected line") { stderr().contains("Reconnected to \(url)") }
    _ = try run(sandbox, ["-C", "b", "commit", "v1.TodoCreated", #"{"id":"after","text":"y"}"#])
    _ = try run(sandbox, ["-C", "b", "push", url])
    try waitFor("the live event after the reconnect") {
      try sandbox.lstore(["-C", "a", "log", "--oneline", "--events"]).stdout.contains(#""id":"after""#)
    }
    XCTAssertEqual(try syncedEvents(sandbox, "a"), try syncedEvents(sandbox, "b"))
    XCTAssertTrue(follower.process.isRunning)
  }

  /// The backend was replaced (a new `lstore serve` data directory: a new backend id). lstore
  /// stops, changes nothing, and says what to do; doing it syncs the store's work there.
  func testABackendWithAnotherIdStopsAndTheAdviceWorks() throws {
    let sandbox = try Sandbox()
    let first = try Server(sandbox: sandbox, data: "first")
    try sandbox.initStore("a", format: 6, clientId: "a", sessionId: "as")
    _ = try run(sandbox, ["-C", "a", "remote", "add", "origin", first.url])
    _ = try run(sandbox, ["-C", "a", "commit", "v1.TodoCreated", #"{"id":"t1","text":"one"}"#])
    _ = try run(sandbox, ["-C", "a", "commit", "v1.TodoCreated", #"{"id":"t2","text":"two"}"#])
    _ = try run(sandbox, ["-C", "a", "push"])
    let firstId = try status(sandbox, "a")["backendId"] as? String
    XCTAssertNotNil(firstId)
    first.kill()
    // Unconfirmed work made while the backend was away.
    _ = try run(sandbox, ["-C", "a", "commit", "v1.TodoCompleted", #"{"id":"t1"}"#])

    let second = try Server(sandbox: sandbox, data: "second")
    defer { second.kill() }
    let before = try run(sandbox, ["-C", "a", "log", "--json"]).stdout
    for command in ["pull", "push"] {
      let stopped = try run(sandbox, ["-C", "a", command, second.url], status: 2)
      XCTAssertTrue(stopped.stderr.contains("reset or replaced"), stopped.stderr)
      XCTAssertTrue(stopped.stderr.contains("lstore pull --adopt-backend"), stopped.stderr)
      XCTAssertEqual(try run(sandbox, ["-C", "a", "log", "--json"]).stdout, before, "nothing changed")
      XCTAssertEqual(try status(sandbox, "a")["backendId"] as? String, firstId)
    }
    // Someone else already synced with the new backend.
    try sandbox.initStore("c", format: 6, clientId: "c", sessionId: "cs")
    _ = try run(sandbox, ["-C", "c", "commit", "v1.TodoCreated", #"{"id":"c1","text":"theirs"}"#])
    _ = try run(sandbox, ["-C", "c", "push", second.url])

    // The advice, followed: a's events (two the old backend had confirmed) are rebased onto
    // the new backend's, and pushed.
    let adopted = try run(sandbox, ["-C", "a", "pull", "--adopt-backend", second.url, "--json"])
    XCTAssertTrue(adopted.stdout.contains(#""pulled":1"#) && adopted.stdout.contains(#""rebased":3"#), adopted.stdout)
    XCTAssertEqual(try status(sandbox, "a")["pending"] as? Int, 3)
    XCTAssertTrue(try run(sandbox, ["-C", "a", "push", second.url]).stdout.contains("Pushed 3 events"))
    let now = try status(sandbox, "a")
    XCTAssertNotEqual(now["backendId"] as? String, firstId)
    XCTAssertEqual(now["pending"] as? Int, 0)
    _ = try run(sandbox, ["-C", "a", "fsck"])
    try sandbox.initStore("b", format: 6, clientId: "b", sessionId: "bs")
    _ = try run(sandbox, ["-C", "b", "pull", second.url])
    XCTAssertEqual(try syncedEvents(sandbox, "b"), try syncedEvents(sandbox, "a"))
    XCTAssertEqual(try syncedEvents(sandbox, "b").count, 4)
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("b", format: 6), "SELECT id || ':' || completed FROM todos ORDER BY id"),
                   "c1:0\nt1:1\nt2:0\n")
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("a", format: 6), "SELECT id || ':' || completed FROM todos ORDER BY id"),
                   "c1:0\nt1:1\nt2:0\n")
  }
}
