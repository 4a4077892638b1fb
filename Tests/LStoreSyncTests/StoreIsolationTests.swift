import Foundation
import LStoreKit
import LStoreSQLite
import XCTest
@testable import LStoreSync

/// Every storeId is its own store, whatever its case: SQLite identifiers are
/// case-insensitive, so the storage must never derive two stores' tables from one name.
final class StoreIsolationTests: XCTestCase {
  var directory: String!
  var path: String { directory + "/backend.db" }

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "lstore-isolation-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

  func testStoreIdsThatDifferOnlyInCaseAreSeparateStores() async throws {
    let storage = try SQLiteSyncStorage(path: path)
    let backend = SyncBackend(storage: storage, clock: { "2026-01-01T00:00:00.000Z" })
    try await backend.push(storeId: "abc", batch: makeEvents(from: 1, count: 3, clientId: "lower"), requestId: "a")
    try await backend.push(storeId: "ABC", batch: makeEvents(from: 1, count: 2, clientId: "upper"), requestId: "b")
    try await backend.push(storeId: "aBc", batch: makeEvents(from: 1, count: 1, clientId: "mixed"), requestId: "c")
    XCTAssertEqual(try storage.head(storeId: "abc"), 3)
    XCTAssertEqual(try storage.head(storeId: "ABC"), 2)
    XCTAssertEqual(try storage.events(storeId: "abc", after: 0, through: 10, limit: 10).map(\.event.clientId),
                   ["lower", "lower", "lower"])
    XCTAssertEqual(try storage.events(storeId: "ABC", after: 0, through: 10, limit: 10).map(\.event.clientId),
                   ["upper", "upper"])
    XCTAssertEqual(try storage.count(storeId: "aBc", after: 0, through: 10), 1)

    // Resetting one spelling leaves the others whole.
    try await backend.reset(storeId: "ABC")
    XCTAssertEqual(try storage.head(storeId: "ABC"), 0)
    XCTAssertEqual(try storage.count(storeId: "ABC", after: 0, through: 10), 0)
    XCTAssertEqual(try storage.head(storeId: "abc"), 3)
    XCTAssertEqual(try storage.count(storeId: "abc", after: 0, through: 10), 3)
    XCTAssertEqual(try storage.count(storeId: "aBc", after: 0, through: 10), 1)
  }

  func testTableNamesAreDistinctWhateverTheCaseAndNeverReserved() throws {
    let ids = ["abc", "ABC", "aBc", "a.b", "a_b", "a-b", "sqlite_master", "lstore_sync_heads", "x", "X",
               String(repeating: "Z", count: 64)]
    let names = try ids.map { try SQLiteSyncStorage.bareTableName($0).lowercased() }
    XCTAssertEqual(Set(names).count, ids.count, "\(names)")
    XCTAssertEqual(try SQLiteSyncStorage.bareTableName("aB"), "lstore_events_6142")
    for name in names { XCTAssertTrue(name.hasPrefix("lstore_events_")) }
    // Names SQLite reserves or lstore uses are still ordinary stores with their own tables.
    let storage = try SQLiteSyncStorage(path: path)
    for id in ["sqlite_master", "lstore_sync_heads", "main", "temp"] {
      try storage.append(storeId: id, events: makeEvents(from: 1, count: 1), createdAt: "t", expectedHead: 0)
      XCTAssertEqual(try storage.head(storeId: id), 1)
      XCTAssertEqual(try storage.count(storeId: id, after: 0, through: 5), 1)
    }
  }

  func testUnicodeAndNormalizationVariantsAreRefusedEverywhere() async throws {
    let storage = try SQLiteSyncStorage(path: path)
    let backend = SyncBackend(storage: storage)
    // "café" composed (NFC) and decomposed (NFD), and a fullwidth "ａｂｃ" that NFKC folds to "abc".
    for id in ["caf\u{E9}", "cafe\u{301}", "\u{FF41}\u{FF42}\u{FF43}", "", String(repeating: "a", count: 65), "a b", "a/b"] {
      XCTAssertThrowsError(try storage.head(storeId: id), id) { XCTAssertTrue($0 is InvalidStoreID) }
      XCTAssertThrowsError(try storage.append(storeId: id, events: makeEvents(from: 1, count: 1), createdAt: "t",
                                              expectedHead: 0), id) { XCTAssertTrue($0 is InvalidStoreID) }
      do {
        try await backend.push(storeId: id, batch: makeEvents(from: 1, count: 1), requestId: "r")
        XCTFail("accepted \(id)")
      } catch {
        XCTAssertTrue(error is InvalidStoreID, "\(error)")
      }
    }
  }

