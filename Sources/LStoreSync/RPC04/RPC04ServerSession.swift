import LStoreKit

/// Runs an `RPC04ServerMachine` for one LiveStore 0.4 WebSocket connection against the
/// backend: text frames in, text frames out, no socket library. The 0.3 counterpart is
/// `SyncSession`; both share the backend, its storage and its broadcasts, so 0.3 and 0.4
/// clients of one store see each other's pushes.
///
/// - Pushes are handed to the backend in arrival order (one task submits them, beside the
///   reading loop, so a `Ping` behind a push waiting for the storage is answered at once),
///   up to `ConnectionLimits.maxPushesInFlight` unanswered; the `Exit` of a push is only
///   sent once it is durable.
/// - Memory a client controls is bounded: one page read ahead per pull, at most
///   `RPC04ServerMachine.Options.maxOpenPulls` pulls, held broadcasts up to
///   `maxHeldBytes`, and the bytes queued for the socket (`ConnectionLimits`, as for 0.3).
///   Reading never stops for pulls, so an `Ack` is always read.
public final class RPC04ServerSession: Sendable {
  public let storeId: String
  private let backend: SyncBackend
  private let onEvent: @Sendable (SyncSession.Event) -> Void
  public let limits: ConnectionLimits
  private let outbound: OutboundQueue
  private let machine: Locked<RPC04ServerMachine>
  private let readers = Locked<[String: PageReader]>([:])
  private let pushWindow: InFlightWindow
  private let subscription: SessionSubscription
  private let work: AsyncStream<@Sendable () async -> Void>.Continuation
  private let workItems: AsyncStream<@Sendable () async -> Void>
  private let closeHandler = Locked<(@Sendable (String) -> Void)?>(nil)
  /// HTTP: the frames of the response, in order, each with the stream it continues (a
  /// `Chunk`) so its write can count as the Ack; finished once no request is open.
  private let responseFrames: (stream: AsyncStream<(String, String?)>, continuation: AsyncStream<(String, String?)>.Continuation)?

  /// The iterator of one pull's snapshot pages (one read at a time: the machine asks for
  /// the next page only when the previous one arrived).
  private final class PageReader: @unchecked Sendable {
    var iterator: PullPages.AsyncIterator
    init(_ iterator: PullPages.AsyncIterator) { self.iterator = iterator }
  }

  public init(backend: SyncBackend, storeId: String, transport: RPC04ServerMachine.Transport = .webSocket,
              limits: ConnectionLimits = .standard,
              onEvent: @escaping @Sendable (SyncSession.Event) -> Void = { _ in }) {
    self.backend = backend
    self.storeId = storeId
    self.limits = limits
    self.onEvent = onEvent
    outbound = OutboundQueue(limits: limits)
    machine = Locked(RPC04ServerMachine(options: .init(storeId: storeId, transport: transport,
                                                        maxHeldBytes: limits.outboundCloseBytes)))
    pushWindow = InFlightWindow(limit: limits.maxPushesInFlight)
    subscription = SessionSubscription(backend: backend, storeId: storeId)
    (workItems, work) = AsyncStream<@Sendable () async -> Void>.makeStream()
    responseFrames = transport == .http ? AsyncStream<(String, String?)>.makeStream() : nil
  }

  /// The HTTP transport (`SyncHttpRpc`): one request body (one `Request`), answered with
  /// every frame it produces, in order, ending with its `Exit` (Effect's `toHttpApp` with
  /// JSON serialization answers the same frames as one JSON array). `write` gets them one by
  /// one, to stream the array: a pull's next page is only read ahead once the previous one is
  /// written, so a pull of any size holds about two pages in memory.
  public static func exchange(body: String, backend: SyncBackend, storeId: String,
                              onEvent: @escaping @Sendable (SyncSession.Event) -> Void = { _ in },
                              write: @escaping @Sendable (String) async throws -> Void) async throws {
    let session = RPC04ServerSession(backend: backend, storeId: storeId, transport: .http, onEvent: onEvent)
    try await session.exchange(body, write: write)
  }

