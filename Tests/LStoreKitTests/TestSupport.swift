import Foundation
import XCTest
import LStoreSQLite
@testable import LStoreKit

/// A fresh directory per test, removed afterwards.
final class TemporaryDirectory {
  let path: String

  init() throws {
    path = NSTemporaryDirectory() + "lstore-unit-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

  @discardableResult
  func write(_ name: String, _ text: String) throws -> String {
    let target = file(name)
    try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                            withIntermediateDirectories: true)
    try text.write(toFile: target, atomically: true, encoding: .utf8)
    return target
  }
}

enum Fixtures {
  static var repositoryRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }

  static var todomvcSchemaPath: String { repositoryRoot.appendingPathComponent("examples/todomvc/schema.yaml").path }

  static let now = "2026-01-01T00:00:00.000Z"
  static let author = Author(name: "Ann", email: "ann@example.com")
  static let identity = Replica.Identity(clientId: "client1", sessionId: "session1")

  /// A store in `directory/name` built from the schema at `schemaPath` (TodoMVC by default).
  static func makeStore(in directory: TemporaryDirectory, name: String = "store", storeId: String = "todos",
                        schemaPath: String? = nil) throws -> Store {
    let work = directory.file(name)
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    return try Store.initialize(in: work, options: .init(schemaPath: schemaPath ?? todomvcSchemaPath, storeId: storeId,
                                                         clientId: "client1", sessionId: "session1"),
                                now: now)
  }

  static func openReplica(_ store: Store) throws -> Replica {
    try store.openReplica(schema: try store.loadSchema(), now: now)
  }

  @discardableResult
  static func commit(_ replica: Replica, _ events: [(String, JSONValue)], message: String? = "commit",
                     identity: Replica.Identity = Fixtures.identity) throws -> Replica.CommitResult {
    try replica.commit(events.map { EventInput(name: $0.0, args: $0.1) }, message: message, author: author,
                       time: now, identity: identity)
  }
}

/// Everything observable about a store's content, to compare before and after an
/// operation that must change nothing.
struct StoreSnapshot: Equatable, CustomStringConvertible {
  var head: SeqNum
  var stateHead: SeqNum
  var events: [EventRecord]
  var commits: [Commit]
  var backendHead: Int64
  var rows: [String: [String]]

  var description: String {
    "head \(head), state head \(stateHead), \(events.count) events, \(commits.count) commits, backend head \(backendHead), "
      + rows.keys.sorted().map { "\($0): \(rows[$0]!.count) rows" }.joined(separator: ", ")
  }

  static func take(_ replica: Replica) throws -> StoreSnapshot {
    var events: [EventRecord] = []
    try replica.eventlog.forEach { row in events.append(row.record); return true }
    var commits: [Commit] = []
    try replica.eventlog.forEachCommit { commits.append($0); return true }
    return StoreSnapshot(head: try replica.eventlog.head(), stateHead: try replica.stateHead(), events: events,
                         commits: commits, backendHead: try replica.eventlog.backendHead(),
                         rows: try TableDump.dump(replica.connection, schema: "main"))
  }
}

enum TableDump {
  /// Every row of every table in `schema` (lstore's bookkeeping and changesets included),
  /// as sorted text, keyed by table.
  static func dump(_ connection: Connection, schema: String = "main", skip: Set<String> = []) throws -> [String: [String]] {
    var result: [String: [String]] = [:]
    for table in try connection.tableNames(schema: schema) where !skip.contains(table) {
      var rows: [String] = []
      let statement = try connection.prepare("SELECT * FROM \(schema.quotedIdentifier).\(table.quotedIdentifier)")
      try statement.forEachRow { row in
        rows.append((0..<row.columnCount).map { row.value($0).description }.joined(separator: "|"))
      }
      result[table] = rows.sorted()
    }
    return result
  }

  /// The user tables only (what an app sees), from a state file.
  static func userRows(statePath: String, schema: Schema) throws -> [String: [String]] {
    let connection = try Connection(path: statePath, mode: .readOnly)
    var result: [String: [String]] = [:]
    for table in schema.tables {
      var rows: [String] = []
      try connection.prepare("SELECT * FROM \(table.name.quotedIdentifier)").forEachRow { row in
        rows.append((0..<row.columnCount).map { row.value($0).description }.joined(separator: "|"))
      }
      result[table.name] = rows.sorted()
    }
    return result
  }
}

extension XCTestCase {
  /// Asserts that `body` throws and that the error's text contains every fragment.
  func assertThrows<T>(_ body: @autoclosure () throws -> T, contains fragments: [String],
                       file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
      let text = "\(error)"
      for fragment in fragments where !text.contains(fragment) {
        XCTFail("error \"\(text)\" does not contain \"\(fragment)\"", file: file, line: line)
      }
    }
  }
}
