import Foundation
import LStoreKit

/// The sync backend: validates and stores pushes, serves pulls, and broadcasts every
/// accepted push to the subscribers of its store.
///
/// Pushes to one store run one at a time, in arrival order (a FIFO lock per store); pulls
/// never take that lock, so they run concurrently with pushes and with each other. An
/// acknowledgement is only given after the storage transaction holding the events and the
/// new head is durable.
public actor SyncBackend {
  public let storage: any SyncBackendStorage
  private let clock: @Sendable () -> String
  private var stores: [String: StoreState] = [:]
  private var nextSubscriberID: UInt64 = 0

  /// An accepted push as every subscriber of the store receives it: LiveStore's
  /// `PullRes` with `requestId = {context: "push", requestId: <the PushReq's id>}`.
  public struct Broadcast: Sendable {
    public let storeId: String
    public let response: PullResponse
    /// `response` encoded once for all subscribers.
    public let text: String
    public var lastSeqNum: Int64 { response.lastSeqNum ?? 0 }
  }

  public typealias Subscriber = @Sendable (Broadcast) -> Void

  public struct Subscription: Hashable, Sendable {
    public let storeId: String
    let id: UInt64
  }

  private struct StoreState {
    var head: Int64?
    var pushing = false
    var waiters: [CheckedContinuation<Void, Never>] = []
    var subscribers: [UInt64: Subscriber] = [:]
  }

  /// - Parameter clock: the `createdAt` stamped on accepted events (ISO-8601 with ms).
  public init(storage: any SyncBackendStorage, clock: @escaping @Sendable () -> String = SyncBackend.now) {
    self.storage = storage
    self.clock = clock
  }

  public static func now() -> String {
    ISODate.format(millis: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
  }

  public static func validate(storeId: String) throws {
    guard Identifiers.isValidStoreID(storeId) else { throw InvalidStoreID(storeId) }
  }

  // MARK: - Heads

  /// The store's head (0 for a store nobody pushed to).
  public func head(storeId: String) async throws -> Int64 {
    try Self.validate(storeId: storeId)
    if let head = stores[storeId]?.head { return head }
    let storage = storage
    let head = try await BlockingIO.run(on: BlockingIO.reads) { try storage.head(storeId: storeId) }
    // A push may have set the head while we read; the cache only fills an empty slot.
    if stores[storeId] == nil { stores[storeId] = StoreState() }
    if stores[storeId]!.head == nil { stores[storeId]!.head = head }
    return stores[storeId]!.head!
  }

  // MARK: - Push

  /// Validates and stores a batch, then broadcasts it.
  ///
  /// - Parameters:
  ///   - requestId: the push's id, echoed in the broadcast's `requestId.requestId`.
  ///   - onAccepted: called once the batch is durable and before anything is broadcast,
  ///     so a connection can queue its `PushAck` ahead of the echo of its own push.
  /// - Returns: the new head.
  /// - Throws: `PushRejection` when the batch is refused (nothing stored), `InvalidStoreID`,
  ///   or a storage error (nothing acknowledged).
  @discardableResult
  public func push(storeId: String, batch: [WireEvent], requestId: String,
                   onAccepted: (@Sendable (Int64) -> Void)? = nil) async throws -> Int64 {
    try Self.validate(storeId: storeId)
    try PushValidation.checkShape(batch)
    await acquirePushLock(storeId)
    defer { releasePushLock(storeId) }
    let head = try await self.head(storeId: storeId)
    try PushValidation.checkParent(batch, head: head)
    let createdAt = clock()
    let storage = storage
    do {
      try await BlockingIO.run(on: BlockingIO.writes) {
        try storage.append(storeId: storeId, events: batch, createdAt: createdAt, expectedHead: head)
      }
    } catch let mismatch as StorageHeadMismatch {
      stores[storeId]?.head = mismatch.storedHead
      try PushValidation.checkParent(batch, head: mismatch.storedHead)
      throw mismatch
    }
    let newHead = batch[batch.count - 1].seqNum
    stores[storeId]?.head = newHead
    onAccepted?(newHead)
    let response = PullResponse(batch: batch.map { PullItem(event: $0, createdAt: createdAt) },
                                context: .push, requestId: requestId, remaining: 0)
    let broadcast = Broadcast(storeId: storeId, response: response, text: SyncMessage.pullResponse(response).encoded())
    for subscriber in stores[storeId]?.subscribers.values.map({ $0 }) ?? [] { subscriber(broadcast) }
    return newHead
  }

  private func acquirePushLock(_ storeId: String) async {
    if stores[storeId] == nil { stores[storeId] = StoreState() }
    if !stores[storeId]!.pushing {
      stores[storeId]!.pushing = true
      return
    }
    await withCheckedContinuation { stores[storeId]!.waiters.append($0) }
  }

  /// Hands the lock to the next waiter (so order is first come, first served) or frees it.
  private func releasePushLock(_ storeId: String) {
    if stores[storeId]!.waiters.isEmpty {
      stores[storeId]!.pushing = false
    } else {
      stores[storeId]!.waiters.removeFirst().resume()
    }
  }

  // MARK: - Pull

  /// A consistent view for one pull: the events in `(after, head]`, `total` of them.
  public struct PullSnapshot: Sendable, Equatable {
    public let storeId: String
    public let after: Int64
    public let head: Int64
    public let total: Int64
  }

  /// Fixes what a pull will return: everything after `cursor` up to the current head.
  /// Events accepted later reach the puller as broadcasts.
  public func pullSnapshot(storeId: String, cursor: Int64?) async throws -> PullSnapshot {
    let head = try await self.head(storeId: storeId)
    let after = max(cursor ?? 0, 0)
    let storage = storage
    let total = after >= head ? 0 : try await BlockingIO.run(on: BlockingIO.reads) {
      try storage.count(storeId: storeId, after: after, through: head)
    }
    return PullSnapshot(storeId: storeId, after: after, head: head, total: total)
  }

  /// The pages of a pull, read from storage one at a time as they are consumed, so a
  /// pull of a million events holds one page in memory.
  public nonisolated func pages(of snapshot: PullSnapshot, pageSize: Int = PullPaging.pageSize) -> PullPages {
    PullPages(storage: storage, snapshot: snapshot, pageSize: pageSize)
  }

  // MARK: - Subscriptions

  /// Calls `deliver` for every push accepted for `storeId` from now on, in order,
  /// synchronously from the backend (so it must only queue the broadcast).
  public func subscribe(storeId: String, _ deliver: @escaping Subscriber) throws -> Subscription {
    try Self.validate(storeId: storeId)
    nextSubscriberID += 1
    stores[storeId, default: StoreState()].subscribers[nextSubscriberID] = deliver
    return Subscription(storeId: storeId, id: nextSubscriberID)
  }

  public func unsubscribe(_ subscription: Subscription) {
    stores[subscription.storeId]?.subscribers[subscription.id] = nil
  }

  public func subscriberCount(storeId: String) -> Int { stores[storeId]?.subscribers.count ?? 0 }

  // MARK: - Admin

  /// Deletes the store's events and head, after any push in progress has finished.
  public func reset(storeId: String) async throws {
    try Self.validate(storeId: storeId)
    await acquirePushLock(storeId)
    defer { releasePushLock(storeId) }
    let storage = storage
    try await BlockingIO.run(on: BlockingIO.writes) { try storage.reset(storeId: storeId) }
    stores[storeId]?.head = 0
  }

  /// What `AdminInfoRes.info` carries. `durableObjectId` keeps LiveStore's field (there is
  /// no Durable Object here, so it names the store); the rest is lstore's addition.
  public func info(storeId: String) async throws -> JSONValue {
    let head = try await head(storeId: storeId)
    return [
      "durableObjectId": .string(storeId),
      "storeId": .string(storeId),
      "head": .integer(head),
      "connections": .integer(Int64(subscriberCount(storeId: storeId))),
    ]
  }
}

/// The pages of one pull (see `SyncBackend.pages(of:)`). Always at least one page; the
/// last has `remaining == 0`.
public struct PullPages: AsyncSequence, Sendable {
  public typealias Element = BackendPullPage
  let storage: any SyncBackendStorage
  public let snapshot: SyncBackend.PullSnapshot
  let pageSize: Int

  public struct AsyncIterator: AsyncIteratorProtocol {
    let pages: PullPages
    var pageIndex = 0
    var cursor: Int64
    var done = false

    public mutating func next() async throws -> BackendPullPage? {
      guard !done else { return nil }
      let snapshot = pages.snapshot
      let storage = pages.storage
      let (after, limit) = (cursor, pages.pageSize)
      let items = snapshot.total == 0 ? [] : try await BlockingIO.run(on: BlockingIO.reads) {
        try storage.events(storeId: snapshot.storeId, after: after, through: snapshot.head, limit: limit)
      }
      let remaining = PullPaging.remaining(total: snapshot.total, pageIndex: pageIndex, pageSize: pages.pageSize)
      pageIndex += 1
      cursor = items.last?.event.seqNum ?? cursor
      // An empty read means storage has nothing more; stop rather than loop.
      done = remaining == 0 || items.isEmpty
      return BackendPullPage(items: items, remaining: done ? 0 : remaining)
    }
  }

  public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pages: self, cursor: snapshot.after) }
}
