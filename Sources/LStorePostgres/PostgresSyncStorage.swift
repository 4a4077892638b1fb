import Foundation
import LStoreKit
import LStoreSync
import Logging
import PostgresNIO

/// Backend storage in a PostgreSQL database that several `lstore serve` nodes share.
///
/// Schema (version `schemaVersion`, kept in `lstore_meta`; created on first start under an
/// advisory lock so two nodes starting together do not race):
///
///     lstore_meta   (key text PRIMARY KEY, value text)              -- schema_version
///     lstore_stores (store_id text PRIMARY KEY, head bigint, backend_id text,
///                    resets bigint)                                   -- since version 2
///     lstore_events (store_id text, seq_num bigint, parent_seq_num bigint, name text,
///                    args text, created_at text, client_id text, session_id text,
///                    PRIMARY KEY (store_id, seq_num))
///
/// A storeId is only ever a bound parameter, never part of the SQL text.
///
/// One writer per store across all nodes: `append` locks the store's `lstore_stores` row
/// (`SELECT … FOR UPDATE`) in the transaction that checks the head, inserts the events and
/// moves the head, so a second node's append waits for the first and then sees the head it
/// left (`StorageHeadMismatch`, which the backend answers by validating again). The commit
/// runs with `synchronous_commit = on`, so an acknowledged push is on the database's disk.
/// The same transaction sends `NOTIFY lstore_events, '<head> <storeId>'`; every node
/// LISTENs (`observeChanges`) and re-reads the store, and when its listening connection was
/// lost it re-reads every store it serves (`.unknown`), so missed notifications cost a read,
/// never an event. A reset keeps the store's row and counts itself in `resets` (the store's
/// generation), so a node that reads the row later, notified or not, knows that the history
/// it broadcast is gone.
///
/// The protocol is synchronous (the backend calls it on Dispatch threads, off Swift's
/// cooperative pool): each call runs its queries on a pooled connection and waits.
public final class PostgresSyncStorage: SyncBackendStorage, @unchecked Sendable {
  public let url: PostgresURL
  private let client: PostgresClient
  private let logger: Logger
  private let state = Locked(State())
  private var tasks: [Task<Void, Never>] = []

  private struct State {
    var handler: (@Sendable (StorageChange) -> Void)?
    var listening = false
    var lastError: String?
  }

  /// The layout this code writes; a database with a higher one was set up by a newer lstore.
  public static let schemaVersion = 2
  /// The NOTIFY channel every node LISTENs on.
  public static let channel = "lstore_events"
  /// The listening connection's `application_name` (to tell it apart in pg_stat_activity).
  public static let listenerApplicationName = "lstore serve listener"
  /// How long one storage call may wait for the database (a lease while it is down, a lock
  /// held by a stuck node) before it fails, so a push is refused rather than hung.
  public static let defaultOperationTimeout: Duration = .seconds(10)
  let operationTimeout: Duration

  public var isShared: Bool { true }

