import Foundation
import LStoreKit

/// The sync backend: validates and stores pushes, serves pulls, and broadcasts every
/// accepted push to the subscribers of its store.
///
/// Pushes to one store are committed by one writer, in arrival order (a FIFO queue per
/// store). Pushes that queue up while a commit is running are committed together in the next
/// transaction (group commit), each validated against the head the ones before it leave.
/// Pulls never wait for the writer, so they run concurrently with pushes and with each other.
/// An acknowledgement is only given after the storage transaction holding the events and
/// the new head is durable.
///
/// With a shared storage (`isShared`: several servers on one PostgreSQL database) the
/// storage, not this actor, serializes writers: heads are read from it, never cached; a
/// group whose expected head another node moved is validated again against the new one;
/// and what other nodes commit reaches this backend's subscribers through `catchUp`, in
/// order and before any later local commit (`broadcastThrough`). A reset made by another
/// node is seen in the store's generation, read with its head (`sharedHead`).
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
    /// The first broadcast since the store was reset (here or, shared, by another node):
    /// its events begin a new history, not a continuation of what subscribers were sent.
    public var restartsHistory = false
    public var lastSeqNum: Int64 { response.lastSeqNum ?? 0 }
  }

  public typealias Subscriber = @Sendable (Broadcast) -> Void

  public struct Subscription: Hashable, Sendable {
    public let storeId: String
    let id: UInt64
  }

  private struct StoreState {
    /// The cached head; nil when it must be read from storage.
    var head: Int64?
    /// Bumped whenever a writer sets or clears `head`, so a storage read that started
    /// before cannot fill the cache with the value it read (see `head(storeId:)`).
    var headGeneration: UInt64 = 0
    /// Writes waiting for the store's writer, in arrival order.
    var queue: [QueuedWrite] = []
    /// Whether a task is draining `queue` (one writer per store).
    var writing = false
    var subscribers: [UInt64: Subscriber] = [:]
    /// The store was reset since the last broadcast (`Broadcast.restartsHistory`).
    var historyRestarted = false
    /// Pipelines (see `pipelineId(of:)`) with a refused push, most recent last, bounded.
    var refusedPipelines: [String] = []
    /// The cached backend id; nil when it must be read (or made) in storage.
    var backendId: String?
    /// Bumped by every reset, so a backend id read before it never fills the cache.
    var backendIdGeneration: UInt64 = 0
    /// The last seqNum the subscribers were sent (or did not need: it was at or below the
    /// head when they subscribed); nil while the store has no subscribers. Events above it
    /// that another node committed are read from storage and broadcast (`catchUp`).
    var broadcastThrough: Int64?
    /// The head after this backend's last commit to the store.
    var lastCommitted: Int64 = 0
    /// Whether a `.catchUp` waits in `queue` (one is enough, however many changes arrive).
    var catchUpQueued = false
    /// The store generation (shared storage: `StorePosition.generation`) that
    /// `broadcastThrough` and `lastCommitted` belong to; nil until first read.
    var generation: Int64?
  }

  /// How many refused pipelines a store remembers (a pipeline's later pushes arrive within
  /// its client's window, right after the refused one).
  static let rememberedRefusedPipelines = 1024

  /// The pipeline a push belongs to: lstore's pipelining client sends requestIds
  /// `<pipelineId>~<index>`. LiveStore's nanoid request ids never contain `~`.
  ///
  /// Once a push of a pipeline is refused, its later pushes are refused too, even if they
  /// happen to continue the head (another client's push may end exactly where the refused
  /// one would have): they build on the refused events, and accepting them would store
  /// events whose predecessors the backend does not hold.
  public static func pipelineId(of requestId: String) -> Substring? {
    guard let mark = requestId.lastIndex(of: "~") else { return nil }
    return requestId[..<mark]
  }

  /// A push waiting to be validated and committed, and whom to tell the outcome.
  struct QueuedPush {
    let batch: [WireEvent]
    let requestId: String
    let completion: PushCompletion
  }

  private enum QueuedWrite {
    case push(QueuedPush)
    case reset(CheckedContinuation<Void, Error>)
    /// Broadcast what other nodes committed since `broadcastThrough` (shared storage).
    case catchUp
  }

  /// Called once per push, from the backend, in the store's commit order: with the new head
  /// once the push is durable (before its broadcast goes out), or with the reason it was
  /// refused or failed. It must only queue work (e.g. a `PushAck`), never block.
  public typealias PushCompletion = @Sendable (Result<Int64, Error>) -> Void

  /// At most this many events are committed in one transaction (group commit); the rest of
  /// the queue waits for the next one.
  public static let maxGroupEvents = 10_000

  /// Statistics for tests and logs: storage transactions run for pushes, and pushes they held.
  public private(set) var pushCommits = 0
  public private(set) var pushesCommitted = 0

  /// - Parameter clock: the `createdAt` stamped on accepted events (ISO-8601 with ms).
  public init(storage: any SyncBackendStorage, clock: @escaping @Sendable () -> String = SyncBackend.now) {
    self.storage = storage
    self.clock = clock
    storage.observeChanges { [weak self] change in
      Task { await self?.storageChanged(change) }
    }
  }

  /// Where storage writes run (`BlockingIO.writeQueue(for:)`).
  private var writeQueue: DispatchQueue { BlockingIO.writeQueue(for: storage) }

  public static func now() -> String {
    ISODate.format(millis: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
  }

  public static func validate(storeId: String) throws {
    guard Identifiers.isValidStoreID(storeId) else { throw InvalidStoreID(storeId) }
  }

  // MARK: - Heads

  /// The store's head (0 for a store nobody pushed to).
  ///
  /// A cache miss reads storage off the actor. A writer may set or clear the cache during
  /// that read (a commit, a failed commit, a reset); the value read then may be older than
  /// storage, so it only fills the cache when no writer touched it meanwhile, and is read
  /// again otherwise.
  public func head(storeId: String) async throws -> Int64 {
    try Self.validate(storeId: storeId)
    let storage = storage
    // Other nodes move a shared storage's head at any time: no cache can be trusted.
    if storage.isShared {
      return try await BlockingIO.run(on: BlockingIO.readQueue(for: storage)) { try storage.head(storeId: storeId) }
    }
    var attempts = 0
    while true {
      if let head = stores[storeId]?.head { return head }
      let generation = stores[storeId]?.headGeneration ?? 0
      let head = try await BlockingIO.run(on: BlockingIO.readQueue(for: storage)) { try storage.head(storeId: storeId) }
      if let cached = stores[storeId]?.head { return cached }
      attempts += 1
      if (stores[storeId]?.headGeneration ?? 0) == generation {
        stores[storeId, default: StoreState()].head = head
        return head
      }
      // Writers keep changing the head: answer what storage said, without caching it.
      if attempts >= 8 { return head }
    }
  }

  /// Sets (or, with nil, clears) the cached head on behalf of a writer.
  private func setCachedHead(_ head: Int64?, storeId: String) {
    stores[storeId, default: StoreState()].head = head
    stores[storeId]!.headGeneration &+= 1
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
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int64, Error>) in
      submitPush(storeId: storeId, batch: batch, requestId: requestId) { result in
        if case .success(let head) = result { onAccepted?(head) }
        continuation.resume(with: result)
      }
    }
  }

  /// Queues a push behind the store's earlier pushes and returns at once; `completion` gets
  /// the outcome later (see `PushCompletion`). A connection that calls this for each
  /// `PushReq` as it arrives, without waiting, lets its pushes be pipelined: pushes queued
  /// while a commit is running are validated in order against the head they will extend and
  /// written together in one durable transaction (group commit), then all acknowledged.
  public func submitPush(storeId: String, batch: [WireEvent], requestId: String,
                         completion: @escaping PushCompletion) {
    do {
      try Self.validate(storeId: storeId)
      try PushValidation.checkShape(batch)
    } catch {
      if (try? Self.validate(storeId: storeId)) != nil { markRefused(requestId, storeId: storeId) }
      completion(.failure(error))
      return
    }
    enqueue(storeId, .push(QueuedPush(batch: batch, requestId: requestId, completion: completion)))
  }

  /// Remembers that a pipelined push failed, whatever the reason, so the pushes of the same
  /// pipeline behind it (built on its events) are refused rather than stored on top of
  /// someone else's events that happen to end at the same number.
  private func markRefused(_ requestId: String, storeId: String) {
    guard let pipeline = Self.pipelineId(of: requestId).map(String.init) else { return }
    var state = stores[storeId, default: StoreState()]
    guard !state.refusedPipelines.contains(pipeline) else { return }
    state.refusedPipelines.append(pipeline)
    if state.refusedPipelines.count > Self.rememberedRefusedPipelines { state.refusedPipelines.removeFirst() }
    stores[storeId] = state
  }

  private func enqueue(_ storeId: String, _ write: QueuedWrite) {
    stores[storeId, default: StoreState()].queue.append(write)
    guard !stores[storeId]!.writing else { return }
    stores[storeId]!.writing = true
    Task { await self.drain(storeId) }
  }

  /// The store's single writer: commits queued writes in order until the queue is empty.
  private func drain(_ storeId: String) async {
    while let first = stores[storeId]?.queue.first {
      switch first {
      case .reset(let continuation):
        stores[storeId]!.queue.removeFirst()
        let storage = storage
        do {
          let generation = try await BlockingIO.run(on: writeQueue) { try storage.reset(storeId: storeId) }
          setCachedHead(0, storeId: storeId)
          stores[storeId]!.lastCommitted = 0
          stores[storeId]!.generation = generation
          if stores[storeId]!.broadcastThrough != nil { stores[storeId]!.broadcastThrough = 0 }
          stores[storeId]!.historyRestarted = true
          stores[storeId]!.backendId = nil
          stores[storeId]!.backendIdGeneration &+= 1
          continuation.resume()
        } catch {
          setCachedHead(nil, storeId: storeId)
          continuation.resume(throwing: error)
        }
      case .catchUp:
        stores[storeId]!.queue.removeFirst()
        stores[storeId]!.catchUpQueued = false
        await catchUp(storeId)
      case .push:
        var group: [QueuedPush] = []
        var events = 0
        for write in stores[storeId]!.queue {
          guard case .push(let push) = write else { break }
          if !group.isEmpty && events + push.batch.count > Self.maxGroupEvents { break }
          group.append(push)
          events += push.batch.count
        }
        stores[storeId]!.queue.removeFirst(group.count)
        await commit(group, storeId: storeId)
      }
    }
    stores[storeId]?.writing = false
  }

  /// What validating a group against a head decided: each push's outcome, the events to
  /// write, the head they leave, and the pipelines refused on the way.
  private struct GroupPlan {
    var outcomes: [Result<Int64, Error>] = []
    var events: [WireEvent] = []
    var running: Int64
    var refusedPipelines: [String] = []
  }

  /// Validates `group` in order against a running head that starts at `head`. A rejected
  /// push does not move the running head, so the pushes after it that build on it are
  /// refused too, and the accepted ones before it are unaffected. Changes nothing.
  private func plan(_ group: [QueuedPush], head: Int64, storeId: String) -> GroupPlan {
    var plan = GroupPlan(running: head)
    plan.outcomes.reserveCapacity(group.count)
    let refused = stores[storeId]?.refusedPipelines ?? []
    for push in group {
      let pipeline = Self.pipelineId(of: push.requestId).map(String.init)
      if let pipeline, refused.contains(pipeline) || plan.refusedPipelines.contains(pipeline) {
        plan.outcomes.append(.failure(PushRejection(.notAtHead(head: plan.running),
          "Invalid push: an earlier push of the same pipeline was refused (pull, then push again)",
          providedParent: push.batch.first?.parentSeqNum)))
        continue
      }
      do {
        try PushValidation.checkParent(push.batch, head: plan.running)
      } catch {
        if let pipeline { plan.refusedPipelines.append(pipeline) }
        plan.outcomes.append(.failure(error))
        continue
      }
      plan.events.append(contentsOf: push.batch)
      plan.running = push.batch[push.batch.count - 1].seqNum
      plan.outcomes.append(.success(plan.running))
    }
    return plan
  }

  /// How often a group is validated again when another node moved a shared storage's head
  /// between the head read and the write (each retry means someone else's commit landed).
  static let sharedHeadRetries = 16

  /// Validates `group` in order against a running head, writes the accepted pushes in one
  /// transaction, then completes every push in order (acks before broadcasts).
  private func commit(_ group: [QueuedPush], storeId: String) async {
    var head: Int64
    do {
      head = storage.isShared ? try await sharedHead(storeId) : try await self.head(storeId: storeId)
    } catch {
      // The pushes queued behind this group meanwhile would wait for the same storage, each
      // for as long (a database that does not answer: its timeout each): they are answered
      // with the same failure now, and their clients retry.
      var waiting: [QueuedPush] = []
      while case .push(let push)? = stores[storeId]?.queue.first {
        stores[storeId]!.queue.removeFirst()
        waiting.append(push)
      }
      for push in group + waiting {
        markRefused(push.requestId, storeId: storeId)
        push.completion(.failure(error))
      }
      return
    }
    var plan = plan(group, head: head, storeId: storeId)
    var outcomes = plan.outcomes
    var committed = false
    let createdAt = clock()
    let storage = storage
    var attempts = 0
    while !plan.events.isEmpty {
      let batch = plan.events
      let expected = head
      do {
        try await BlockingIO.run(on: writeQueue) {
          try storage.append(storeId: storeId, events: batch, createdAt: createdAt, expectedHead: expected)
        }
        setCachedHead(plan.running, storeId: storeId)
        stores[storeId]!.lastCommitted = plan.running
        pushCommits += 1
        committed = true
        outcomes = plan.outcomes
        break
      } catch let mismatch as StorageHeadMismatch {
        attempts += 1
        if storage.isShared && attempts < Self.sharedHeadRetries {
          // Another node committed first (its lock was taken before ours): validate the
          // group again against the head it left, as if these pushes had arrived after it.
          head = mismatch.storedHead
          plan = self.plan(group, head: head, storeId: storeId)
          outcomes = plan.outcomes
          continue
        }
        // Another writer moved the stored head: nothing of ours was written. Pushes that do
        // not continue the real head get LiveStore's refusal, the others the error.
        setCachedHead(mismatch.storedHead, storeId: storeId)
        outcomes = group.map { push in
          do {
            try PushValidation.checkParent(push.batch, head: mismatch.storedHead)
            return .failure(mismatch)
          } catch {
            return .failure(error)
          }
        }
        break
      } catch {
        // Nothing was written; none of the group is acknowledged.
        setCachedHead(nil, storeId: storeId)
        outcomes = group.map { _ in .failure(error) }
        break
      }
    }
    for pipeline in plan.refusedPipelines where !(stores[storeId]?.refusedPipelines.contains(pipeline) ?? false) {
      stores[storeId, default: StoreState()].refusedPipelines.append(pipeline)
      if stores[storeId]!.refusedPipelines.count > Self.rememberedRefusedPipelines {
        stores[storeId]!.refusedPipelines.removeFirst()
      }
    }
    // Events other nodes committed below this group go to the subscribers first, so
    // they see one gap-free order.
    var inOrder = true
    if committed, let through = stores[storeId]?.broadcastThrough, through < head {
      inOrder = await broadcastFromStorage(storeId, after: through, through: head)
    }
    for (push, outcome) in zip(group, outcomes) {
      if case .failure = outcome { markRefused(push.requestId, storeId: storeId) }
      push.completion(outcome)
      guard case .success(let pushHead) = outcome else { continue }
      pushesCommitted += 1
      guard inOrder else { continue }
      let response = PullResponse(batch: push.batch.map { PullItem(event: $0, createdAt: createdAt) },
                                  context: .push, requestId: push.requestId, remaining: 0)
      let broadcast = Broadcast(storeId: storeId, response: response, text: SyncMessage.pullResponse(response).encoded())
      send(broadcast, advancingTo: pushHead)
    }
    if !inOrder { scheduleCatchUp(storeId) }
  }

  /// Gives `broadcast` to every subscriber of its store and records that they have
  /// everything through `head`.
  private func send(_ broadcast: Broadcast, advancingTo head: Int64) {
    guard let state = stores[broadcast.storeId] else { return }
    if let through = state.broadcastThrough, through < head { stores[broadcast.storeId]!.broadcastThrough = head }
    var broadcast = broadcast
    if state.historyRestarted {
      broadcast.restartsHistory = true
      stores[broadcast.storeId]!.historyRestarted = false
    }
    for subscriber in state.subscribers.values { subscriber(broadcast) }
  }

  // MARK: - Other nodes' commits

  /// A shared storage reported a change: catch up the stores that have subscribers.
  func storageChanged(_ change: StorageChange) {
    switch change {
    case .store(let storeId, let head):
      // This node's own commits come back too: nothing to read when the subscribers
      // already have that head.
      if let head, head == stores[storeId]?.broadcastThrough { return }
      scheduleCatchUp(storeId)
    case .unknown:
      for (storeId, state) in stores where !state.subscribers.isEmpty { scheduleCatchUp(storeId) }
    }
  }

  /// A shared storage's head, read with the store's generation. When the generation moved
  /// on since this node last looked, the store was reset (by another node: this node's own
  /// resets record theirs), and what the subscribers were sent belongs to a history that is
  /// gone: they start over at 0, as the resetting node's own subscribers do, so the store's
  /// new events reach them from the first, never as a continuation of the old ones, and this
  /// node's last commit no longer counts (`subscribe`). A read older than one already seen
  /// (a lower generation) changes nothing.
  private func sharedHead(_ storeId: String) async throws -> Int64 {
    let storage = storage
    let position = try await BlockingIO.run(on: BlockingIO.readQueue(for: storage)) { try storage.position(storeId: storeId) }
    var state = stores[storeId, default: StoreState()]
    if let known = state.generation, position.generation > known {
      state.lastCommitted = 0
      if state.broadcastThrough != nil { state.broadcastThrough = 0 }
      state.historyRestarted = true
    }
    if position.generation >= (state.generation ?? .min) { state.generation = position.generation }
    stores[storeId] = state
    return position.head
  }

  /// Queues one catch-up behind the store's writes, unless one is already waiting.
  private func scheduleCatchUp(_ storeId: String) {
    guard let state = stores[storeId], !state.subscribers.isEmpty, !state.catchUpQueued else { return }
    stores[storeId]!.catchUpQueued = true
    enqueue(storeId, .catchUp)
  }

  /// Broadcasts, in order, the events storage holds above `broadcastThrough`: those other
  /// nodes committed (this node's own were broadcast when committed). After a reset made
  /// elsewhere, that is the store's new events from the first (see `sharedHead`).
  private func catchUp(_ storeId: String) async {
    guard stores[storeId]?.broadcastThrough != nil else { return }
    let head: Int64
    do {
      head = try await sharedHead(storeId)
    } catch {
      retryCatchUpLater(storeId)
      return
    }
    guard let through = stores[storeId]?.broadcastThrough else { return }
    if head < through {
      stores[storeId]?.broadcastThrough = head
    } else if head > through {
      if !(await broadcastFromStorage(storeId, after: through, through: head)) { retryCatchUpLater(storeId) }
    }
  }

  /// Storage could not be read (the database is away): try again shortly. Reconnecting
  /// also reports `.unknown`, so nothing waits longer than the database does.
  private func retryCatchUpLater(_ storeId: String) {
    Task {
      try? await Task.sleep(for: .seconds(1))
      self.scheduleCatchUp(storeId)
    }
  }

  /// Reads the events in `(after, through]` a page at a time and broadcasts each page as a
  /// push broadcast with a new request id. Returns false when storage failed midway
  /// (`broadcastThrough` then says how far the subscribers got).
  private func broadcastFromStorage(_ storeId: String, after: Int64, through: Int64) async -> Bool {
    // Events are gap-free per store, so the count is the distance.
    let snapshot = PullSnapshot(storeId: storeId, after: after, head: through, total: through - after)
    var pages = pages(of: snapshot).makeAsyncIterator()
    do {
      while let page = try await pages.next(), !page.items.isEmpty {
        // Only what the subscribers lack: while this read waited, the last subscriber may
        // have left and a new one come with a head above these events (its pull has them).
        guard let through = stores[storeId]?.broadcastThrough else { return true }
        let items = page.items.filter { $0.event.seqNum > through }
        guard let last = items.last else { continue }
        let response = PullResponse(batch: items, context: .push, requestId: Identifiers.nanoid(length: 21), remaining: 0)
        send(Broadcast(storeId: storeId, response: response, text: SyncMessage.pullResponse(response).encoded()),
             advancingTo: last.event.seqNum)
      }
      return true
    } catch {
      return false
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
    let total = after >= head ? 0 : try await BlockingIO.run(on: BlockingIO.readQueue(for: storage)) {
      try storage.count(storeId: storeId, after: after, through: head)
    }
    return PullSnapshot(storeId: storeId, after: after, head: head, total: total)
  }

  /// The pages of a pull, read from storage one at a time as they are consumed, so a
  /// pull of a million events holds one page in memory.
  public nonisolated func pages(of snapshot: PullSnapshot, pageSize: Int = PullPaging.pageSize,
                                maxPageBytes: Int = PullPaging.maxPageBytes) -> PullPages {
    PullPages(storage: storage, snapshot: snapshot, pageSize: max(1, pageSize), maxPageBytes: maxPageBytes)
  }

  // MARK: - Subscriptions

  /// Calls `deliver` for every push accepted for `storeId` from now on, in order,
  /// synchronously from the backend (so it must only queue the broadcast).
  ///
  /// The subscriber is sent every event committed after the head at the time it subscribes,
  /// by this node or (with a shared storage) by any other.
  public func subscribe(storeId: String, _ deliver: @escaping Subscriber) async throws -> Subscription {
    try Self.validate(storeId: storeId)
    if stores[storeId]?.broadcastThrough == nil {
      let head = storage.isShared ? try await sharedHead(storeId) : try await self.head(storeId: storeId)
      if stores[storeId]?.broadcastThrough == nil {
        let committed = stores[storeId]?.lastCommitted ?? 0
        stores[storeId, default: StoreState()].broadcastThrough = max(head, committed)
      }
    }
    nextSubscriberID += 1
    stores[storeId, default: StoreState()].subscribers[nextSubscriberID] = deliver
    return Subscription(storeId: storeId, id: nextSubscriberID)
  }

  public func unsubscribe(_ subscription: Subscription) {
    stores[subscription.storeId]?.subscribers[subscription.id] = nil
    if stores[subscription.storeId]?.subscribers.isEmpty == true { stores[subscription.storeId]!.broadcastThrough = nil }
  }

  public func subscriberCount(storeId: String) -> Int { stores[storeId]?.subscribers.count ?? 0 }

  // MARK: - Backend id

  /// The store's backend id (LiveStore 0.4's `backendId`): made once, kept in storage with
  /// the store's events, replaced only by a reset. Every 0.4 pull page carries it, and a
  /// 0.4 client sends it back on push and in its pull cursor.
  public func backendId(storeId: String) async throws -> String {
    try Self.validate(storeId: storeId)
    if let id = stores[storeId]?.backendId { return id }
    let generation = stores[storeId]?.backendIdGeneration ?? 0
    let storage = storage
    let id = try await BlockingIO.run(on: writeQueue) { try storage.backendId(storeId: storeId) }
    // Another node may reset a shared store (and so replace its id) at any time: not cached.
    if !storage.isShared && (stores[storeId]?.backendIdGeneration ?? 0) == generation {
      stores[storeId, default: StoreState()].backendId = id
    }
    return id
  }

  // MARK: - Admin

  /// Deletes the store's events and head, after the pushes queued before it.
  public func reset(storeId: String) async throws {
    try Self.validate(storeId: storeId)
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
      enqueue(storeId, .reset(continuation))
    }
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
/// last has `remaining == 0`. A page holds at most `pageSize` events and at most
/// `maxPageBytes` of encoded events (LiveStore 0.4's bounds), except that an event larger
/// than `maxPageBytes` on its own (stored before `PushValidation.maxEventBytes` existed)
/// is still delivered, alone in its page. `remaining` counts the events after the page.
public struct PullPages: AsyncSequence, Sendable {
  public typealias Element = BackendPullPage
  let storage: any SyncBackendStorage
  public let snapshot: SyncBackend.PullSnapshot
  let pageSize: Int
  let maxPageBytes: Int

  /// Pages read from storage per query: one read serves this many pages, so the storage
  /// round trip is paid once per `readAhead` pages. Memory stays bounded by it, and by
  /// bytes: a read stops at `readAheadBytes` of args (a thousand events of 800 KB each,
  /// which the push limits allow, held a pull's read at about 800 MB).
  static let readAhead = 10
  static let readAheadBytes = 2 * PullPaging.maxPageBytes

  public struct AsyncIterator: AsyncIteratorProtocol {
    let pages: PullPages
    var delivered: Int64 = 0
    var cursor: Int64
    var done = false
    var buffered: [PullItem] = []
    var bufferedFrom = 0
    var storageExhausted = false
    var scratch = JSONWriter(reservingCapacity: 1024)

    public mutating func next() async throws -> BackendPullPage? {
      guard !done else { return nil }
      let snapshot = pages.snapshot
      var items: [PullItem] = []
      var bytes = 0
      while items.count < pages.pageSize {
        if bufferedFrom >= buffered.count {
          guard !storageExhausted, snapshot.total > 0 else { break }
          let storage = pages.storage
          let (after, limit) = (cursor, pages.pageSize * PullPages.readAhead)
          buffered = try await BlockingIO.run(on: BlockingIO.readQueue(for: storage)) {
            try storage.events(storeId: snapshot.storeId, after: after, through: snapshot.head, limit: limit,
                               maxBytes: PullPages.readAheadBytes)
          }
          bufferedFrom = 0
          cursor = buffered.last?.event.seqNum ?? cursor
          // A read shorter than `limit` may have stopped at its bytes: only the snapshot's
          // head (or a read that found nothing) ends the reading.
          storageExhausted = buffered.isEmpty || cursor >= snapshot.head
          if buffered.isEmpty { break }
        }
        let item = buffered[bufferedFrom]
        scratch.removeAll()
        item.write(into: &scratch)
        let size = scratch.bytes.count + 1  // and its comma
        if !items.isEmpty && bytes + size > pages.maxPageBytes { break }
        items.append(item)
        bytes += size
        bufferedFrom += 1
      }
      if bufferedFrom >= buffered.count && buffered.count > 0 && !storageExhausted {
        // Keep memory flat: drop the consumed read before the next one.
        buffered = []
        bufferedFrom = 0
      }
      delivered += Int64(items.count)
      let remaining = Swift.max(0, snapshot.total - delivered)
      // An empty read means storage has nothing more; stop rather than loop.
      done = remaining == 0 || items.isEmpty
      return BackendPullPage(items: items, remaining: done ? 0 : remaining)
    }
  }

  public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pages: self, cursor: snapshot.after) }
}
