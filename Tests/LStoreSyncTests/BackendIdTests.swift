import Foundation
import LStoreKit
import LStoreSQLite
import XCTest
@testable import LStoreSync

/// LiveStore 0.4's backend id per store: made once, kept with the store's data, new after a reset.
final class BackendIdTests: XCTestCase {
  var directory: String!

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "lstore-backend-id-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

  func testTheIdIsStablePerStoreAcrossRestartsAndNewAfterAReset() async throws {
    let path = directory + "/backend.db"
    let first: String
    let other: String
    do {
      let backend = SyncBackend(storage: try SQLiteSyncStorage(path: path))
      first = try await backend.backendId(storeId: "a")
      other = try await backend.backendId(storeId: "b")
      let again = try await backend.backendId(storeId: "a")
      XCTAssertEqual(again, first)
    }
    XCTAssertEqual(first.count, 21)
    XCTAssertTrue(first.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-" })
    XCTAssertNotEqual(first, other)
    let reopened = SyncBackend(storage: try SQLiteSyncStorage(path: path))
    let afterRestart = try await reopened.backendId(storeId: "a")
    XCTAssertEqual(afterRestart, first)
    try await reopened.push(storeId: "a", batch: [WireEvent(name: "v1.X", args: nil, seqNum: 1, parentSeqNum: 0, clientId: "c", sessionId: "s")],
                            requestId: "r")
    try await reopened.reset(storeId: "a")
    let afterReset = try await reopened.backendId(storeId: "a")
    XCTAssertNotEqual(afterReset, first)
    let untouched = try await reopened.backendId(storeId: "b")
    XCTAssertEqual(untouched, other)
  }

  func testAVersion1FileIsUpgradedKeepingItsEvents() throws {
    let path = directory + "/old.db"
    do {
      let storage = try SQLiteSyncStorage(path: path)
      try storage.append(storeId: "a", events: [WireEvent(name: "v1.X", args: nil, seqNum: 1, parentSeqNum: 0, clientId: "c", sessionId: "s")],
                         createdAt: "2026-01-01T00:00:00.000Z", expectedHead: 0)
    }
    // Make it a version-1 file: no backend-id table.
    do {
      let connection = try Connection(path: path, mode: .create)
      try connection.execute("DROP TABLE lstore_sync_backend_ids")
      try connection.execute("PRAGMA user_version = 1")
    }
    let storage = try SQLiteSyncStorage(path: path)
    XCTAssertEqual(try storage.head(storeId: "a"), 1)
    XCTAssertEqual(try storage.backendId(storeId: "a").count, 21)
  }
}
