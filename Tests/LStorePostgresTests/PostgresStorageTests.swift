import Foundation
import LStoreKit
import LStoreSync
import Logging
import PostgresNIO
import XCTest
@testable import LStorePostgres

/// The PostgreSQL storage against a real server: `scripts/test.sh` starts a throwaway
/// cluster and exports LSTORE_TEST_POSTGRES_URL (scripts/postgres-cluster.sh). Run alone
/// without it, these tests skip and say how to run them.
class PostgresTestCase: XCTestCase {
  static var url: String? { ProcessInfo.processInfo.environment["LSTORE_TEST_POSTGRES_URL"] }

  func requirePostgres() throws -> PostgresURL {
    guard let url = Self.url else {
      throw XCTSkip("LSTORE_TEST_POSTGRES_URL is not set: run `bash scripts/test.sh`, or `source scripts/postgres-cluster.sh && postgres_cluster_start` first")
    }
    return try PostgresURL(url)
  }

  var logger: Logger {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
  }

  /// A store id no other test (or earlier run) uses.
  func freshStoreId(_ name: String = "s") -> String { "\(name)-\(UUID().uuidString.prefix(13).lowercased())" }

  func events(from first: Int64, count: Int, clientId: String = "c1") -> [WireEvent] {
    (0..<Int64(count)).map { offset in
      WireEvent(name: "v1.TodoCreated", args: ["id": .string("t\(first + offset)")], seqNum: first + offset,
                parentSeqNum: first + offset - 1, clientId: clientId, sessionId: "s1")
    }
  }

  /// Runs blocking storage calls off the cooperative pool, as the backend does.
  func off<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
  }
}

