/// Where a sync backend keeps its stores: an append-only, gap-free event order per store
/// and the head of each. Implementations are synchronous and may block (disk I/O); the
/// backend calls them off Swift's cooperative thread pool and never concurrently for
/// writes to one store; nor for writes to different stores, unless the storage `isShared`.
public protocol SyncBackendStorage: AnyObject, Sendable {
  /// The store's head: the seqNum of its last event, 0 when empty or unknown.
  func head(storeId: String) throws -> Int64

  /// Appends `events` after `expectedHead` and makes the new head the last event's seqNum,
  /// in one durable transaction: when this returns, both survive a crash. Throws
  /// `StorageHeadMismatch` when the stored head is not `expectedHead` (another process
  /// wrote to the same storage).
  func append(storeId: String, events: [WireEvent], createdAt: String, expectedHead: Int64) throws

  /// Up to `limit` events with `after < seqNum <= through`, ascending.
  func events(storeId: String, after: Int64, through: Int64, limit: Int) throws -> [PullItem]

  /// As `events(storeId:after:through:limit:)`, stopping after the event whose args bring
  /// the read to `maxBytes` of args text (at least one event): a pull's read-ahead of many
  /// events is then bounded by bytes, not only by count, whatever the events' sizes.
  func events(storeId: String, after: Int64, through: Int64, limit: Int, maxBytes: Int) throws -> [PullItem]

  /// How many events have `after < seqNum <= through`.
  func count(storeId: String, after: Int64, through: Int64) throws -> Int64

  /// Deletes the store's events, head and backend id. Returns the store's generation after
  /// the reset (see `position(storeId:)`).
  @discardableResult
  func reset(storeId: String) throws -> Int64

  /// The store's head and its generation, read together (see the default below).
  func position(storeId: String) throws -> StorePosition

  /// The store's backend id (LiveStore 0.4's `backendId`), created and made durable on
  /// first use: stable for the life of the store's data, new after `reset`.
  func backendId(storeId: String) throws -> String

  /// Whether other processes write the same stores (see the default below).
  var isShared: Bool { get }

  /// Delivers other processes' changes (see the default below).
  func observeChanges(_ handler: @escaping @Sendable (StorageChange) -> Void)
}

/// Where a store stands: its head, and its generation, which every reset moves on. Other
/// nodes can reset a shared store at any time, notified or not; a generation that moved
/// tells a backend that the events it broadcast belong to a history that is gone.
public struct StorePosition: Sendable, Equatable {
  public let head: Int64
  /// How many times the store was reset; only grows.
  public let generation: Int64
  public init(head: Int64, generation: Int64) {
    self.head = head
    self.generation = generation
  }
}

/// What a shared storage tells its backend: another node (or this one) changed a store.
public enum StorageChange: Sendable, Equatable {
  /// The store's events or head changed; `head` is the head the change left, when known.
  case store(String, head: Int64?)
  /// Changes may have been missed (the notification channel was (re)connected): every
  /// store the backend follows must be re-read.
  case unknown
}

extension SyncBackendStorage {
  /// Whether other processes write the same stores (several `lstore serve` nodes on one
  /// PostgreSQL database). A shared storage's head is read from it for every use, never
  /// cached, and its changes arrive through `observeChanges`.
  public var isShared: Bool { false }

  /// Calls `handler` for every change other processes make (and may call it for this
  /// process's own), replacing any earlier handler: one backend per storage. Storages only
  /// this process writes never call it.
  public func observeChanges(_ handler: @escaping @Sendable (StorageChange) -> Void) {}

  /// The head, generation 0: a storage only this process writes need not count resets (its
  /// backend makes them all itself).
  public func position(storeId: String) throws -> StorePosition {
    StorePosition(head: try head(storeId: storeId), generation: 0)
  }
}

/// The stored head moved under the backend (two servers writing one storage).
public struct StorageHeadMismatch: Error, Sendable, CustomStringConvertible {
  public let storedHead: Int64
  public init(storedHead: Int64) { self.storedHead = storedHead }
  public var description: String {
    "the store's head moved to e\(storedHead) while the push was being written (pull, then push again)"
  }
}

/// A store id the backend refuses: it must pass `Identifiers.isValidStoreID`
/// (1–64 characters of `A–Z a–z 0–9 _ - .`), so it can never reach SQL or a path unescaped.
public struct InvalidStoreID: Error, Sendable, CustomStringConvertible {
  public let storeId: String
  public init(_ storeId: String) { self.storeId = storeId }
  public var description: String {
    "Invalid storeId \"\(storeId.prefix(80))\": use 1 to 64 characters from A-Z a-z 0-9 _ - ."
  }
}

extension SyncBackendStorage {
  /// Storage that cannot stop by bytes (test doubles) reads by count alone.
  public func events(storeId: String, after: Int64, through: Int64, limit: Int, maxBytes: Int) throws -> [PullItem] {
    try events(storeId: storeId, after: after, through: through, limit: limit)
  }
}
