import Foundation
import XCTest
@testable import LStoreKit

/// Tests that sync real stores with each other: a temporary directory per test and TodoMVC
/// stores in it, one client each.
class SyncStoresTestCase: XCTestCase {
  var directory: String!

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "lstore-sync-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

  /// A store of client `client` (session `s-<client>`) and its open replica.
  func makeStore(_ name: String, client: String) throws -> (Store, Replica) {
    let store = try Store.initialize(in: "\(directory!)/\(name)",
                                     options: .init(schemaPath: StoreCommitTests.todomvcSchemaPath, storeId: "todos",
                                                    clientId: client, sessionId: "s-\(client)"),
                                     now: "2026-01-01T00:00:00.000Z")
    return (store, try store.openReplica(schema: try store.loadSchema(), now: "now"))
  }
}
