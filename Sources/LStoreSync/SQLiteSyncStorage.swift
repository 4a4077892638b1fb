import Foundation
import LStoreKit
import LStoreSQLite

/// The default backend storage: one SQLite file for all stores, one table per store and one
/// `lstore_sync_heads` table.
///
/// A store's table is `lstore_events_<lowercase hex of the storeId's UTF-8 bytes>`. SQLite
/// compares identifiers case-insensitively, so a table named after the storeId itself (schema
/// version 0, `eventlog_<storeId>`) let `abc` and `ABC` share one table; the hex name is
/// distinct for every distinct storeId, whatever its case, and never meets a reserved name.
/// The schema version is `PRAGMA user_version` (`schemaVersion`); opening an older file
/// renames its tables in one transaction, so no stored event is lost.
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

  /// The storage layout this code writes (`PRAGMA user_version`): 1 = hex table names,
  /// 2 = plus `lstore_sync_backend_ids` (LiveStore 0.4's backend id per store).
  /// Version 0 (no version set) named tables `eventlog_<storeId>`.
  public static let schemaVersion: Int64 = 2

  public init(path: String) throws {
    self.path = path
    writer = try Connection(path: path, mode: .create)
    try writer.execute("PRAGMA journal_mode=WAL")
    try writer.execute("PRAGMA synchronous=FULL")
    try writer.transaction(.immediate) {
      let version: Int64 = if case .integer(let value) = try writer.scalar("PRAGMA user_version") { value } else { 0 }
      guard version < Self.schemaVersion else {
        if version > Self.schemaVersion { throw NewerStorageVersion(path: path, version: version) }
        return
      }
      try writer.execute("""
        CREATE TABLE IF NOT EXISTS lstore_sync_heads (
          storeId TEXT PRIMARY KEY NOT NULL,
          head INTEGER NOT NULL
        ) STRICT
        """)
      // A store's backend id: 21 random characters of nanoid's alphabet, as LiveStore's
      // Durable Object makes it; created on first use, deleted by a reset.
      try writer.execute("""
        CREATE TABLE IF NOT EXISTS lstore_sync_backend_ids (
          storeId TEXT PRIMARY KEY NOT NULL,
          backendId TEXT NOT NULL
        ) STRICT
        """)
      if version == 0 { try Self.migrateFromVersion0(writer) }
      try writer.execute("PRAGMA user_version = \(Self.schemaVersion)")
    }
  }

  /// The bare table name of a store (not quoted).
  static func bareTableName(_ storeId: String) throws -> String {
    guard Identifiers.isValidStoreID(storeId) else { throw InvalidStoreID(storeId) }
    let hex = Array("0123456789abcdef".utf8)
    var name = Array("lstore_events_".utf8)
    for byte in storeId.utf8 { name += [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]] }
    return String(decoding: name, as: UTF8.self)
  }

  static func tableName(_ storeId: String) throws -> String { try bareTableName(storeId).quotedIdentifier }

  /// Version 0 named each store's table `eventlog_<storeId>`, spelled as the first push to
  /// it spelled the storeId (sqlite_master keeps that spelling). Each such table becomes the
  /// table of exactly that storeId. Tables that cannot be a version-0 store are left alone.
  private static func migrateFromVersion0(_ connection: Connection) throws {
    var old: [String] = []
    try connection.cached("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'eventlog_*'")
      .forEachRow { row in old.append(row.string(0)) }
    for name in old {
      let storeId = String(name.dropFirst("eventlog_".count))
      guard Identifiers.isValidStoreID(storeId) else { continue }
      let target = try bareTableName(storeId)
      guard try !connection.tableExists(target) else { continue }
      try connection.execute("ALTER TABLE \(name.quotedIdentifier) RENAME TO \(target.quotedIdentifier)")
    }
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

  /// Generation 0 always: only this process writes the file (see `position(storeId:)`).
  @discardableResult
  public func reset(storeId: String) throws -> Int64 {
    let table = try Self.tableName(storeId)
    writerLock.lock()
    defer { writerLock.unlock() }
    try writer.transaction(.immediate) {
      try writer.execute("DROP TABLE IF EXISTS \(table)")
      try writer.execute("DELETE FROM lstore_sync_heads WHERE storeId = ?", [.text(storeId)])
      try writer.execute("DELETE FROM lstore_sync_backend_ids WHERE storeId = ?", [.text(storeId)])
    }
    return 0
  }

  public func backendId(storeId: String) throws -> String {
    _ = try Self.tableName(storeId)
    let existing = try withReader { reader in
      try reader.scalar("SELECT backendId FROM lstore_sync_backend_ids WHERE storeId = ?", [.text(storeId)])
    }
    if case .text(let id) = existing { return id }
    writerLock.lock()
    defer { writerLock.unlock() }
    return try writer.transaction(.immediate) {
      try writer.execute("INSERT OR IGNORE INTO lstore_sync_backend_ids (storeId, backendId) VALUES (?, ?)",
                         [.text(storeId), .text(Identifiers.nanoid(length: 21))])
      let stored = try writer.scalar("SELECT backendId FROM lstore_sync_backend_ids WHERE storeId = ?", [.text(storeId)])
      guard case .text(let id) = stored else { throw SyncProtocolError("the backend id of \(storeId) could not be stored") }
      return id
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
    try events(storeId: storeId, after: after, through: through, limit: limit, maxBytes: .max)
  }

  public func events(storeId: String, after: Int64, through: Int64, limit: Int, maxBytes: Int) throws -> [PullItem] {
    let table = try Self.tableName(storeId)
    return try withReader { reader in
      guard try reader.tableExists(Self.bareTableName(storeId)) else { return [] }
      let select = try reader.cached("""
        SELECT seqNum, parentSeqNum, name, args, createdAt, clientId, sessionId FROM \(table)
        WHERE seqNum > ? AND seqNum <= ? ORDER BY seqNum LIMIT ?
        """)
      defer { select.reset() }
      select.bind([.integer(after), .integer(through), .integer(Int64(limit))])
      var items: [PullItem] = []
      items.reserveCapacity(min(limit, 1000))
      var bytes = 0
      while bytes < maxBytes, try select.step() {
        // Not a ternary: `nil` there would become JSONValue.null (it is ExpressibleByNilLiteral).
        var args: JSONValue? = nil
        if !select.isNull(3) {
          let text = select.utf8(3)
          bytes += text.count
          args = try JSONParser.parse(text)
        }
        let event = WireEvent(name: select.string(2), args: args, seqNum: select.int64(0), parentSeqNum: select.int64(1),
                              clientId: select.string(5), sessionId: select.string(6))
        items.append(PullItem(event: event, createdAt: select.string(4)))
      }
      return items
    }
  }

  public func count(storeId: String, after: Int64, through: Int64) throws -> Int64 {
    let table = try Self.tableName(storeId)
    return try withReader { reader in
      guard try reader.tableExists(Self.bareTableName(storeId)) else { return 0 }
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

/// A backend data file written by a newer lstore (a higher `PRAGMA user_version`).
public struct NewerStorageVersion: Error, CustomStringConvertible, Sendable {
  public let path: String
  public let version: Int64
  public var description: String {
    "\(path) has storage version \(version); this lstore reads version \(SQLiteSyncStorage.schemaVersion) or older (upgrade lstore)"
  }
}
