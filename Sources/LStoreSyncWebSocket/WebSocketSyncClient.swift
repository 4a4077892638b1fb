import HummingbirdWSClient
import LStoreKit
import LStoreSync
import Logging

/// A sync client over one WebSocket, for either LiveStore protocol: the connection (with
/// keepalive and reconnects) and the waiters live here, the pull and push rules in
/// `SyncClientMachine`, the frames in the `SyncWireCodec` (`LiveStore03Codec`: sync-cf 0.3,
/// lstore's `serve` or LiveStore's Cloudflare backend; `LiveStore04Codec`: sync-cf 0.4).
///
/// - A Ping every `pingInterval`; no Pong within `pongTimeout` closes the socket.
/// - Lost connections are reopened with exponential backoff, and an unfinished or live
///   pull is re-sent from the last seqNum it delivered (LiveStore 0.3 does not re-pull,
///   so it misses what was pushed while it was away).
/// - 0.3: broadcasts that arrive before a pull's first page are merged into its last page;
///   a push waits (up to `echoTimeout`) for its echo, which carries `createdAt`.
/// - 0.4: an `Ack` follows every page once the consumer has room for it, so a slow
///   consumer slows the server; a pull left early is interrupted.
public final class WebSocketSyncClient: Sendable {
  public struct Options: Sendable {
    public var pingInterval: Duration = .seconds(25)
    public var pongTimeout: Duration = .seconds(5)
    public var initialBackoff: Duration = .milliseconds(100)
    public var maxBackoff: Duration = .seconds(10)
    public var maxMessageSize = 16 << 20
    /// How long `push` waits after the ack for the echo that carries `createdAt` (0.3).
    public var echoTimeout: Duration = .seconds(1)
    /// How many pushes `push(batches:)` keeps unanswered at once.
    public var pushWindow = 64
    /// Reopen a lost connection (with backoff) and carry on. Off for one-shot commands
    /// (`lstore push`, `lstore pull`): there a lost connection fails everything waiting, so
    /// the command ends with an error instead of waiting for a server that may never return.
    public var reconnect = true
    /// Told when an open connection drops and when a reconnect succeeds (with `reconnect`),
    /// so a long-running command can say so: the client itself carries on silently.
    public var onConnectionChange: (@Sendable (ConnectionChange) -> Void)? = nil
    public init() {}
  }

  public let url: String
  public let storeId: String
  public let codec: any SyncWireCodec
  let options: Options
  let logger: Logger
  let state: Locked<ClientState>

  typealias PushWaiter = @Sendable (Result<WebSocketPushResult, Error>) -> Void

  struct ClientState {
    var machine: SyncClientMachine
    var outgoing: AsyncStream<String>.Continuation?
    var connectionWaiters: [CheckedContinuation<Void, Error>] = []
    /// Unanswered pushes by requestId: told the answer, or the error that ended the wait.
    var pushes: [String: PushWaiter] = [:]
    /// The consumer of the machine's pull.
    var channel: PageChannel?
    var pongWaiter: CheckedContinuation<Void, Never>?
    /// Pushes whose echo is awaited: nil until it arrives, then the echo's metadata.
    var echoes: [String: JSONValue?] = [:]
    var echoWaiters: [String: CheckedContinuation<JSONValue?, Never>] = [:]
    var closed = false
    var supervisor: Task<Void, Never>?
  }

  private init(url: String, storeId: String, codec: any SyncWireCodec, backendId: String?, options: Options, logger: Logger) {
    self.url = url
    self.storeId = storeId
    self.codec = codec
    self.options = options
    self.logger = logger
    let machine = SyncClientMachine(acksPages: codec.acksPages, backendId: backendId, makeRequestId: { codec.requestId() })
    self.state = Locked(ClientState(machine: machine))
  }