  /// Connects, creates or checks the schema, and starts the pool and the listener.
  ///
  /// - Throws: `PostgresStartError` saying what is wrong (server down, login refused, no
  ///   such database, a newer schema) in terms of the URL.
  public static func open(_ url: PostgresURL, logger: Logger,
                          operationTimeout: Duration = defaultOperationTimeout) async throws -> PostgresSyncStorage {
    let connection: PostgresConnection
    do {
      connection = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(), id: 0, logger: logger)
    } catch {
      throw PostgresStartError.classify(error, url: url)
    }
    do {
      try await createSchema(connection, logger: logger)
      try? await connection.close()
    } catch {
      try? await connection.close()
      if let error = error as? PostgresStartError { throw error }
      throw PostgresStartError(kind: .failed, message: "setting up the lstore tables in \(url) failed: \(PostgresStartError.text(of: error))")
    }
    return PostgresSyncStorage(url: url, logger: logger, operationTimeout: operationTimeout)
  }

  private init(url: PostgresURL, logger: Logger, operationTimeout: Duration) {
    self.url = url
    self.logger = logger
    self.operationTimeout = operationTimeout
    var configuration = url.clientConfiguration()
    configuration.options.connectTimeout = .seconds(5)
    configuration.options.maximumConnections = 16
    // Durable before the ack, whatever the server's or the role's default: the client's
    // startup parameters win over both.
    configuration.options.additionalStartupParameters = [("application_name", "lstore serve"), ("synchronous_commit", "on")]
    // postgres-nio logs every failed connection attempt at info: while the database is
    // down that is a line per retry. The listener's warning says it once.
    var poolLogger = logger
    if poolLogger.logLevel > .debug { poolLogger.logLevel = .error }
    client = PostgresClient(configuration: configuration, backgroundLogger: poolLogger)
    let client = client
    tasks.append(Task { await client.run() })
    tasks.append(Task { [weak self] in await self?.listen() })
  }

  /// Stops the listener and closes the pool's connections.
  public func shutdown() {
    for task in tasks { task.cancel() }
    tasks = []
  }

  deinit { for task in tasks { task.cancel() } }

  private static func createSchema(_ connection: PostgresConnection, logger: Logger) async throws {
    try await connection.query("BEGIN", logger: logger)
    do {
      // Any constant: nodes starting together take turns here.
      try await connection.query("SELECT pg_advisory_xact_lock(7450142)", logger: logger)
      try await connection.query("CREATE TABLE IF NOT EXISTS lstore_meta (key text PRIMARY KEY, value text NOT NULL)", logger: logger)
      var version = 0
      for try await value in try await connection.query(
        "SELECT value FROM lstore_meta WHERE key = 'schema_version'", logger: logger).decode(String.self) {
        version = Int(value) ?? Int.max
      }
      if version > schemaVersion {
        throw PostgresStartError(kind: .failed, message: "the database has lstore schema version \(version); this lstore knows version \(schemaVersion) or older (upgrade lstore)")
      }
      if version < schemaVersion {
        try await connection.query("""
          CREATE TABLE IF NOT EXISTS lstore_stores (
            store_id text PRIMARY KEY,
            head bigint NOT NULL DEFAULT 0,
            backend_id text,
            resets bigint NOT NULL DEFAULT 0)
          """, logger: logger)
        // Version 1 → 2: resets are counted (a version-1 reset deleted the row).
        try await connection.query("ALTER TABLE lstore_stores ADD COLUMN IF NOT EXISTS resets bigint NOT NULL DEFAULT 0",
                                   logger: logger)
        try await connection.query("""
          CREATE TABLE IF NOT EXISTS lstore_events (
            store_id text NOT NULL,
            seq_num bigint NOT NULL,
            parent_seq_num bigint NOT NULL,
            name text NOT NULL,
            args text,
            created_at text NOT NULL,
            client_id text NOT NULL,
            session_id text NOT NULL,
            PRIMARY KEY (store_id, seq_num))
          """, logger: logger)
        let text = String(schemaVersion)
        try await connection.query("""
          INSERT INTO lstore_meta (key, value) VALUES ('schema_version', \(text))
          ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
          """, logger: logger)
      }
      try await connection.query("COMMIT", logger: logger)
    } catch {
      _ = try? await connection.query("ROLLBACK", logger: logger)
      throw error
    }
  }

  // MARK: - Running async work from the synchronous protocol

  private final class Box<T>: @unchecked Sendable { var result: Result<T, Error>? }

  /// Runs `work` and waits for it, at most `operationTimeout`. Only called on Dispatch
  /// threads (`BlockingIO`), which may block; the work itself runs on the cooperative pool
  /// and NIO's event loops. On timeout the work is cancelled and left to finish on its own
  /// (a query in flight is not interruptible): the caller is free at once, and a commit that
  /// still lands later is one the backend did not acknowledge (its client finds its events
  /// on the next pull, as after any lost acknowledgement).
  private func blocking<T>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let box = Box<T>()
    let done = DispatchSemaphore(value: 0)
    let task = Task.detached {
      do {
        box.result = .success(try await work())
      } catch {
        box.result = .failure(error)
      }
      done.signal()
    }
    let (whole, fraction) = operationTimeout.components
    let seconds = Double(whole) + Double(fraction) / 1e18
    guard done.wait(timeout: .now() + seconds) == .success else {
      task.cancel()
      throw PostgresUnavailable.timedOut
    }
    return try box.result!.get()
  }

  /// Runs `body` in a transaction on one pooled connection; rolls back when it throws.
  private func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) throws -> T {
    let (client, logger) = (client, logger)
    return try blocking {
      try await client.withConnection { connection in
        try await connection.query("BEGIN", logger: logger)
        do {
          let value = try await body(connection, logger)
          try await connection.query("COMMIT", logger: logger)
          return value
        } catch {
          _ = try? await connection.query("ROLLBACK", logger: logger)
          throw error
        }
      }
    }
  }

  private func read<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) throws -> T {
    let (client, logger) = (client, logger)
    return try blocking { try await client.withConnection { try await body($0, logger) } }
  }

  // MARK: - Writes

  public func append(storeId: String, events: [WireEvent], createdAt: String, expectedHead: Int64) throws {
    try SyncBackend.validate(storeId: storeId)
    guard let last = events.last else { return }
    let seqNums = events.map(\.seqNum), parents = events.map(\.parentSeqNum), names = events.map(\.name)
    // NULLIF turns "" back into NULL: stored args are JSON text, never empty.
    let args = events.map { $0.args?.compactText ?? "" }
    let clients = events.map(\.clientId), sessions = events.map(\.sessionId)
    let head = last.seqNum
    let payload = "\(head) \(storeId)"
    try transaction { connection, logger in
      try await connection.query("INSERT INTO lstore_stores (store_id) VALUES (\(storeId)) ON CONFLICT (store_id) DO NOTHING",
                                 logger: logger)
      var stored: Int64 = 0
      for try await value in try await connection.query(
        "SELECT head FROM lstore_stores WHERE store_id = \(storeId) FOR UPDATE", logger: logger).decode(Int64.self) {
        stored = value
      }
      guard stored == expectedHead else { throw StorageHeadMismatch(storedHead: stored) }
      try await connection.query("""
        INSERT INTO lstore_events (store_id, seq_num, parent_seq_num, name, args, created_at, client_id, session_id)
        SELECT \(storeId), s, p, n, NULLIF(a, ''), \(createdAt), c, e
        FROM UNNEST(\(seqNums)::bigint[], \(parents)::bigint[], \(names)::text[], \(args)::text[],
                    \(clients)::text[], \(sessions)::text[]) AS t(s, p, n, a, c, e)
        """, logger: logger)
      try await connection.query("""
        WITH moved AS (UPDATE lstore_stores SET head = \(head) WHERE store_id = \(storeId) RETURNING store_id)
        SELECT pg_notify('lstore_events', \(payload)) FROM moved
        """, logger: logger)
    }
  }

  /// Deletes the events and zeroes the head, keeping the row: its `resets` (the generation)
  /// goes up by one, under the row lock pushes take, in the transaction that deletes.
  @discardableResult
  public func reset(storeId: String) throws -> Int64 {
    try SyncBackend.validate(storeId: storeId)
    let payload = "0 \(storeId)"
    return try transaction { connection, logger in
      var generation: Int64 = 0
      for try await value in try await connection.query("""
        INSERT INTO lstore_stores (store_id, resets) VALUES (\(storeId), 1)
        ON CONFLICT (store_id) DO UPDATE SET head = 0, backend_id = NULL, resets = lstore_stores.resets + 1
        RETURNING resets
        """, logger: logger).decode(Int64.self) {
        generation = value
      }
      try await connection.query("DELETE FROM lstore_events WHERE store_id = \(storeId)", logger: logger)
      try await connection.query("SELECT pg_notify('lstore_events', \(payload))", logger: logger)
      return generation
    }
  }

  public func backendId(storeId: String) throws -> String {
    try SyncBackend.validate(storeId: storeId)
    let fresh = Identifiers.nanoid(length: 21)
    return try read { connection, logger in
      for try await id in try await connection.query(
        "SELECT backend_id FROM lstore_stores WHERE store_id = \(storeId)", logger: logger).decode(String?.self) {
        if let id { return id }
      }
      // Two nodes making it at once keep the first one stored.
      for try await id in try await connection.query("""
        INSERT INTO lstore_stores (store_id, backend_id) VALUES (\(storeId), \(fresh))
        ON CONFLICT (store_id) DO UPDATE SET backend_id = COALESCE(lstore_stores.backend_id, EXCLUDED.backend_id)
        RETURNING backend_id
        """, logger: logger).decode(String.self) {
        return id
      }
      throw SyncProtocolError("the backend id of \(storeId) could not be stored")
    }
  }

  // MARK: - Reads

  public func head(storeId: String) throws -> Int64 {
    try SyncBackend.validate(storeId: storeId)
    return try read { connection, logger in
      for try await head in try await connection.query(
        "SELECT head FROM lstore_stores WHERE store_id = \(storeId)", logger: logger).decode(Int64.self) {
        return head
      }
      return 0
    }
  }

  /// The store's head and generation (its count of resets), read together.
  public func position(storeId: String) throws -> StorePosition {
    try SyncBackend.validate(storeId: storeId)
    return try read { connection, logger in
      for try await (head, resets) in try await connection.query(
        "SELECT head, resets FROM lstore_stores WHERE store_id = \(storeId)", logger: logger).decode((Int64, Int64).self) {
        return StorePosition(head: head, generation: resets)
      }
      return StorePosition(head: 0, generation: 0)
    }
  }

  /// Reads a page with a query bounded by seqNum, not only by `LIMIT`. Stored seqNums are
  /// gap-free per store (the backend accepts only pushes that continue the head by one), so
  /// the next `limit` events are exactly those in `(after, after + limit]`. With only a
  /// `LIMIT`, PostgreSQL picks its plan from the table's statistics, and while they do not
  /// know the store yet (a new table, or a store pushed since the last ANALYZE) it picked a
  /// bitmap scan of every event after the cursor and a sort, for each page: a pull of N
  /// events then read about N²/2000 rows (50–70 ms a page at 200,000 events, measured).
  /// Bounded, a page's query reads its own rows whatever the plan. Should a store ever have
  /// a gap, the rest of the page is read after the bound.
  public func events(storeId: String, after: Int64, through: Int64, limit: Int) throws -> [PullItem] {
    try events(storeId: storeId, after: after, through: through, limit: limit, maxBytes: .max)
  }

  public func events(storeId: String, after: Int64, through: Int64, limit: Int, maxBytes: Int) throws -> [PullItem] {
    try SyncBackend.validate(storeId: storeId)
    guard limit > 0, after < through else { return [] }
    return try read { connection, logger in
      let (page, bound) = Self.pageQuery(storeId: storeId, after: after, through: through, limit: limit)
      var bytes = 0
      var items = try await Self.events(connection, logger, page, bytes: &bytes, maxBytes: maxBytes)
      if items.count < limit && bound < through && bytes < maxBytes {
        let (rest, _) = Self.pageQuery(storeId: storeId, after: bound, through: through, limit: limit - items.count, bounded: false)
        items += try await Self.events(connection, logger, rest, bytes: &bytes, maxBytes: maxBytes)
      }
      return items
    }
  }

  /// The query for up to `limit` events of `storeId` in `(after, through]`, ascending, and
  /// the seqNum it reads through: `after + limit` when `bounded` (see `events`), else `through`.
  static func pageQuery(storeId: String, after: Int64, through: Int64, limit: Int,
                        bounded: Bool = true) -> (PostgresQuery, bound: Int64) {
    let (distance, overflow) = through.subtractingReportingOverflow(after)
    let bound = bounded && (overflow || distance > Int64(limit)) ? after + Int64(limit) : through
    let limit = Int64(limit)
    return ("""
      SELECT seq_num, parent_seq_num, name, args, created_at, client_id, session_id FROM lstore_events
      WHERE store_id = \(storeId) AND seq_num > \(after) AND seq_num <= \(bound) ORDER BY seq_num LIMIT \(limit)
      """, bound)
  }

  /// The rows of `query`, stopped (the rest left unread) once their args text reaches
  /// `maxBytes` in all, counted in `bytes`.
  private static func events(_ connection: PostgresConnection, _ logger: Logger, _ query: PostgresQuery,
                             bytes: inout Int, maxBytes: Int) async throws -> [PullItem] {
    let rows = try await connection.query(query, logger: logger)
    var items: [PullItem] = []
    for try await (seqNum, parent, name, args, createdAt, clientId, sessionId)
          in rows.decode((Int64, Int64, String, String?, String, String, String).self) {
      var parsed: JSONValue? = nil
      if let args {
        bytes += args.utf8.count
        parsed = try JSONParser.parse(Array(args.utf8))
      }
      let event = WireEvent(name: name, args: parsed, seqNum: seqNum, parentSeqNum: parent,
                            clientId: clientId, sessionId: sessionId)
      items.append(PullItem(event: event, createdAt: createdAt))
      if bytes >= maxBytes { break }
    }
    return items
  }

  public func count(storeId: String, after: Int64, through: Int64) throws -> Int64 {
    try SyncBackend.validate(storeId: storeId)
    return try read { connection, logger in
      for try await count in try await connection.query("""
        SELECT count(*) FROM lstore_events WHERE store_id = \(storeId) AND seq_num > \(after) AND seq_num <= \(through)
        """, logger: logger).decode(Int64.self) {
        return count
      }
      return 0
    }
  }

  // MARK: - Changes from other nodes

  public func observeChanges(_ handler: @escaping @Sendable (StorageChange) -> Void) {
    state.withLock { $0.handler = handler }
  }

  private func report(_ change: StorageChange) {
    state.withLock { $0.handler }?(change)
  }

  /// Keeps one connection LISTENing for the life of the storage: reconnects with backoff
  /// (0.1 s doubling to 5 s) when it drops, and after each (re)connect reports `.unknown`,
  /// because notifications sent while it was away are gone. A query every 5 s notices a
  /// connection that died silently.
  private func listen() async {
    var delay: Duration = .milliseconds(100)
    var connectionId = 1
    while !Task.isCancelled {
      do {
        connectionId += 1
        var configuration = try url.connectionConfiguration()
        configuration.options.additionalStartupParameters = [("application_name", Self.listenerApplicationName)]
        let connection = try await PostgresConnection.connect(configuration: configuration, id: connectionId, logger: logger)
        do {
          try await connection.listen(on: Self.channel) { notifications in
            state.withLock {
              $0.listening = true
              $0.lastError = nil
            }
            delay = .milliseconds(100)
            logger.info("listening for other nodes' pushes", metadata: ["database": "\(url)"])
            report(.unknown)
            let logger = logger
            try await withThrowingTaskGroup(of: Void.self) { group in
              group.addTask { [weak self] in
                for try await notification in notifications { self?.notified(notification.payload) }
                throw PostgresUnavailable.listenEnded
              }
              group.addTask {
                // A database that stops answering (a host gone without a reset) must end
                // the listening as one that closes the connection does.
                while true {
                  try await Task.sleep(for: .seconds(5))
                  try await answered(within: .seconds(5)) { _ = try await connection.query("SELECT 1", logger: logger) }
                }
              }
              defer { group.cancelAll() }
              try await group.next()
            }
          }
        } catch {
          try? await connection.close()
          throw error
        }
      } catch {
        if Task.isCancelled { break }
        let text = PostgresStartError.text(of: error)
        let wasListening = state.withLock { state -> Bool in
          defer {
            state.listening = false
            state.lastError = text
          }
          return state.listening
        }
        if wasListening {
          logger.warning("lost the database's notifications; reconnecting", metadata: ["database": "\(url)", "error": "\(text)"])
        } else {
          logger.debug("cannot listen yet; retrying", metadata: ["database": "\(url)", "error": "\(text)"])
        }
      }
      try? await Task.sleep(for: delay)
      delay = min(delay * 2, .seconds(5))
    }
    state.withLock { $0.listening = false }
  }

  private func notified(_ payload: String) {
    guard let space = payload.firstIndex(of: " ") else { return }
    let storeId = String(payload[payload.index(after: space)...])
    guard Identifiers.isValidStoreID(storeId) else { return }
    report(.store(storeId, head: Int64(payload[..<space])))
  }

  // MARK: - Health

  /// The database as this node sees it right now (a `SELECT 1` answered within 2 s) and
  /// whether it receives other nodes' notifications.
  public func health() async -> PostgresHealth {
    let (client, logger) = (client, logger)
    let reachable: String?
    do {
      try await answered(within: .seconds(2)) { _ = try await client.query("SELECT 1", logger: logger) }
      reachable = nil
    } catch {
      reachable = PostgresStartError.text(of: error)
    }
    let (listening, lastError) = state.withLock { ($0.listening, $0.lastError) }
    // The listener's error says why ("connection refused"); a timed-out query only that.
    return PostgresHealth(reachable: reachable == nil, listening: listening,
                          error: reachable == nil && listening ? nil : (lastError ?? reachable))
  }
}

/// What `/health` reports about the database.
public struct PostgresHealth: Sendable {
  /// A query was answered just now.
  public let reachable: Bool
  /// The node receives other nodes' notifications (live fan-out works).
  public let listening: Bool
  /// The latest error, if the database or the listener is not well.
  public let error: String?
}

/// The database did not answer in time, or the notification stream ended.
public enum PostgresUnavailable: Error, CustomStringConvertible, Sendable {
  case timedOut
  case listenEnded
  public var description: String {
    switch self {
    case .timedOut: "the PostgreSQL database did not answer in time"
    case .listenEnded: "the PostgreSQL notification stream ended"
    }
  }
}