final class PostgresStorageTests: PostgresTestCase {
  func testAppendReadCountAndHead() async throws {
    let storage = try await PostgresSyncStorage.open(try requirePostgres(), logger: logger)
    defer { storage.shutdown() }
    let store = freshStoreId()
    var batch = events(from: 1, count: 3)
    // Args come back exactly: nesting, a lone surrogate, no args at all.
    batch[1] = WireEvent(name: "v1.X", args: try JSONParser.parse(Array(#"{"a":[1,{"b":"\ud800"}],"z":null}"#.utf8)),
                         seqNum: 2, parentSeqNum: 1, clientId: "c1", sessionId: "s1")
    batch[2] = WireEvent(name: "v1.Y", args: nil, seqNum: 3, parentSeqNum: 2, clientId: "c1", sessionId: "s1")
    let toStore = batch
    try await off { try storage.append(storeId: store, events: toStore, createdAt: "2026-01-01T00:00:00.000Z", expectedHead: 0) }
    let head = try await off { try storage.head(storeId: store) }
    XCTAssertEqual(head, 3)
    let read = try await off { try storage.events(storeId: store, after: 0, through: 3, limit: 10) }
    XCTAssertEqual(read.map(\.event), batch)
    XCTAssertEqual(read.map(\.createdAt), Array(repeating: "2026-01-01T00:00:00.000Z", count: 3))
    XCTAssertEqual(read[1].event.args?.compactText, #"{"a":[1,{"b":"\ud800"}],"z":null}"#)
    let page = try await off { try storage.events(storeId: store, after: 1, through: 3, limit: 1) }
    XCTAssertEqual(page.map(\.event.seqNum), [2])
    let count = try await off { try storage.count(storeId: store, after: 1, through: 3) }
    XCTAssertEqual(count, 2)
    let other = try await off { try storage.head(storeId: store.uppercased()) }
    XCTAssertEqual(other, 0, "store ids are case-sensitive")
  }

  func testAnAppendNotAtTheStoredHeadWritesNothing() async throws {
    let storage = try await PostgresSyncStorage.open(try requirePostgres(), logger: logger)
    defer { storage.shutdown() }
    let store = freshStoreId()
    let first = events(from: 1, count: 2), stale = events(from: 1, count: 1, clientId: "c2")
    try await off { try storage.append(storeId: store, events: first, createdAt: "t", expectedHead: 0) }
    do {
      try await off { try storage.append(storeId: store, events: stale, createdAt: "t", expectedHead: 0) }
      XCTFail("expected a head mismatch")
    } catch let mismatch as StorageHeadMismatch {
      XCTAssertEqual(mismatch.storedHead, 2)
    }
    let read = try await off { try storage.events(storeId: store, after: 0, through: 10, limit: 10) }
    XCTAssertEqual(read.map(\.event.clientId), ["c1", "c1"])
  }

  func testResetAndBackendId() async throws {
    let storage = try await PostgresSyncStorage.open(try requirePostgres(), logger: logger)
    defer { storage.shutdown() }
    let store = freshStoreId()
    let id = try await off { try storage.backendId(storeId: store) }
    let again = try await off { try storage.backendId(storeId: store) }
    XCTAssertEqual(id, again)
    XCTAssertEqual(id.count, 21)
    let batch = events(from: 1, count: 2)
    try await off { try storage.append(storeId: store, events: batch, createdAt: "t", expectedHead: 0) }
    let v1 = try await off { try storage.backendId(storeId: store) }
    XCTAssertEqual(v1, id, "a push keeps the backend id")
    let generation = try await off { try storage.reset(storeId: store) }
    XCTAssertEqual(generation, 1)
    let v2 = try await off { try storage.head(storeId: store) }
    XCTAssertEqual(v2, 0)
    let v3 = try await off { try storage.count(storeId: store, after: 0, through: 10) }
    XCTAssertEqual(v3, 0)
    let v4 = try await off { try storage.backendId(storeId: store) }
    XCTAssertNotEqual(v4, id, "a reset makes a new backend id")
  }

  /// A page's query reads only the page's rows, whatever plan PostgreSQL picks. Forced
  /// here with `enable_indexscan = off`: the plan it picked by itself while its statistics
  /// did not know a store (a bitmap scan of every event after the cursor, then a sort), which
  /// made a pull of 200,000 events wait 50–70 ms a page.
  func testAPageQueryReadsOnlyItsPageWhateverThePlan() async throws {
    let url = try requirePostgres()
    let storage = try await PostgresSyncStorage.open(url, logger: logger)
    defer { storage.shutdown() }
    let store = freshStoreId()
    let batch = events(from: 1, count: 3000)
    try await off { try storage.append(storeId: store, events: batch, createdAt: "t", expectedHead: 0) }
    let connection = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(), id: 94, logger: logger)
    try await connection.query("SET enable_indexscan = off", logger: logger)
    var (query, _) = PostgresSyncStorage.pageQuery(storeId: store, after: 1000, through: 3000, limit: 100)
    query.sql = "EXPLAIN (ANALYZE, FORMAT TEXT) " + query.sql
    var plan: [String] = []
    for try await line in try await connection.query(query, logger: logger).decode(String.self) { plan.append(line) }
    try await connection.close()
    // Every node's actual row count, e.g. "(actual time=0.1..0.4 rows=100 loops=1)".
    let rows = plan.flatMap { line in
      line.matches(of: /actual time=[0-9.]+\.\.[0-9.]+ rows=([0-9]+)/).compactMap { Int($0.1) }
    }
    XCTAssertFalse(rows.isEmpty, plan.joined(separator: "\n"))
    XCTAssertLessThanOrEqual(rows.max() ?? .max, 100, plan.joined(separator: "\n"))
    let page = try await off { try storage.events(storeId: store, after: 1000, through: 3000, limit: 100) }
    XCTAssertEqual(page.map(\.event.seqNum), Array(1001...1100))
  }

  /// Pages are bounded by seqNum (see above), yet a store with a gap (never made by the
  /// backend, which only accepts pushes that continue the head) still reads full pages.
  func testPagesAcrossAGapAreFull() async throws {
    let storage = try await PostgresSyncStorage.open(try requirePostgres(), logger: logger)
    defer { storage.shutdown() }
    let store = freshStoreId()
    let gappy = events(from: 1, count: 3) + events(from: 7, count: 3)
    try await off { try storage.append(storeId: store, events: gappy, createdAt: "t", expectedHead: 0) }
    let first = try await off { try storage.events(storeId: store, after: 0, through: 9, limit: 4) }
    XCTAssertEqual(first.map(\.event.seqNum), [1, 2, 3, 7])
    let next = try await off { try storage.events(storeId: store, after: 3, through: 9, limit: 2) }
    XCTAssertEqual(next.map(\.event.seqNum), [7, 8])
    let rest = try await off { try storage.events(storeId: store, after: 8, through: 9, limit: 10) }
    XCTAssertEqual(rest.map(\.event.seqNum), [9])
    let all = try await off { try storage.events(storeId: store, after: 0, through: 100, limit: 100) }
    XCTAssertEqual(all.map(\.event.seqNum), [1, 2, 3, 7, 8, 9])
  }

  /// A store id is a bound parameter: quotes and semicolons cannot reach the SQL, and ids
  /// the backend refuses never reach the database at all.
  func testStoreIdsNeverBecomeSQL() async throws {
    let storage = try await PostgresSyncStorage.open(try requirePostgres(), logger: logger)
    defer { storage.shutdown() }
    for hostile in ["a'; DROP TABLE lstore_events; --", "a b", "", String(repeating: "x", count: 65), "é"] {
      XCTAssertThrowsError(try storage.head(storeId: hostile)) { XCTAssertTrue($0 is InvalidStoreID, "\($0)") }
    }
    // Every allowed character, including the ones SQL cares about (`.`, `-`).
    let store = "A.b-c_" + freshStoreId()
    let batch = events(from: 1, count: 1)
    try await off { try storage.append(storeId: store, events: batch, createdAt: "t", expectedHead: 0) }
    let v5 = try await off { try storage.head(storeId: store) }
    XCTAssertEqual(v5, 1)
  }

  /// Two nodes open the database at once: both find (or make) one schema.
  func testTwoNodesStartingTogetherShareOneSchema() async throws {
    let url = try requirePostgres()
    let logger = logger
    async let a = PostgresSyncStorage.open(url, logger: logger)
    async let b = PostgresSyncStorage.open(url, logger: logger)
    let (first, second) = try await (a, b)
    defer {
      first.shutdown()
      second.shutdown()
    }
    let store = freshStoreId()
    let batch = events(from: 1, count: 1)
    try await off { try first.append(storeId: store, events: batch, createdAt: "t", expectedHead: 0) }
    let v6 = try await off { try second.head(storeId: store) }
    XCTAssertEqual(v6, 1)
  }

  func testStartErrorsSayWhatIsWrong() async throws {
    let url = try requirePostgres()
    let logger = logger
    func startError(_ text: String) async -> PostgresStartError? {
      do {
        let storage = try await PostgresSyncStorage.open(try PostgresURL(text, environment: [:]), logger: logger)
        storage.shutdown()
        return nil
      } catch {
        return error as? PostgresStartError
      }
    }
    let wrongPassword = await startError("postgres://\(url.username):wrong@\(url.host):\(url.port)/\(url.database)?sslmode=disable")
    XCTAssertEqual(wrongPassword?.kind, .loginRefused)
    XCTAssertTrue(wrongPassword?.message.contains("refused user \"\(url.username)\"") ?? false, "\(String(describing: wrongPassword))")
    XCTAssertFalse(wrongPassword?.message.contains("wrong") ?? true, "the password is never echoed")
    let noDatabase = await startError("postgres://\(url.username):\(url.password ?? "")@\(url.host):\(url.port)/nope_\(UUID().uuidString.prefix(6))?sslmode=disable")
    XCTAssertEqual(noDatabase?.kind, .noDatabase)
    XCTAssertTrue(noDatabase?.message.contains("createdb") ?? false, "\(String(describing: noDatabase))")
    // A port nothing listens on.
    let down = await startError("postgres://\(url.username)@127.0.0.1:1/\(url.database)?sslmode=disable")
    XCTAssertEqual(down?.kind, .unreachable)
    XCTAssertTrue(down?.message.contains("cannot reach PostgreSQL at 127.0.0.1:1") ?? false, "\(String(describing: down))")
  }

  /// A store's row locked by a stuck transaction (a node that hangs mid-commit): a push
  /// fails after the operation timeout instead of hanging its store's writer, writes
  /// nothing, and pushes work again once the lock is gone.
  func testAPushBehindAStuckLockFailsInTimeAndTheNextOneWorks() async throws {
    let url = try requirePostgres()
    let storage = try await PostgresSyncStorage.open(url, logger: logger, operationTimeout: .seconds(1))
    defer { storage.shutdown() }
    let backend = SyncBackend(storage: storage)
    let store = freshStoreId()
    try await backend.push(storeId: store, batch: events(from: 1, count: 1), requestId: "a")
    let stuck = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(), id: 97, logger: logger)
    try await stuck.query("BEGIN", logger: logger)
    try await stuck.query("SELECT head FROM lstore_stores WHERE store_id = \(store) FOR UPDATE", logger: logger)
    let started = Date()
    do {
      try await backend.push(storeId: store, batch: events(from: 2, count: 1), requestId: "b")
      XCTFail("the push got past a held lock")
    } catch {
      XCTAssertTrue(error is PostgresUnavailable, "\(error)")
    }
    XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    try await stuck.query("ROLLBACK", logger: logger)
    try await stuck.close()
    // The timed-out attempt may still commit once the lock is gone (it was not
    // acknowledged); either way the store continues from what is stored.
    var head = try await backend.head(storeId: store)
    let deadline = Date().addingTimeInterval(10)
    while head < 2 && Date() < deadline {
      do {
        head = try await backend.push(storeId: store, batch: events(from: head + 1, count: 1), requestId: "c")
      } catch let rejection as PushRejection {
        guard case .notAtHead(let real) = rejection.kind else { throw rejection }
        head = real
      }
    }
    XCTAssertGreaterThanOrEqual(head, 2)
    let stored = try await off { try storage.events(storeId: store, after: 0, through: 100, limit: 100) }
    XCTAssertEqual(stored.map(\.event.seqNum), Array(1...head), "gap-free")
  }

  /// A new, empty database gets the schema on first start; a database whose schema a
  /// newer lstore wrote is refused with a clear message, and nothing is changed.
  func testTheSchemaIsCreatedOnFirstStartAndANewerOneIsRefused() async throws {
    let url = try requirePostgres()
    let name = "lstore_schema_\(UUID().uuidString.prefix(8).lowercased())"
    let admin = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(), id: 96, logger: logger)
    try await admin.query("CREATE DATABASE \(unescaped: name)", logger: logger)
    let fresh = try PostgresURL("postgres://\(url.username):\(url.password ?? "")@\(url.host):\(url.port)/\(name)?sslmode=\(url.sslMode)",
                                environment: [:])
    do {
      let storage = try await PostgresSyncStorage.open(fresh, logger: logger)
      storage.shutdown()
      let connection = try await PostgresConnection.connect(configuration: try fresh.connectionConfiguration(), id: 95, logger: logger)
      var tables: [String] = []
      for try await table in try await connection.query(
        "SELECT tablename FROM pg_tables WHERE tablename LIKE 'lstore_%' ORDER BY tablename", logger: logger).decode(String.self) {
        tables.append(table)
      }
      XCTAssertEqual(tables, ["lstore_events", "lstore_meta", "lstore_stores"])
      var version = ""
      for try await value in try await connection.query(
        "SELECT value FROM lstore_meta WHERE key = 'schema_version'", logger: logger).decode(String.self) {
        version = value
      }
      XCTAssertEqual(version, String(PostgresSyncStorage.schemaVersion))
      // A version-1 database (no reset count) is upgraded in place.
      try await connection.query("ALTER TABLE lstore_stores DROP COLUMN resets", logger: logger)
      try await connection.query("UPDATE lstore_meta SET value = '1' WHERE key = 'schema_version'", logger: logger)
      let upgraded = try await PostgresSyncStorage.open(fresh, logger: logger)
      let store = freshStoreId()
      let batch = events(from: 1, count: 1)
      try await off { try upgraded.append(storeId: store, events: batch, createdAt: "t", expectedHead: 0) }
      let generation = try await off { try upgraded.reset(storeId: store) }
      XCTAssertEqual(generation, 1)
      upgraded.shutdown()
      for try await value in try await connection.query(
        "SELECT value FROM lstore_meta WHERE key = 'schema_version'", logger: logger).decode(String.self) {
        version = value
      }
      XCTAssertEqual(version, "2")
      try await connection.query("UPDATE lstore_meta SET value = '99' WHERE key = 'schema_version'", logger: logger)
      try await connection.close()
      do {
        let newer = try await PostgresSyncStorage.open(fresh, logger: logger)
        newer.shutdown()
        XCTFail("a newer schema was accepted")
      } catch let error as PostgresStartError {
        XCTAssertTrue(error.message.contains("schema version 99"), error.message)
        XCTAssertTrue(error.message.contains("upgrade lstore"), error.message)
      }
    } catch {
      XCTFail("\(error)")
    }
    // Other sessions (the pool's) may linger a moment after shutdown.
    try await admin.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: logger)
    try await admin.close()
  }

  func testURLParsing() throws {
    let url = try PostgresURL("postgres://me:p%40ss@db.example:6543/lstore?sslmode=require", environment: [:])
    XCTAssertEqual([url.username, url.password, url.host, url.database, url.sslMode], ["me", "p@ss", "db.example", "lstore", "require"])
    XCTAssertEqual(url.port, 6543)
    XCTAssertEqual(url.description, "postgres://me@db.example:6543/lstore", "no password in logs")
    XCTAssertEqual(try PostgresURL("postgresql://me@h/db", environment: ["PGPASSWORD": "env"]).password, "env")
    XCTAssertEqual(try PostgresURL("postgresql://me@h/db", environment: [:]).port, 5432)
    for bad in ["http://me@h/db", "postgres://h/db", "postgres://me@h", "postgres://me@h/db?sslmode=maybe",
                "postgres://me@h/db?foo=1", "not a url"] {
      XCTAssertThrowsError(try PostgresURL(bad, environment: [:]), bad) { XCTAssertTrue($0 is PostgresURLError) }
    }
    // A URL too malformed to parse still never prints its password.
    for malformed in ["mysql://me:secret@h/db", "postgres://me:secret@h:notaport/db", "postgres://me:secret@[::1:5432/db",
                      "postgres://me:se:cret@h:x/db"] {
      XCTAssertThrowsError(try PostgresURL(malformed, environment: [:]), malformed) { error in
        XCTAssertFalse("\(error)".contains("secret") || "\(error)".contains("cret"), "\(error)")
        XCTAssertTrue("\(error)".contains("me:***@"), "\(error)")
      }
    }
  }
}