  /// Opens the connection: `<url>/websocket?storeId=…&payload=…` (0.3, the default codec)
  /// or `<url>?storeId=…&payload=…&transport=ws` (0.4).
  ///
  /// - Parameters:
  ///   - url: the backend's base URL, `ws://host:port` (or `wss://`).
  ///   - payload: the connect payload, e.g. `{"authToken": "…"}`; nil omits it.
  ///   - codec: the protocol; nil for 0.3.
  ///   - backendId: the backend id the client knows (0.4), sent on pushes and pull cursors.
  /// - Throws: `WebSocketSyncError.connectFailed` when the first connection fails.
  public static func connect(url: String, storeId: String, payload: JSONValue?, codec: (any SyncWireCodec)? = nil,
                             backendId: String? = nil, options: Options = Options(),
                             logger: Logger = Logger(label: "lstore.sync.ws", factory: { _ in SwiftLogNoOpLogHandler() }))
    async throws -> WebSocketSyncClient
  {
    let codec = codec ?? LiveStore03Codec()
    let client = WebSocketSyncClient(url: url, storeId: storeId, codec: codec, backendId: backendId, options: options,
                                     logger: logger)
    try await client.start(socketURL: codec.socketURL(base: url, storeId: storeId, payload: payload))
    return client
  }

  public var isConnected: Bool { state.withLock { $0.outgoing != nil } }

  /// The backend's id as the client knows it: the one it was given, or learned from a pull.
  public var backendId: String? {
    get { state.withLock { $0.machine.backendId } }
  }

  /// Sets the backend id sent with later pushes and pulls.
  public func setBackendId(_ id: String?) { state.withLock { $0.machine.setBackendId(id) } }

  /// Closes the connection and stops reconnecting. Waiting pushes fail with `.closed`.
  public func close() async {
    let supervisor: Task<Void, Never>? = state.withLock { state in
      state.closed = true
      state.outgoing?.finish()
      return state.supervisor
    }
    supervisor?.cancel()
    await supervisor?.value
    failEverything(WebSocketSyncError(kind: .closed, message: "the sync client was closed"), includingPull: true)
  }

  // MARK: - Push

