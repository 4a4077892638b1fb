import Foundation
import LStoreSQLite

/// A companion store (see `CompanionStores`) kept beside another store on disk, for path
/// remotes: `<store>/.lstore/companions/<storeId>.db`, one table of events in the backend's
/// order. It holds lstore's own records, which no schema defines, so nothing is
/// materialized; a push is checked (parent = head, contiguous) and stored in one
/// transaction, as a backend would.
public final class CompanionFileTransport: SyncTransport {
  private let connection: Connection
  public let description: String
  public let maxBatchSize = 10_000

  public init(storeDirectory: String, storeId: String) throws {
    guard Identifiers.isValidStoreID(storeId) else { throw StoreError.invalidStoreId(storeId) }
    let folder = (storeDirectory as NSString).appendingPathComponent("companions")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let path = (folder as NSString).appendingPathComponent("\(storeId).db")
    connection = try Connection(path: path, mode: .create)
    try connection.execute("""
      CREATE TABLE IF NOT EXISTS events (
        seqNum INTEGER PRIMARY KEY NOT NULL, parentSeqNum INTEGER NOT NULL, name TEXT NOT NULL, args TEXT,
        clientId TEXT NOT NULL, sessionId TEXT NOT NULL
      ) STRICT
      """)
    description = "companion store \(storeId) at \(storeDirectory)"
  }

  private func head() throws -> Int64 {
    try connection.cached("SELECT max(seqNum) FROM events").first { $0.int64(0) } ?? 0
  }

  public func backendHead() async throws -> Int64? { try head() }

  public func pull(after cursor: Int64, onPage: (PullPage) throws -> Void) async throws {
    let head = try head()
    var after = cursor
    while after < head {
      var events: [RemoteEvent] = []
      try connection.cached("SELECT seqNum, parentSeqNum, name, args, clientId, sessionId FROM events WHERE seqNum > ? ORDER BY seqNum LIMIT 1000")
        .forEachRow([.integer(after)]) { row in
          events.append(RemoteEvent(seqNum: row.int64(0), parentSeqNum: row.int64(1), name: row.string(2),
                                    args: row.isNull(3) ? nil : try JSONParser.parse(row.utf8(3)),
                                    clientId: row.string(4), sessionId: row.string(5)))
        }
      guard let last = events.last else { break }
      after = last.seqNum
      try onPage(PullPage(events: events, remaining: Int(head - after)))
    }
  }

  public func push(_ batch: [RemoteEvent]) async throws -> PushOutcome {
    guard let first = batch.first else { return .accepted(metadata: nil) }
    return try connection.transaction(.immediate) {
      let head = try head()
      guard first.parentSeqNum == head else {
        return .rejected(reason: "its head is e\(head), the batch continues from e\(first.parentSeqNum)", backendHead: head)
      }
      for (offset, event) in batch.enumerated() {
        guard event.seqNum == head + 1 + Int64(offset), event.parentSeqNum == event.seqNum - 1 else {
          return .rejected(reason: "the batch is not contiguous at e\(event.seqNum)", backendHead: head)
        }
        try connection.cached("INSERT INTO events (seqNum, parentSeqNum, name, args, clientId, sessionId) VALUES (?, ?, ?, ?, ?, ?)")
          .execute([.integer(event.seqNum), .integer(event.parentSeqNum), .text(event.name),
                    event.args.map { .text($0.compactText) } ?? .null, .text(event.clientId), .text(event.sessionId)])
      }
      return .accepted(metadata: nil)
    }
  }

  public func close() async {}
}