  private func exchange(_ body: String, write: @escaping @Sendable (String) async throws -> Void) async throws {
    guard let responseFrames else { return }
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { [workItems] in
        await withTaskGroup(of: Void.self) { inner in
          for await item in workItems { inner.addTask { await item() } }
        }
      }
      for action in step(.frame(body)) {
        if case .push(let id, let request) = action { await submit(id, request) }
      }
      defer { work.finish() }
      for await (frame, stream) in responseFrames.stream {
        try await write(frame)
        if let stream { step(.delivered(requestId: stream)) }
      }
    }
  }

  /// Serves the connection until `inbound` ends (see `SyncSession.run` for `send` and `close`).
  public func run<Inbound: AsyncSequence>(
    inbound: Inbound, send: @escaping @Sendable (String) async throws -> Void,
    close: @escaping @Sendable (String) -> Void = { _ in }
  ) async throws where Inbound.Element == String {
    let onEvent = onEvent
    closeHandler.withLock { $0 = close }
    outbound.setOverflowHandler { [limits] bytes in
      let reason = "the client does not read: \(bytes) bytes queued for it, the limit is \(limits.outboundCloseBytes)"
      onEvent(.closed(reason: reason))
      close(reason)
    }
    // Not awaited: with a database that does not answer, subscribing takes the storage's
    // timeout, and the client's pings must be answered meanwhile (pulls wait for it).
    subscription.start { [weak self] broadcast in
      if broadcast.restartsHistory { self?.step(.historyRestarted) }
      self?.step(.broadcast(broadcast.response.batch))
    }
    var inboundError: (any Error)?
    await withTaskGroup(of: Void.self) { group in
      group.addTask { [outbound] in
        var broken = false
        for await item in outbound.items {
          if !broken {
            do { try await send(item.text) } catch { broken = true }
          }
          outbound.wrote(item)
        }
      }
      let workers = Task { [workItems] in
        await withTaskGroup(of: Void.self) { tasks in
          for await item in workItems { tasks.addTask { await item() } }
        }
      }
      // Pushes are submitted in order by one task of their own, not by the reading loop: a
      // push waits for the storage (its backend id is read first), and a `Ping` read behind
      // it must still be answered at once, or the client takes a slow database for a dead
      // connection. At most `maxPushesInFlight` wait there; beyond that reading waits too.
      // A push whose backend-id read the storage failed fails the pushes that arrived while
      // it waited with the same error at once: each would wait as long (a database that does
      // not answer: its timeout each).
      let (submissions, submit) = AsyncStream<(String, SyncRPC04.PushRequest, ContinuousClock.Instant)>.makeStream()
      let queued = InFlightWindow(limit: limits.maxPushesInFlight)
      let submitter = Task {
        var failure: (error: SyncRPC04.SyncError, at: ContinuousClock.Instant)?
        for await (id, request, arrived) in submissions {
          if let failure, arrived < failure.at {
            self.step(.pushFailed(requestId: id, failure.error))
          } else if let error = await self.submit(id, request) {
            failure = (error, .now)
          }
          queued.release()
        }
      }
      do {
        for try await text in inbound {
          guard !outbound.isClosed else { break }
          for action in step(.frame(text)) {
            guard case .push(let id, let request) = action else { continue }
            let arrived = ContinuousClock.now
            await queued.reserve()
            submit.yield((id, request, arrived))
          }
          await outbound.waitForRoom()
        }
      } catch {
        inboundError = error
      }
      submit.finish()
      await submitter.value
      work.finish()
      workers.cancel()
      await workers.value
      outbound.close()
      outbound.finish()
    }
    await subscription.end()
    readers.withLock { $0.removeAll() }
    if let inboundError { throw inboundError }
  }

  /// Feeds the machine and performs its actions: frames are queued under the machine's
  /// lock (so their order is the machine's), storage work is started after it. Pushes are
  /// returned to the reading loop, which submits them in order.
  @discardableResult
  private func step(_ input: RPC04ServerMachine.Input) -> [RPC04ServerMachine.Action] {
    let actions = machine.withLock { machine -> [RPC04ServerMachine.Action] in
      let actions = machine.handle(input)
      for action in actions {
        let frame: (String, String?)
        switch action {
        case .send(let text): frame = (text, nil)
        case .sendChunk(let text, let id): frame = (text, id)
        default: continue
        }
        if let responseFrames { responseFrames.continuation.yield(frame) } else { outbound.push(frame.0) }
      }
      if let responseFrames, machine.isIdle { responseFrames.continuation.finish() }
      return actions
    }
    var pushes: [RPC04ServerMachine.Action] = []
    for action in actions {
      switch action {
      case .send, .sendChunk: break
      case .log(let event): onEvent(event)
      case .openPull(let id, let cursor): schedule { await self.openPull(id, cursor) }
      case .readPage(let id): schedule { await self.readPage(id) }
      case .closePull(let id): readers.withLock { $0[id] = nil }
      case .close(let reason): closeHandler.withLock { $0 }?(reason)
      case .push: pushes.append(action)
      }
    }
    return pushes
  }

  /// Starts storage work beside the reading loop (dropped once the connection is over).
  private func schedule(_ item: @escaping @Sendable () async -> Void) { work.yield(item) }

  private func openPull(_ id: String, _ cursor: SyncRPC04.PullRequest.Cursor?) async {
    do {
      // Subscribed before the snapshot is fixed: no broadcast after it is missed.
      if responseFrames == nil { _ = try await subscription.ensure() }
      let backendId = try await backend.backendId(storeId: storeId)
      if let cursor, cursor.backendId != backendId {
        step(.pullFailed(requestId: id, .backendIdMismatch(expected: backendId, received: cursor.backendId)))
        return
      }
      let snapshot = try await backend.pullSnapshot(storeId: storeId, cursor: cursor?.eventSequenceNumber)
      let pages = backend.pages(of: snapshot, maxPageBytes: SyncRPC04.maxPagerBytes)
      readers.withLock { $0[id] = PageReader(pages.makeAsyncIterator()) }
      step(.pullOpened(requestId: id, snapshotHead: snapshot.head, total: snapshot.total, backendId: backendId))
    } catch {
      onEvent(.failed(requestId: id, message: "Pull failed: \(error)"))
      step(.pullFailed(requestId: id, Self.unknown("Pull failed: " + ClientErrorText.text(error))))
    }
  }

  private func readPage(_ id: String) async {
    guard let reader = readers.withLock({ $0[id] }) else { return }
    do {
      let page = try await reader.iterator.next() ?? BackendPullPage(items: [], remaining: 0)
      step(.page(requestId: id, page))
    } catch {
      onEvent(.failed(requestId: id, message: "Pull failed: \(error)"))
      step(.pullFailed(requestId: id, Self.unknown("Pull failed: " + ClientErrorText.text(error))))
    }
  }

  /// Checks the push's backend id (LiveStore checks it before the head), then queues it in
  /// the store's writer behind every push this connection sent before. Returns the error
  /// sent when the storage failed to read the backend id, else nil.
  @discardableResult
  private func submit(_ id: String, _ request: SyncRPC04.PushRequest) async -> SyncRPC04.SyncError? {
    let count = request.batch.count
    let backendId: String
    do {
      backendId = try await backend.backendId(storeId: storeId)
    } catch {
      onEvent(.failed(requestId: id, message: "Push failed: \(error)"))
      let failure = Self.unknown("Push failed: " + ClientErrorText.text(error))
      step(.pushFailed(requestId: id, failure))
      return failure
    }
    if let sent = request.backendId, sent != backendId {
      step(.pushDone(requestId: id, count: count, .failure(.backendIdMismatch(expected: backendId, received: sent))))
      return nil
    }
    await pushWindow.reserve()
    let pushWindow = pushWindow
    await backend.submitPush(storeId: storeId, batch: request.batch, requestId: Identifiers.nanoid(length: 21)) {
      [weak self] result in
      if case .failure(let error) = result, !(error is PushRejection), !(error is StorageHeadMismatch) {
        // The storage failed: logged as the failure it is, not as a refusal of the batch.
        self?.onEvent(.failed(requestId: id, message: "Push failed: \(error)"))
        self?.step(.pushFailed(requestId: id, Self.pushError(error)))
      } else {
        self?.step(.pushDone(requestId: id, count: count, result.mapError(Self.pushError)))
      }
      pushWindow.release()
    }
    return nil
  }

  /// lstore's push refusals as LiveStore 0.4's typed errors: a batch that does not continue
  /// the head is `ServerAheadError` (as LiveStore answers it, behind or ahead); a batch
  /// lstore refuses on its own (gaps, over 100 events, oversized events) has no 0.4 type,
  /// so it is an `UnknownError` whose note says why.
  static func pushError(_ error: any Error) -> SyncRPC04.SyncError {
    if let rejection = error as? PushRejection {
      switch rejection.kind {
      case .notAtHead(let head):
        return .serverAhead(minimumExpectedNum: head, providedNum: rejection.providedParent ?? -1)
      case .malformed:
        return .unknown(cause: RPC04.errorDefect(name: "InvalidPushError", message: rejection.message), note: rejection.message)
      }
    }
    if let mismatch = error as? StorageHeadMismatch {
      return .unknown(cause: RPC04.errorDefect(name: "Error", message: mismatch.description), note: mismatch.description)
    }
    return unknown("Push failed: " + ClientErrorText.text(error))
  }

  static func unknown(_ text: String) -> SyncRPC04.SyncError {
    .unknown(cause: RPC04.errorDefect(name: "Error", message: text), note: text)
  }
}
