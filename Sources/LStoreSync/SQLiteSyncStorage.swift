import Foundation
import LStoreKit
import LStoreSQLite

/// The default backend storage: one SQLite file for all stores, one table per store
/// (`"eventlog_<storeId>"`, always quoted) and one `lstore_sync_heads` table.
///
/// Durability: WAL with `synchronous=FULL`, so a commit is on disk when `append` returns.
/// WAL also lets pulls read on their own connections while a push writes.
///
/// Thread safety: one writer connection behind a lock, and a small pool of read-only
/// connections; every `Connection` is used by one thread at a time.
public final class SQLiteSyncStorage: SyncBackendStorage, @unchecked Sendable {
  public let path: String
  private let writer: Connection
  private let writerLock = NSLock()
  private var idleReaders: [Connection] = []
  private let readersLock = NSLock()
  private static let maxIdleReaders = 8

  public init(path: String) throws {
    self.path = path
    writer = try Connection(path: path, mode: .create)
    try writer.execute("PRAGMA journal_mode=WAL")
    try writer.execute("PRAGMA synchronous=FULL")
    try writer.execute("""
      CREATE TABLE IF NOT EXISTS lstore_sync_heads (
        storeId TEXT PRIMARY KEY NOT NULL,
        head INTEGER NOT NULL
      ) STRICT
      """)
  }

  static func tableName(_ storeId: String) throws -> String {
    guard Identifiers.isValidStoreID(storeId) else { throw InvalidStoreID(storeId) }
    return ("eventlog_" + storeId).quotedIdentifier
  }

  // MARK: - Writes

  public func append(storeId: String, events: [WireEvent], createdAt: String, expectedHead: Int64) throws {
    let table = try Self.tableName(storeId)
    guard let last = events.last else { return }
    writerLock.lock()
    defer { writerLock.unlock() }
    try writer.transaction(.immediate) {
      let stored = try writer.scalar("SELECT head FROM lstore_sync_heads WHERE storeId = ?", [.text(storeId)])
      let storedHead: Int64 = if case .integer(let value) = stored { value } else { 0 }
      guard storedHead == expectedHead else { throw StorageHeadMismatch(storedHead: storedHead) }
      try writer.execute("""
        CREATE TABLE IF NOT EXISTS \(table) (
          seqNum INTEGER PRIMARY KEY NOT NULL,
          parentSeqNum INTEGER NOT NULL,
          name TEXT NOT NULL,
          args TEXT,
          createdAt TEXT NOT NULL,
          clientId TEXT NOT NULL,
          sessionId TEXT NOT NULL
        ) STRICT
        """)
      let insert = try writer.cached("""
        INSERT INTO \(table) (seqNum, parentSeqNum, name, args, createdAt, clientId, sessionId)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        """)
      for event in events {
        insert.bind(event.seqNum, at: 1)
        insert.bind(event.parentSeqNum, at: 2)
        insert.bind(event.name, at: 3)
        if let args = event.args { insert.bind(args.compactText, at: 4) } else { insert.bindNull(at: 4) }
        insert.bind(createdAt, at: 5)
        insert.bind(event.clientId, at: 6)
        insert.bind(event.sessionId, at: 7)
        try insert.execute()
      }
      try writer.execute(
        "INSERT INTO lstore_sync_heads (storeId, head) VALUES (?, ?) ON CONFLICT (storeId) DO UPDATE SET head = excluded.head",
        [.text(storeId), .integer(last.seqNum)])
    }
  }

  public func reset(storeId: String) throws {
    let table = try Self.tableName(storeId)
    writerLock.lock()
    defer { writerLock.unlock() }
    try writer.transaction(.immediate) {
      try writer.execute("DROP TABLE IF EXISTS \(table)")
      try writer.execute("DELETE FROM lstore_sync_heads WHERE storeId = ?", [.text(storeId)])
    }
  }

  // MARK: - Reads

  public func head(storeId: String) throws -> Int64 {
    _ = try Self.tableName(storeId)
    return try withReader { reader in
      let value = try reader.scalar("SELECT head FROM lstore_sync_heads WHERE storeId = ?", [.text(storeId)])
      if case .integer(let head) = value { return head }
      return 0
    }
  }

  public func events(storeId: String, after: Int64, through: Int64, limit: Int) throws -> [PullItem] {
    let table = try Self.tableName(storeId)
    return try withReader { reader in
      guard try reader.tableExists("eventlog_" + storeId) else { return [] }
      let select = try reader.cached("""
        SELECT seqNum, parentSeqNum, name, args, createdAt, clientId, sessionId FROM \(table)
        WHERE seqNum > ? AND seqNum <= ? ORDER BY seqNum LIMIT ?
        """)
      var items: [PullItem] = []
      items.reserveCapacity(min(limit, 1000))
      try select.forEachRow([.integer(after), .integer(through), .integer(Int64(limit))]) { row in
        // Not a ternary: `nil` there would become JSONValue.null (it is ExpressibleByNilLiteral).
        var args: JSONValue? = nil
        if !row.isNull(3) { args = try JSONParser.parse(row.utf8(3)) }
        let event = WireEvent(name: row.string(2), args: args, seqNum: row.int64(0), parentSeqNum: row.int64(1),
                              clientId: row.string(5), sessionId: row.string(6))
        items.append(PullItem(event: event, createdAt: row.string(4)))
      }
      return items
    }
  }

  public func count(storeId: String, after: Int64, through: Int64) throws -> Int64 {
    let table = try Self.tableName(storeId)
    return try withReader { reader in
      guard try reader.tableExists("eventlog_" + storeId) else { return 0 }
      let value = try reader.scalar("SELECT COUNT(*) FROM \(table) WHERE seqNum > ? AND seqNum <= ?",
                                    [.integer(after), .integer(through)])
      if case .integer(let count) = value { return count }
      return 0
    }
  }

  /// Runs `body` with a read-only connection from the pool (or a new one).
  private func withReader<T>(_ body: (Connection) throws -> T) throws -> T {
    readersLock.lock()
    let pooled = idleReaders.popLast()
    readersLock.unlock()
    let reader = try pooled ?? Connection(path: path, mode: .readOnly)
    defer {
      readersLock.lock()
      if idleReaders.count < Self.maxIdleReaders { idleReaders.append(reader) }
      readersLock.unlock()
    }
    return try body(reader)
  }
}