  /// Sends one push and waits for its answer. Waits for the connection when it is down.
  public func push(_ batch: [WireEvent]) async throws -> WebSocketPushResult {
    try await waitUntilConnected()
    let requestId = codec.requestId()
    let wantsEcho = codec.echoesPushes
    defer { state.withLock { _ = $0.echoes.removeValue(forKey: requestId) } }
    let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<WebSocketPushResult, Error>) in
      let sent: Bool = state.withLock { state in
        guard let outgoing = state.outgoing else { return false }
        state.pushes[requestId] = { continuation.resume(with: $0) }
        if wantsEcho { state.echoes[requestId] = .some(nil) }
        outgoing.yield(codec.encode(state.machine.push(requestId: requestId, batch: batch)))
        return true
      }
      if !sent {
        continuation.resume(throwing: WebSocketSyncError(kind: .connectionLost, message: "connection lost before the push was sent"))
      }
    }
    guard case .acknowledged = result, wantsEcho else { return result }
    return .acknowledged(metadata: await echoMetadata(requestId))
  }

  /// Pushes `batches` in order with up to `Options.pushWindow` requests unanswered at once,
  /// instead of waiting for each answer before sending the next. Each batch must be a
  /// valid push on its own (1–100 events) and continue the previous one; answers are matched
  /// by requestId. Sending stops at the first refusal. Returns once every sent batch is
  /// answered.
  ///
  /// - Throws: `WebSocketSyncError(.connectionLost)` when the connection drops with batches
  ///   unanswered (those may or may not be stored: pull to find out), `.closed`.
  public func push(batches: [[WireEvent]]) async throws -> PipelinedPushResult {
    guard !batches.isEmpty else { return PipelinedPushResult(acknowledged: 0, rejection: nil, metadata: nil) }
    try await waitUntilConnected()
    let pipeline = PushPipeline(window: max(1, options.pushWindow))
    let requestIds = codec.pipelineRequestIds(count: batches.count)
    let lastRequestId = requestIds.last!
    let wantsEcho = codec.echoesPushes
    defer { state.withLock { _ = $0.echoes.removeValue(forKey: lastRequestId) } }
    for (index, batch) in batches.enumerated() {
      guard await pipeline.reserve() else { break }
      let requestId = requestIds[index]
      let sent: Bool = state.withLock { state in
        guard let outgoing = state.outgoing else { return false }
        state.pushes[requestId] = { result in pipeline.answer(index, result) }
        if wantsEcho, index == batches.count - 1 { state.echoes[requestId] = .some(nil) }
        outgoing.yield(codec.encode(state.machine.push(requestId: requestId, batch: batch)))
        return true
      }
      if !sent {
        pipeline.answer(index, .failure(WebSocketSyncError(kind: .connectionLost, message: "connection lost before the push was sent")))
        break
      }
    }
    var result = try await pipeline.finish()
    if result.acknowledged == batches.count, wantsEcho {
      result.metadata = await echoMetadata(lastRequestId)
    }
    return result
  }

  /// The metadata of the push's echo, waiting up to `echoTimeout` for it.
  private func echoMetadata(_ requestId: String) async -> JSONValue? {
    let timeout = options.echoTimeout
    return await withTaskGroup(of: JSONValue?.self) { group in
      group.addTask {
        await withCheckedContinuation { continuation in
          let arrived: JSONValue?? = self.state.withLock { state in
            if case .some(.some(let metadata)) = state.echoes[requestId] { return .some(metadata) }
            state.echoWaiters[requestId] = continuation
            return nil
          }
          if let arrived { continuation.resume(returning: arrived) }
        }
      }
      group.addTask {
        try? await Task.sleep(for: timeout)
        self.state.withLock { $0.echoWaiters.removeValue(forKey: requestId) }?.resume(returning: nil)
        return nil
      }
      let first = await group.next() ?? nil
      group.cancelAll()
      state.withLock { $0.echoWaiters.removeValue(forKey: requestId) }?.resume(returning: nil)
      return first
    }
  }

  // MARK: - Pull

  /// Pulls the events after `cursor` (nil: from the beginning) in pages until
  /// `remaining == 0`; with `live`, then keeps delivering accepted pushes until the
  /// consumer stops iterating or the client is closed. One pull at a time per client.
  public func pull(cursor: Int64?, live: Bool = false) -> WebSocketPullStream {
    let channel = PageChannel()
    let (previous, connected): (PageChannel?, Bool) = state.withLock { state in
      let previous = state.channel
      state.channel = channel
      // Sent now when connected; else the machine sends it when the connection is back.
      for case .send(let request) in state.machine.startPull(cursor: cursor, live: live) {
        state.outgoing?.yield(codec.encode(request))
      }
      return (previous, state.outgoing != nil)
    }
    previous?.finish()
    if !connected { logger.debug("pull queued until the connection is back") }
    return WebSocketPullStream(channel: channel) { [weak self] in self?.abandonPull(channel) }
  }

  /// The consumer of `channel` stopped iterating: forget its pull (0.4: interrupt it).
  func abandonPull(_ channel: PageChannel) {
    state.withLock { state in
      guard state.channel === channel else { return }
      state.channel = nil
      for case .send(let request) in state.machine.stopPull() { state.outgoing?.yield(codec.encode(request)) }
    }
  }

  static func error(for failure: ClientFailure) -> WebSocketSyncError {
    switch failure {
    case .backendIdMismatch(let expected, let received):
      var error = WebSocketSyncError(kind: .backendIdMismatch, message: failure.message)
      error.backendIds = .init(expected: expected, received: received)
      return error
    case .connectionLost: return WebSocketSyncError(kind: .connectionLost, message: failure.message)
    case .message, .serverAhead: return WebSocketSyncError(kind: .pullFailed, message: failure.message)
    }
  }

  /// The push requestId of a 0.3 `PullRes` broadcast, found without parsing (see
  /// `LiveStore03Codec.pushEchoRequestId`).
  public static func pushEchoRequestId(_ text: String) -> String? { LiveStore03Codec.pushEchoRequestId(text) }
}

/// The pages of `WebSocketSyncClient.pull`. Stop iterating (or cancel the task) to end
/// the pull.
public struct WebSocketPullStream: AsyncSequence, Sendable {
  public typealias Element = WebSocketPullPage
  let channel: PageChannel
  let onAbandon: @Sendable () -> Void

  public final class AsyncIterator: AsyncIteratorProtocol {
    let channel: PageChannel
    let onAbandon: @Sendable () -> Void
    init(channel: PageChannel, onAbandon: @escaping @Sendable () -> Void) {
      self.channel = channel
      self.onAbandon = onAbandon
    }
    deinit {
      channel.abandon()
      onAbandon()
    }
    public func next() async throws -> WebSocketPullPage? { try await channel.next() }
  }

  public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: channel, onAbandon: onAbandon) }
}