  /// A file written before storage version 1 (tables `eventlog_<storeId>`) is migrated on
  /// open: every event stays, under the storeId that wrote it.
  func testVersion0FileIsMigratedWithoutLosingEvents() throws {
    do {
      let old = try Connection(path: path, mode: .create)
      try old.execute("CREATE TABLE lstore_sync_heads (storeId TEXT PRIMARY KEY NOT NULL, head INTEGER NOT NULL) STRICT")
      for (store, count) in [("todos", 3), ("Mixed.Case-1", 2)] {
        try old.execute("""
          CREATE TABLE "eventlog_\(store)" (seqNum INTEGER PRIMARY KEY NOT NULL, parentSeqNum INTEGER NOT NULL,
            name TEXT NOT NULL, args TEXT, createdAt TEXT NOT NULL, clientId TEXT NOT NULL, sessionId TEXT NOT NULL) STRICT
          """)
        for seq in 1...count {
          try old.execute("INSERT INTO \"eventlog_\(store)\" VALUES (?, ?, 'v1.X', '{\"n\":\(seq)}', 't', ?, 's')",
                          [.integer(Int64(seq)), .integer(Int64(seq - 1)), .text(store)])
        }
        try old.execute("INSERT INTO lstore_sync_heads VALUES (?, ?)", [.text(store), .integer(Int64(count))])
      }
      // Something that is not a version-0 store table stays as it is.
      try old.execute("CREATE TABLE \"eventlog_not valid\" (x)")
      XCTAssertEqual(try old.scalar("PRAGMA user_version"), .integer(0))
    }
    for open in 0..<2 {  // the second open finds version 1 and changes nothing
      let storage = try SQLiteSyncStorage(path: path)
      XCTAssertEqual(try storage.head(storeId: "todos"), 3 + Int64(open))
      XCTAssertEqual(try storage.events(storeId: "todos", after: 0, through: 3, limit: 10).map(\.event.args),
                     [["n": 1], ["n": 2], ["n": 3]])
      XCTAssertEqual(try storage.events(storeId: "Mixed.Case-1", after: 0, through: 10, limit: 10).map(\.event.clientId),
                     ["Mixed.Case-1", "Mixed.Case-1"])
      XCTAssertEqual(try storage.count(storeId: "mixed.case-1", after: 0, through: 10), 0)
      XCTAssertEqual(try storage.head(storeId: "TODOS"), Int64(open))
      if open == 0 {
        try storage.append(storeId: "todos", events: makeEvents(from: 4, count: 1), createdAt: "t", expectedHead: 3)
        try storage.append(storeId: "TODOS", events: makeEvents(from: 1, count: 1), createdAt: "t", expectedHead: 0)
      }
      let check = try Connection(path: path, mode: .readOnly)
      XCTAssertEqual(try check.scalar("PRAGMA user_version"), .integer(SQLiteSyncStorage.schemaVersion))
      XCTAssertFalse(try check.tableExists("eventlog_todos"))
      XCTAssertTrue(try check.tableExists("eventlog_not valid"))
    }
  }

  func testAFileFromANewerVersionIsRefusedWithOneLine() throws {
    do {
      let newer = try Connection(path: path, mode: .create)
      try newer.execute("PRAGMA user_version = 99")
    }
    XCTAssertThrowsError(try SQLiteSyncStorage(path: path)) { error in
      XCTAssertEqual("\(error)", "\(self.path) has storage version 99; this lstore reads version \(SQLiteSyncStorage.schemaVersion) or older (upgrade lstore)")
    }
  }
}

/// What a push may hold is what a pull can deliver: pages bounded by bytes, events bounded
/// by size and depth.
final class ServableLimitsTests: XCTestCase {
  var directory: String!

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "lstore-servable-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

  func bigEvents(from first: Int64, count: Int, bytes: Int) -> [WireEvent] {
    (0..<Int64(count)).map { offset in
      WireEvent(name: "v1.Big", args: ["blob": .string(String(repeating: "b", count: bytes))], seqNum: first + offset,
                parentSeqNum: first + offset - 1, clientId: "c", sessionId: "s")
    }
  }

  func testPullPagesAreBoundedByBytesAsWellAsCount() async throws {
    let storage = try SQLiteSyncStorage(path: directory + "/backend.db")
    let pusher = SyncBackend(storage: storage, clock: { "2026-01-01T00:00:00.000Z" })
    try await pusher.push(storeId: "s", batch: bigEvents(from: 1, count: 20, bytes: 200_000), requestId: "p")
    // A legacy event bigger than a page (stored before the event size limit), then small ones.
    try storage.append(storeId: "s", events: bigEvents(from: 21, count: 1, bytes: 1_000_000), createdAt: "t", expectedHead: 20)
    try storage.append(storeId: "s", events: makeEvents(from: 22, count: 150), createdAt: "t", expectedHead: 21)
    let backend = SyncBackend(storage: storage)
    let snapshot = try await backend.pullSnapshot(storeId: "s", cursor: nil)
    XCTAssertEqual(snapshot.total, 171)
    var pages: [BackendPullPage] = []
    for try await page in backend.pages(of: snapshot) { pages.append(page) }
    XCTAssertEqual(pages.flatMap(\.items).map(\.event.seqNum), Array(1...171))
    // 4 events of 200 kB per page, the big one alone, then 100 and 50 small ones.
    XCTAssertEqual(pages.map(\.items.count), [4, 4, 4, 4, 4, 1, 100, 50])
    XCTAssertEqual(pages.map(\.remaining), [167, 163, 159, 155, 151, 150, 50, 0])
    for page in pages where page.items.count > 1 {
      let text = SyncMessage.pullResponse(PullResponse(batch: page.items, context: .pull, requestId: "q", remaining: page.remaining)).encoded()
      XCTAssertLessThanOrEqual(text.utf8.count, PullPaging.maxPageBytes + 200)
    }
  }

