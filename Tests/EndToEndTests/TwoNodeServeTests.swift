import Foundation
import XCTest

/// Two `lstore serve --database postgres://…` nodes on one PostgreSQL database
/// (LSTORE_TEST_POSTGRES_URL; `scripts/test.sh` starts a throwaway cluster for it), used as
/// users use them: `lstore push` and `lstore pull` against either node.
final class TwoNodeServeTests: XCTestCase {
  var databaseURL: String!

  override func setUpWithError() throws {
    guard let url = ProcessInfo.processInfo.environment["LSTORE_TEST_POSTGRES_URL"] else {
      throw XCTSkip("LSTORE_TEST_POSTGRES_URL is not set: run `bash scripts/test.sh`, or `source scripts/postgres-cluster.sh && postgres_cluster_start` first")
    }
    databaseURL = url
  }

  func node(_ sandbox: Sandbox) throws -> SyncEndToEndTests.Server {
    try SyncEndToEndTests.Server(sandbox: sandbox, extra: ["--database", databaseURL])
  }

  /// A store id of its own, so runs and tests never share one.
  func freshStoreId() -> String { "e2e-\(UUID().uuidString.prefix(13).lowercased())" }

  /// The synced events of a store, one line each (seqNum, name, args, origin).
  func syncedEvents(_ sandbox: Sandbox, _ store: String) throws -> [String] {
    let result = try sandbox.lstore(["-C", store, "log", "--json", "--reverse"])
    XCTAssertEqual(result.status, 0, result.description)
    return result.lines.compactMap { line -> String? in
      guard !line.contains(#""clientOnly":true"#) else { return nil }
      return line.components(separatedBy: #","schemaHash""#)[0]
    }
  }

  /// Pushes what `store` has, pulling (and so rebasing) whenever the backend refuses
  /// because someone else pushed first. Returns how many refusals it took.
  @discardableResult
  func pushRetrying(_ sandbox: Sandbox, _ store: String, _ url: String, attempts: Int = 200) throws -> Int {
    for attempt in 0..<attempts {
      let push = try sandbox.lstore(["-C", store, "push", url, "--quiet"])
      if push.status == 0 { return attempt }
      guard push.status == 3 else { throw SandboxError(message: "push from \(store) failed: \(push)") }
      let pull = try sandbox.lstore(["-C", store, "pull", url, "--quiet"])
      guard pull.status == 0 else { throw SandboxError(message: "pull into \(store) failed: \(pull)") }
    }
    throw SandboxError(message: "\(store) was refused \(attempts) times")
  }

  func testTwentyClientsOnTwoNodesMakeOneGapFreeOrder() throws {
    let sandbox = try Sandbox()
    let (a, b) = (try node(sandbox), try node(sandbox))
    defer {
      a.kill()
      b.kill()
    }
    let storeId = freshStoreId()
    let clients = 20, perClient = 3
    for client in 0..<clients {
      try sandbox.initStore("c\(client)", storeId: storeId, clientId: "client\(client)", sessionId: "s\(client)")
    }
    let failures = LockedList()
    let shared = Unchecked((sandbox, a.url, b.url, self))
    DispatchQueue.concurrentPerform(iterations: clients) { client in
      let (sandbox, urlA, urlB, test) = shared.value
      let url = client % 2 == 0 ? urlA : urlB
      do {
        for index in 0..<perClient {
          let commit = try sandbox.lstore(["-C", "c\(client)", "commit", "v1.TodoCreated",
                                           #"{"id":"c\#(client)-\#(index)","text":"x"}"#])
          guard commit.status == 0 else { throw SandboxError(message: "commit: \(commit)") }
          try test.pushRetrying(sandbox, "c\(client)", url)
        }
      } catch {
        failures.append("client \(client): \(error)")
      }
    }
    XCTAssertEqual(failures.items, [])
    // Everyone pulls (from either node) and holds the same eventlog.
    for client in 0..<clients {
      let pull = try sandbox.lstore(["-C", "c\(client)", "pull", client % 2 == 0 ? b.url : a.url, "--quiet"])
      XCTAssertEqual(pull.status, 0, pull.description)
    }
    let reference = try syncedEvents(sandbox, "c0")
    XCTAssertEqual(reference.count, clients * perClient)
    for client in 1..<clients {
      XCTAssertTrue(try syncedEvents(sandbox, "c\(client)") == reference, "c\(client) holds a different eventlog")
    }
    // One gap-free order with every todo exactly once.
    let seqNums = reference.compactMap { line in
      line.components(separatedBy: #""seqNum":"e"#).dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) }
    }
    XCTAssertEqual(seqNums, Array(1...(clients * perClient)))
    let ids = reference.compactMap { line in
      line.components(separatedBy: #""id":""#).dropFirst().first.map { String($0.prefix { $0 != "\"" }) }
    }
    XCTAssertEqual(Set(ids).count, clients * perClient, "an event is missing or doubled: \(ids)")
    let head = try sandbox.shell("curl -s \(a.httpURL)/api/v1/stores/\(storeId)/head")
    XCTAssertEqual(head.stdout, #"{"head":\#(clients * perClient)}"#)
  }

  /// SIGKILL of the node a big push is going to: everything the client was told is stored
  /// is on the other node, and the client carries on there.
  func testANodeKilledMidPushLosesNoAcknowledgedEventAndItsClientCarriesOnElsewhere() throws {
    // Big enough that the push (pipelined, group-committed) is still running when the node
    // dies, and that the client has recorded a confirmed backend head by then (it confirms
    // every 50,000 events).
    let total = 80_000
    let sandbox = try Sandbox()
    let (a, b) = (try node(sandbox), try node(sandbox))
    defer { b.kill() }
    let storeId = freshStoreId()
    try sandbox.initStore("pusher", storeId: storeId, clientId: "pusher")
    try sandbox.initStore("other", storeId: storeId, clientId: "other")
    var lines = ""
    lines.reserveCapacity(total * 64)
    for i in 0..<total { lines += #"{"name":"v1.TodoCreated","args":{"id":"t\#(i)","text":"x"}}"# + "\n" }
    XCTAssertEqual(try sandbox.lstore(["-C", "pusher", "commit", "-m", "many", "--file", "-"], stdin: lines).status, 0)
    func recordedBackendHead() throws -> Int {
      let status = try sandbox.lstore(["-C", "pusher", "status", "--json"])
      return Int(status.stdout.components(separatedBy: #""backendHead":"e"#).last!.prefix { $0.isNumber }) ?? 0
    }
    // A live follower on the surviving node sees the pushes made on the doomed one.
    let follower = try sandbox.start(LStoreBinary.path, ["-C", "other", "pull", "--follow", b.url])
    defer {
      kill(follower.process.processIdentifier, SIGINT)
      _ = try? follower.wait()
    }
    let push = try sandbox.start(LStoreBinary.path, ["-C", "pusher", "push", a.url, "--quiet"])
    // Kill node A as soon as the client has confirmed something.
    let deadline = Date().addingTimeInterval(120)
    while push.process.isRunning, Date() < deadline, try recordedBackendHead() == 0 {
      Thread.sleep(forTimeInterval: 0.02)
    }
    a.kill(SIGKILL)
    let pushResult = try push.wait()
    XCTAssertNotEqual(pushResult.status, 0, "the kill should land mid-push (the push finished first): \(pushResult)")
    // Everything the pusher recorded as confirmed is on node B.
    let confirmed = try recordedBackendHead()
    XCTAssertGreaterThan(confirmed, 0, "the client confirmed nothing before the kill")
    let head = try sandbox.shell("curl -s \(b.httpURL)/api/v1/stores/\(storeId)/head").stdout
    let stored = Int(head.filter(\.isNumber)) ?? -1
    XCTAssertGreaterThanOrEqual(stored, confirmed, "node B lacks acknowledged events")
    XCTAssertLessThan(stored, total, "the kill landed after the whole push")
    // The pusher reconnects to node B and finishes.
    XCTAssertEqual(try sandbox.lstore(["-C", "pusher", "pull", b.url, "--quiet"]).status, 0)
    try pushRetrying(sandbox, "pusher", b.url)
    // The follower on node B got it all live.
    let followDeadline = Date().addingTimeInterval(60)
    var followed: [String] = []
    while Date() < followDeadline {
      followed = try syncedEvents(sandbox, "other")
      if followed.count >= total { break }
      Thread.sleep(forTimeInterval: 0.2)
    }
    XCTAssertEqual(followed.count, total, "the follower on node B missed events")
    XCTAssertTrue(try syncedEvents(sandbox, "pusher") == followed, "pusher and follower differ")
  }

  /// Runs SQL as the cluster's superuser, with psql: LSTORE_TEST_POSTGRES_ADMIN_URL and
  /// LSTORE_TEST_POSTGRES_BIN, which scripts/postgres-cluster.sh exports beside the URL.
  func superuser(_ sandbox: Sandbox, _ statements: String...) throws -> [String] {
    let environment = ProcessInfo.processInfo.environment
    guard let admin = environment["LSTORE_TEST_POSTGRES_ADMIN_URL"], let bin = environment["LSTORE_TEST_POSTGRES_BIN"] else {
      throw XCTSkip("LSTORE_TEST_POSTGRES_ADMIN_URL and LSTORE_TEST_POSTGRES_BIN are not set: start the cluster with scripts/postgres-cluster.sh")
    }
    let result = try sandbox.start(bin + "/psql", [admin, "-At", "-v", "ON_ERROR_STOP=1"] + statements.flatMap { ["-c", $0] }).wait()
    guard result.status == 0 else { throw SandboxError(message: "psql failed: \(result)") }
    return result.lines
  }

  /// Commits one `v1.TodoCreated` per number in the "pusher" store.
  func commitTodos(_ sandbox: Sandbox, _ range: ClosedRange<Int>) throws {
    for i in range {
      XCTAssertEqual(try sandbox.lstore(["-C", "pusher", "commit", "v1.TodoCreated", #"{"id":"t\#(i)","text":"x"}"#]).status, 0)
    }
  }

  /// Stores "pusher" and "follower" of a fresh store id; events 1–3 committed and pushed to
  /// `a`, and a `pull --follow` of the follower on `b` that has them. The caller stops it.
  func followerCaughtUpWithThreeEvents(_ sandbox: Sandbox, pushedTo a: SyncEndToEndTests.Server,
                                       followingOn b: SyncEndToEndTests.Server) throws -> RunningCommand {
    let storeId = freshStoreId()
    try sandbox.initStore("pusher", storeId: storeId, clientId: "pusher")
    try sandbox.initStore("follower", storeId: storeId, clientId: "follower")
    try commitTodos(sandbox, 1...3)
    XCTAssertEqual(try sandbox.lstore(["-C", "pusher", "push", a.url, "--quiet"]).status, 0)
    let follower = try sandbox.start(LStoreBinary.path, ["-C", "follower", "pull", "--follow", b.url])
    XCTAssertEqual(try waitForEvents(sandbox, "follower", count: 3).count, 3, "the follower never caught up to begin with")
    return follower
  }

  /// The follower ends with the pusher's eight events: gap-free, in order, the same.
  func assertFollowerHasThePushersEightEvents(_ sandbox: Sandbox, file: StaticString = #filePath, line: UInt = #line) throws {
    let followed = try waitForEvents(sandbox, "follower", count: 8)
    XCTAssertEqual(followed.count, 8, "the follower on node B missed events: \(followed)", file: file, line: line)
    let seqNums = followed.compactMap { line in
      line.components(separatedBy: #""seqNum":"e"#).dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) }
    }
    XCTAssertEqual(seqNums, Array(1...8), "gap-free, in order", file: file, line: line)
    XCTAssertTrue(try syncedEvents(sandbox, "pusher") == followed, "pusher and follower differ", file: file, line: line)
  }

  /// The events a store holds (synced or not), polled until there are `count` of them.
  func waitForEvents(_ sandbox: Sandbox, _ store: String, count: Int, seconds: TimeInterval = 60) throws -> [String] {
    let deadline = Date().addingTimeInterval(seconds)
    var events = try syncedEvents(sandbox, store)
    while events.count < count && Date() < deadline {
      Thread.sleep(forTimeInterval: 0.1)
      events = try syncedEvents(sandbox, store)
    }
    return events
  }

  /// A node whose database connections all drop, and cannot come back while the other node
  /// takes pushes, misses those pushes' notifications. Once it reconnects it reads them from
  /// the database, so its live client gets every event, in order, without a gap.
  ///
  /// Node B logs in as a role of its own (a member of the URL's role), so the test can cut
  /// just B's connections (`pg_terminate_backend`) and keep it out (`NOLOGIN`) meanwhile.
  func testANodeWhoseDatabaseConnectionsDropCatchesItsLiveClientUp() throws {
    let sandbox = try Sandbox()
    let url = try XCTUnwrap(URLComponents(string: databaseURL))
    let role = "lstore_e2e_\(UUID().uuidString.prefix(8).lowercased())"
    _ = try superuser(sandbox, "CREATE ROLE \(role) LOGIN PASSWORD 'node-b' IN ROLE \(url.user!)")
    defer { _ = try? superuser(sandbox, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '\(role)'",
                               "DROP ROLE IF EXISTS \(role)") }
    var asB = url
    asB.user = role
    asB.password = "node-b"
    let a = try node(sandbox)
    let b = try SyncEndToEndTests.Server(sandbox: sandbox, extra: ["--database", asB.string!])
    defer {
      a.kill()
      b.kill()
    }
    let follower = try followerCaughtUpWithThreeEvents(sandbox, pushedTo: a, followingOn: b)
    defer {
      kill(follower.process.processIdentifier, SIGINT)
      _ = try? follower.wait()
    }

    // Cut node B off: no new logins for its role, then every connection it has.
    let cut = try superuser(sandbox, "ALTER ROLE \(role) NOLOGIN",
                            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '\(role)') AS t")
    XCTAssertGreaterThanOrEqual(Int(cut.last ?? "") ?? 0, 1, "node B had no connection to cut")
    let downDeadline = Date().addingTimeInterval(30)
    var health = try sandbox.shell("curl -s \(b.httpURL)/health").stdout
    while !health.contains(#""listening":false"#) && Date() < downDeadline {
      Thread.sleep(forTimeInterval: 0.05)
      health = try sandbox.shell("curl -s \(b.httpURL)/health").stdout
    }
    XCTAssertTrue(health.contains(#""listening":false"#), "node B still listens: \(health)")

    // Pushes on node A while B hears nothing: their notifications never reach B.
    try commitTodos(sandbox, 4...8)
    XCTAssertEqual(try sandbox.lstore(["-C", "pusher", "push", a.url, "--quiet"]).status, 0)
    health = try sandbox.shell("curl -s \(b.httpURL)/health").stdout
    XCTAssertTrue(health.contains(#""listening":false"#), "node B got back in too early for the test to mean anything: \(health)")

    // B may log in again: it reconnects on its own and catches its follower up.
    _ = try superuser(sandbox, "ALTER ROLE \(role) LOGIN")
    try assertFollowerHasThePushersEightEvents(sandbox)
    XCTAssertTrue(follower.process.isRunning, "the follower stayed connected throughout")
  }

  /// A database restart (`pg_ctl stop -m fast` and start: every session of both nodes cut,
  /// the server away for a moment): both nodes reconnect on their own, pushes work again,
  /// and a live client of one node gets every event pushed on the other, in order.
  func testBothNodesServeAgainAfterADatabaseRestart() throws {
    let environment = ProcessInfo.processInfo.environment
    guard let cluster = environment["PG_CLUSTER_DIR"], let port = environment["PG_PORT"] else {
      throw XCTSkip("PG_CLUSTER_DIR is not set: the restart needs the cluster of scripts/postgres-cluster.sh")
    }
    let sandbox = try Sandbox()
    let (a, b) = (try node(sandbox), try node(sandbox))
    defer {
      a.kill()
      b.kill()
    }
    let follower = try followerCaughtUpWithThreeEvents(sandbox, pushedTo: a, followingOn: b)
    defer {
      kill(follower.process.processIdentifier, SIGINT)
      _ = try? follower.wait()
    }

    let script = LStoreBinary.repositoryRoot.appendingPathComponent("scripts/postgres-cluster.sh").path
    let restart = try sandbox.shell("source '\(script)' && postgres_cluster_restart",
                                    env: ["PG_CLUSTER_DIR": cluster, "PG_PORT": port])
    XCTAssertEqual(restart.status, 0, "the restart failed: \(restart)")

    // The first push may meet a pooled connection the restart killed: it fails with nothing
    // acknowledged (or, if a commit landed unacknowledged, is refused and rebased), and the
    // client's next attempt gets through.
    try commitTodos(sandbox, 4...8)
    let deadline = Date().addingTimeInterval(60)
    var push = try sandbox.lstore(["-C", "pusher", "push", a.url, "--quiet"])
    while push.status != 0 && Date() < deadline {
      if push.status == 3 { _ = try sandbox.lstore(["-C", "pusher", "pull", a.url, "--quiet"]) }
      Thread.sleep(forTimeInterval: 0.2)
      push = try sandbox.lstore(["-C", "pusher", "push", a.url, "--quiet"])
    }
    XCTAssertEqual(push.status, 0, "node A never took pushes again: \(push)")
    try assertFollowerHasThePushersEightEvents(sandbox)
    for server in [a, b] {
      let healthDeadline = Date().addingTimeInterval(30)
      var health = try sandbox.shell("curl -s \(server.httpURL)/health").stdout
      while !health.contains(#""reachable":true,"listening":true"#) && Date() < healthDeadline {
        Thread.sleep(forTimeInterval: 0.1)
        health = try sandbox.shell("curl -s \(server.httpURL)/health").stdout
      }
      XCTAssertTrue(health.contains(#""reachable":true,"listening":true"#), "a node did not recover: \(health)")
    }
  }

  func testBadDatabaseURLsFailWithTheirExitCodes() throws {
    let sandbox = try Sandbox()
    let malformed = try sandbox.lstore(["serve", "--port", "0", "--database", "mysql://x@h/db"])
    assertError(malformed, 64, ["--database must be a URL like postgres://"])
    let url = try XCTUnwrap(URLComponents(string: databaseURL))
    func with(_ change: (inout URLComponents) -> Void) -> String {
      var copy = url
      change(&copy)
      return copy.string!
    }
    let wrongPassword = try sandbox.lstore(["serve", "--port", "0", "--database", with { $0.password = "not-the-password" }])
    assertError(wrongPassword, 69, ["refused user", "password"])
    XCTAssertFalse(wrongPassword.stderr.contains("not-the-password"), "the password is never printed")
    let noDatabase = try sandbox.lstore(["serve", "--port", "0", "--database", with { $0.path = "/no_such_db" }])
    assertError(noDatabase, 66, ["no database \"no_such_db\"", "createdb"])
    let down = try sandbox.lstore(["serve", "--port", "0", "--database", with { $0.port = 1 }])
    assertError(down, 69, ["cannot reach PostgreSQL at 127.0.0.1:1"])
  }

  /// The health endpoint of a node, as a load balancer reads it, and a graceful stop that
  /// keeps what was acknowledged.
  func testHealthAndGracefulShutdown() throws {
    let sandbox = try Sandbox()
    let a = try node(sandbox)
    let health = try sandbox.shell("curl -s -w ' %{http_code}' \(a.httpURL)/health")
    XCTAssertTrue(health.stdout.hasSuffix(" 200"), health.description)
    XCTAssertTrue(health.stdout.contains(#""kind":"postgres","reachable":true,"listening":true"#), health.stdout)
    XCTAssertFalse(health.stdout.contains("lstore:lstore"), "no password in /health")
    XCTAssertFalse(a.log.contains("lstore:lstore"), "no password in the log: \(a.log)")
    let storeId = freshStoreId()
    try sandbox.initStore("s", storeId: storeId)
    XCTAssertEqual(try sandbox.lstore(["-C", "s", "commit", "v1.TodoCreated", #"{"id":"t1","text":"x"}"#]).status, 0)
    XCTAssertEqual(try sandbox.lstore(["-C", "s", "push", a.url]).status, 0)
    a.kill(SIGTERM)
    XCTAssertEqual(a.command.process.terminationStatus, 0, "serve must exit 0 on SIGTERM: \(a.log)")
    let b = try node(sandbox)
    defer { b.kill() }
    let head = try sandbox.shell("curl -s \(b.httpURL)/api/v1/stores/\(storeId)/head")
    XCTAssertEqual(head.stdout, #"{"head":1}"#)
  }
}

/// Values a test hands to the threads it starts and waits for.
struct Unchecked<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}

/// Strings appended from several threads.
final class LockedList: @unchecked Sendable {
  private let lock = NSLock()
  private var list: [String] = []
  func append(_ item: String) { lock.lock(); list.append(item); lock.unlock() }
  var items: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