  /// docs/sync-server.md: args are stored as JSON.stringify writes what JSON.parse gives,
  /// not byte for byte.
  func testArgsAreStoredAsJavaScriptWritesTheParsedValue() async throws {
    let storage = try SQLiteSyncStorage(path: directory + "/backend.db")
    let backend = SyncBackend(storage: storage)
    let args = try JSONParser.parse(Array(#"{"a":1.0,"b":-0.0,"c":123456789012345678901,"d":1,"d":2,"s":"\ud800"}"#.utf8))
    try await backend.push(storeId: "s", batch: [WireEvent(name: "v1.X", args: args, seqNum: 1, parentSeqNum: 0,
                                                            clientId: "c", sessionId: "s")], requestId: "r")
    let stored = try Connection(path: directory + "/backend.db", mode: .readOnly).scalar(
      "SELECT args FROM \(try SQLiteSyncStorage.tableName("s"))")
    XCTAssertEqual(stored, .text(#"{"a":1,"b":0,"c":123456789012345680000,"d":2,"s":"\ud800"}"#))
  }

  /// A pull reads ahead many pages at once; with large events that read is bounded by
  /// bytes too (a thousand events of 780 kB made one pull hold about 800 MB).
  func testAPullsReadAheadIsBoundedByBytes() async throws {
    let storage = try SQLiteSyncStorage(path: directory + "/backend.db")
    try storage.append(storeId: "s", events: bigEvents(from: 1, count: 30, bytes: 300_000), createdAt: "t", expectedHead: 0)
    try storage.append(storeId: "s", events: makeEvents(from: 31, count: 1200), createdAt: "t", expectedHead: 30)
    let read = try storage.events(storeId: "s", after: 0, through: 1230, limit: 1000, maxBytes: 1_000_000)
    XCTAssertEqual(read.map(\.event.seqNum), [1, 2, 3, 4], "stops after the event that reaches the bytes")
    XCTAssertEqual(try storage.events(storeId: "s", after: 30, through: 1230, limit: 1000, maxBytes: 1_000_000).count, 1000,
                   "small events: the count bounds the read")
    // Every event still arrives, in order, once, across reads cut short by their bytes.
    let backend = SyncBackend(storage: storage)
    let snapshot = try await backend.pullSnapshot(storeId: "s", cursor: nil)
    var seqNums: [Int64] = []
    for try await page in backend.pages(of: snapshot) { seqNums += page.items.map(\.event.seqNum) }
    XCTAssertEqual(seqNums, Array(1...1230))
  }

  func testAnEventOverTheSizeLimitOrTooDeepIsRefusedAtPush() async throws {
    let storage = try SQLiteSyncStorage(path: directory + "/backend.db")
    let backend = SyncBackend(storage: storage)
    do {
      try await backend.push(storeId: "s", batch: bigEvents(from: 1, count: 1, bytes: 800_000), requestId: "r")
      XCTFail("accepted")
    } catch let rejection as PushRejection {
      XCTAssertEqual(rejection.kind, .malformed)
      XCTAssertEqual(rejection.message, "Invalid push batch: event 0: args are larger than 790000 bytes")
    }
    var named = bigEvents(from: 1, count: 1, bytes: 789_000)[0]
    named.name = String(repeating: "n", count: 20_000)
    do {
      try await backend.push(storeId: "s", batch: [named], requestId: "r")
      XCTFail("accepted")
    } catch let rejection as PushRejection {
      XCTAssertEqual(rejection.message, "Invalid push batch: event 0 is 809089 bytes, the limit is 800000")
    }
    var deep: JSONValue = 1
    for _ in 0..<257 { deep = .array([deep]) }
    do {
      try await backend.push(storeId: "s", batch: [WireEvent(name: "x", args: deep, seqNum: 1, parentSeqNum: 0, clientId: "c", sessionId: "s")], requestId: "r")
      XCTFail("accepted")
    } catch let rejection as PushRejection {
      XCTAssertEqual(rejection.message, "Invalid push batch: event 0: args nest deeper than 256 levels")
    }
    let head = try await backend.head(storeId: "s")
    XCTAssertEqual(head, 0)
  }
}
