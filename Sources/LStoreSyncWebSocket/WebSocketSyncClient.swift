import HummingbirdWSClient
import LStoreKit
import LStoreSync
import Logging

/// One page a pull delivers: catch-up pages (`isLive == false`) until `remaining == 0`,
/// then, for a live pull, one page per push accepted by the backend.
public struct WebSocketPullPage: Sendable, Equatable {
  public var items: [PullItem]
  public var remaining: Int64
  public var isLive: Bool
}

/// What the backend answered to a push.
public enum WebSocketPushResult: Sendable, Equatable {
  /// `PushAck`: the events are stored (lstore's server acks only after a durable write).
  /// `metadata` is the backend's sync metadata for the batch (`{"createdAt": …}`), read from
  /// the broadcast echo of the push as LiveStore's client learns it; nil when no echo came
  /// within `Options.echoTimeout` of the ack.
  case acknowledged(metadata: JSONValue?)
  /// `Error` for this push, with the server's text (for a stale parent, LiveStore's
  /// `Invalid parent event number. Received e<parent> but expected e<head>`).
  case rejected(message: String)
}

/// A change of a reconnecting client's connection.
public enum ConnectionChange: Sendable, Equatable {
  /// The open connection dropped; the client is reconnecting.
  case lost
  /// A connection is open again (after `lost`); an active pull is re-sent from its head.
  case restored
}

public struct WebSocketSyncError: Error, Sendable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    /// The first connection failed (unreachable, or refused: bad storeId, bad token).
    case connectFailed
    /// The connection dropped while a push waited for its answer: the push may or may not
    /// have been stored. Pull to find out.
    case connectionLost
    /// The server answered a pull with `Error`.
    case pullFailed
    /// `close()` was called.
    case closed
  }

  public let kind: Kind
  public let message: String
  /// Why the first connection failed, for `connectFailed`: what a user can act on.
  public var connectFailure: ConnectFailure? = nil
  public var description: String { message }
}

/// Why a connection could not be opened, told apart from the socket library's error values
/// (which print as `Connection errors: SingleConnectionFailure(target: …)`).
public enum ConnectFailure: Sendable, Equatable {
  /// Nothing accepts connections at that address (ECONNREFUSED).
  case nothingListens(host: String, port: Int)
  /// The host name does not resolve.
  case unresolved(host: String)
  /// An HTTP server answered but did not upgrade to a WebSocket: a refused storeId or
  /// payload (LiveStore answers 400), or not a sync server at that path.
  case upgradeRefused
  case other(String)

  static func classify(_ error: Error) -> ConnectFailure {
    if let error = error as? WebSocketClientError, error == .webSocketUpgradeFailed { return .upgradeRefused }
    let text = String(describing: error)
    // NIOConnectionError (NIOPosix, not a dependency of this module): read by reflection.
    if String(describing: type(of: error)) == "NIOConnectionError" {
      let mirror = Mirror(reflecting: error)
      let host = mirror.descendant("host") as? String ?? "?"
      let port = mirror.descendant("port") as? Int ?? 0
      if text.hasPrefix("DNS error") { return .unresolved(host: host) }
      if text.contains("Connection refused") || text.contains("errno: 111)") { return .nothingListens(host: host, port: port) }
      if let errors = mirror.descendant("connectionErrors") as? [Any], let first = errors.first,
         let inner = Mirror(reflecting: first).descendant("error") {
        return .other("\(host):\(port): \(inner)")
      }
    }
    return .other(text)
  }

  /// The sentence for a user; `url` is the remote as given.
  public func message(url: String, storeId: String) -> String {
    switch self {
    case .nothingListens(let host, let port): return "nothing listens on \(host):\(port) (\(url)); is the server running?"
    case .unresolved(let host): return "cannot resolve the host name '\(host)' of \(url)"
    case .upgradeRefused: return "\(url) refused the WebSocket connection for store \(storeId) (a refused storeId or auth payload, or not a sync server)"
    case .other(let text): return "cannot connect to \(url) for store \(storeId): \(text)"
    }
  }
}

/// A client of LiveStore's sync-cf 0.3 WebSocket protocol (lstore's `serve` or LiveStore's
/// Cloudflare backend).
///
/// - Requests carry 21-character nanoid request ids.
/// - Broadcasts that arrive before a pull's first page are stashed and merged into its
///   last page, as LiveStore's client does.
/// - A Ping every `pingInterval`; no Pong within `pongTimeout` closes the socket.
/// - Lost connections are reopened with exponential backoff, and an unfinished or live
///   pull is re-sent from the last seqNum it delivered (LiveStore 0.3 does not re-pull,
///   so it misses what was pushed while it was away).
public final class WebSocketSyncClient: Sendable {
  public struct Options: Sendable {
    public var pingInterval: Duration = .seconds(25)
    public var pongTimeout: Duration = .seconds(5)
    public var initialBackoff: Duration = .milliseconds(100)
    public var maxBackoff: Duration = .seconds(10)
    public var maxMessageSize = 16 << 20
    /// How long `push` waits after the ack for the echo that carries `createdAt`.
    public var echoTimeout: Duration = .seconds(1)
    /// How many `PushReq`s `push(batches:)` keeps unanswered at once.
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
  private let options: Options
  private let logger: Logger
  private let state = Locked(ClientState())

  private struct ActivePull {
    var requestId: String
    var channel: PageChannel
    var live: Bool
    /// The highest seqNum handed to the consumer (or the cursor): where a re-pull starts.
    var confirmedHead: Int64
    var catchUpDone = false
    var firstPageSeen = false
    var stash: [PullItem] = []
  }

  typealias PushWaiter = @Sendable (Result<WebSocketPushResult, Error>) -> Void

  private struct ClientState {
    var outgoing: AsyncStream<String>.Continuation?
    var connectionWaiters: [CheckedContinuation<Void, Error>] = []
    /// Unanswered pushes by requestId: told the answer, or the error that ended the wait.
    var pushes: [String: PushWaiter] = [:]
    var pull: ActivePull?
    var pongWaiter: CheckedContinuation<Void, Never>?
    /// Pushes whose echo is awaited: nil until it arrives, then the echo's metadata.
    var echoes: [String: JSONValue?] = [:]
    var echoWaiters: [String: CheckedContinuation<JSONValue?, Never>] = [:]
    var closed = false
    var supervisor: Task<Void, Never>?
  }

  private init(url: String, storeId: String, options: Options, logger: Logger) {
    self.url = url
    self.storeId = storeId
    self.options = options
    self.logger = logger
  }

  /// Opens the connection to `<url>/websocket?storeId=…&payload=…`.
  ///
  /// - Parameters:
  ///   - url: the backend's base URL, `ws://host:port` (or `wss://`).
  ///   - payload: the connect payload, e.g. `{"authToken": "…"}`; nil omits it.
  /// - Throws: `WebSocketSyncError.connectFailed` when the first connection fails.
  public static func connect(url: String, storeId: String, payload: JSONValue?, options: Options = Options(),
                             logger: Logger = Logger(label: "lstore.sync.ws", factory: { _ in SwiftLogNoOpLogHandler() }))
    async throws -> WebSocketSyncClient
  {
    let client = WebSocketSyncClient(url: url, storeId: storeId, options: options, logger: logger)
    let socketURL = SyncURL.webSocketURL(base: url, storeId: storeId, payload: payload)
    try await client.start(socketURL: socketURL)
    return client
  }

  public var isConnected: Bool { state.withLock { $0.outgoing != nil } }

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

  /// Sends one `PushReq` and waits for its `PushAck` or `Error`. Waits for the connection
  /// when it is down.
  public func push(_ batch: [WireEvent]) async throws -> WebSocketPushResult {
    let requestId = Identifiers.nanoid(length: 21)
    let text = SyncMessage.pushRequest(requestId: requestId, batch: batch).encoded()
    try await waitUntilConnected()
    defer { state.withLock { _ = $0.echoes.removeValue(forKey: requestId) } }
    let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<WebSocketPushResult, Error>) in
      let sent: Bool = state.withLock { state in
        guard let outgoing = state.outgoing else { return false }
        state.pushes[requestId] = { continuation.resume(with: $0) }
        state.echoes[requestId] = .some(nil)
        outgoing.yield(text)
        return true
      }
      if !sent {
        continuation.resume(throwing: WebSocketSyncError(kind: .connectionLost, message: "connection lost before the push was sent"))
      }
    }
    guard case .acknowledged = result else { return result }
    return .acknowledged(metadata: await echoMetadata(requestId))
  }

  /// What `push(batches:)` achieved.
  public struct PipelinedPushResult: Sendable, Equatable {
    /// How many batches, from the first, were acknowledged (so are durable on the backend).
    public var acknowledged: Int
    /// The backend's `Error` text for the first batch it refused, if any. The batches after
    /// it were refused too or never sent.
    public var rejection: String?
    /// The sync metadata of the last batch's echo, when all were acknowledged and the echo
    /// came within `Options.echoTimeout`.
    public var metadata: JSONValue?
  }

  /// Pushes `batches` in order with up to `Options.pushWindow` `PushReq`s unanswered at once,
  /// instead of waiting for each `PushAck` before sending the next. Each batch must be a
  /// valid push on its own (1–100 events) and continue the previous one; answers are matched
  /// by requestId. Sending stops at the first refusal. Returns once every sent batch is
  /// answered.
  ///
  /// - Throws: `WebSocketSyncError(.connectionLost)` when the connection drops with batches
  ///   unanswered (those may or may not be stored: pull to find out), `.closed`.
  public func push(batches: [[WireEvent]]) async throws -> PipelinedPushResult {
    guard !batches.isEmpty else { return PipelinedPushResult(acknowledged: 0, rejection: nil, metadata: nil) }
    try await waitUntilConnected()
    let pipeline = Pipeline(window: max(1, options.pushWindow))
    // `<pipelineId>~<index>`: lstore's server refuses the rest of a pipeline once one of its
    // pushes is refused (see `SyncBackend.pipelineId(of:)`).
    let pipelineId = Identifiers.nanoid(length: 21)
    let lastRequestId = "\(pipelineId)~\(batches.count - 1)"
    defer { state.withLock { _ = $0.echoes.removeValue(forKey: lastRequestId) } }
    for (index, batch) in batches.enumerated() {
      guard await pipeline.reserve() else { break }
      let requestId = "\(pipelineId)~\(index)"
      let text = SyncMessage.pushRequest(requestId: requestId, batch: batch).encoded()
      let sent: Bool = state.withLock { state in
        guard let outgoing = state.outgoing else { return false }
        state.pushes[requestId] = { result in pipeline.answer(index, result) }
        if index == batches.count - 1 { state.echoes[requestId] = .some(nil) }
        outgoing.yield(text)
        return true
      }
      if !sent {
        pipeline.answer(index, .failure(WebSocketSyncError(kind: .connectionLost, message: "connection lost before the push was sent")))
        break
      }
    }
    var result = try await pipeline.finish()
    if result.acknowledged == batches.count {
      result.metadata = await echoMetadata(lastRequestId)
    }
    return result
  }

  /// The bookkeeping of one `push(batches:)`: a window of unanswered requests and the
  /// answers so far.
  private final class Pipeline: Sendable {
    private struct State {
      var inFlight = 0
      var answered: [Int: WebSocketPushResult] = [:]
      var failure: Error?
      var stopped = false
      var sender: CheckedContinuation<Bool, Never>?
      var finisher: CheckedContinuation<Void, Never>?
    }
    private let state = Locked(State())
    private let window: Int

    init(window: Int) { self.window = window }

    /// Waits for room in the window; false once a refusal or failure means: send no more.
    func reserve() async -> Bool {
      await withCheckedContinuation { continuation in
        let now: Bool? = state.withLock { state in
          if state.stopped { return false }
          if state.inFlight < window {
            state.inFlight += 1
            return true
          }
          state.sender = continuation
          return nil
        }
        if let now { continuation.resume(returning: now) }
      }
    }

    func answer(_ index: Int, _ result: Result<WebSocketPushResult, Error>) {
      let (sender, proceed, finisher): (CheckedContinuation<Bool, Never>?, Bool, CheckedContinuation<Void, Never>?) =
        state.withLock { state in
          state.inFlight -= 1
          switch result {
          case .success(let answer):
            state.answered[index] = answer
            if case .rejected = answer { state.stopped = true }
          case .failure(let error):
            if state.failure == nil { state.failure = error }
            state.stopped = true
          }
          var sender: CheckedContinuation<Bool, Never>? = nil
          if let waiting = state.sender, state.stopped || state.inFlight < window {
            state.sender = nil
            sender = waiting
            if !state.stopped { state.inFlight += 1 }
          }
          var finisher: CheckedContinuation<Void, Never>? = nil
          if state.inFlight == 0 { finisher = state.finisher; state.finisher = nil }
          return (sender, !state.stopped, finisher)
        }
      sender?.resume(returning: proceed)
      finisher?.resume()
    }

    /// Waits for every sent request's answer.
    func finish() async throws -> PipelinedPushResult {
      await withCheckedContinuation { continuation in
        let done: Bool = state.withLock { state in
          if state.inFlight == 0 { return true }
          state.finisher = continuation
          return false
        }
        if done { continuation.resume() }
      }
      return try state.withLock { state in
        var acknowledged = 0
        while case .acknowledged = state.answered[acknowledged] { acknowledged += 1 }
        var rejection: String? = nil
        for index in state.answered.keys.sorted() {
          if case .rejected(let message) = state.answered[index]! { rejection = message; break }
        }
        if rejection == nil, let failure = state.failure { throw failure }
        return PipelinedPushResult(acknowledged: acknowledged, rejection: rejection, metadata: nil)
      }
    }
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
    let message: String? = state.withLock { state in
      if let previous = state.pull { previous.channel.finish(); state.pull = nil }
      let requestId = Identifiers.nanoid(length: 21)
      state.pull = ActivePull(requestId: requestId, channel: channel, live: live, confirmedHead: max(cursor ?? 0, 0))
      let text = SyncMessage.pullRequest(requestId: requestId, cursor: cursor).encoded()
      guard let outgoing = state.outgoing else { return text }
      outgoing.yield(text)
      return nil
    }
    if message != nil {
      // Not connected right now: the pull is sent when the connection is back.
      logger.debug("pull queued until the connection is back")
    }
    return WebSocketPullStream(channel: channel)
  }

  // MARK: - Connection

  private func start(socketURL: String) async throws {
    try await withCheckedThrowingContinuation { (first: CheckedContinuation<Void, Error>) in
      let task = Task { [self] in
        // Resumed by whichever comes first: the socket opening or the first attempt failing.
        let firstAttempt = Locked<CheckedContinuation<Void, Error>?>(first)
        @Sendable func takeFirstAttempt() -> CheckedContinuation<Void, Error>? {
          firstAttempt.withLock { value in defer { value = nil }; return value }
        }
        var backoff = options.initialBackoff
        while !Task.isCancelled && !state.withLock({ $0.closed }) {
          let opened = Locked(false)
          var failure: Error?
          do {
            let client = WebSocketClient(url: socketURL, configuration: .init(maxFrameSize: options.maxMessageSize),
                                         logger: logger) { inbound, outbound, _ in
              opened.withLock { $0 = true }
              if let first = takeFirstAttempt() { first.resume() } else { self.options.onConnectionChange?(.restored) }
              try await self.serve(inbound: inbound, outbound: outbound)
            }
            try await client.run()
          } catch {
            failure = error
            logger.debug("connection ended", metadata: ["error": "\(error)"])
          }
          if let attempt = takeFirstAttempt() {
            let reason = failure.map(ConnectFailure.classify) ?? .other("the connection closed")
            attempt.resume(throwing: WebSocketSyncError(kind: .connectFailed, message: reason.message(url: url, storeId: storeId),
                                                        connectFailure: reason))
            return
          }
          if opened.withLock({ $0 }) { backoff = options.initialBackoff }
          let lost = WebSocketSyncError(kind: .connectionLost, message: "connection to \(url) lost")
          guard options.reconnect else {
            state.withLock { $0.closed = true }
            failEverything(lost, includingPull: true)
            break
          }
          failEverything(lost, includingPull: false)
          if state.withLock({ $0.closed }) { break }
          if opened.withLock({ $0 }) { options.onConnectionChange?(.lost) }
          try? await Task.sleep(for: backoff)
          backoff = min(backoff * 2, options.maxBackoff)
        }
      }
      state.withLock { $0.supervisor = task }
    }
  }

  /// Runs one open connection: a writer, the keepalive, and the reader.
  private func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
    let (outgoing, continuation) = AsyncStream<String>.makeStream()
    let waiters: [CheckedContinuation<Void, Error>] = state.withLock { state in
      state.outgoing = continuation
      // Re-pull after a reconnect, from what the consumer already has.
      if var pull = state.pull {
        pull.requestId = Identifiers.nanoid(length: 21)
        pull.firstPageSeen = false
        pull.catchUpDone = false
        pull.stash = []
        state.pull = pull
        continuation.yield(SyncMessage.pullRequest(requestId: pull.requestId, cursor: pull.confirmedHead).encoded())
      }
      defer { state.connectionWaiters.removeAll() }
      return state.connectionWaiters
    }
    for waiter in waiters { waiter.resume() }
    defer {
      state.withLock { state in
        state.outgoing = nil
        state.pongWaiter?.resume()
        state.pongWaiter = nil
      }
      continuation.finish()
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        for await text in outgoing { try await outbound.write(.text(text)) }
      }
      group.addTask { try await self.keepalive(continuation, outbound: outbound) }
      for try await message in inbound.messages(maxSize: options.maxMessageSize) {
        guard case .text(let text) = message else { continue }
        await receive(text)
      }
      group.cancelAll()
    }
  }

  private func keepalive(_ outgoing: AsyncStream<String>.Continuation, outbound: WebSocketOutboundWriter) async throws {
    while true {
      try await Task.sleep(for: options.pingInterval)
      outgoing.yield(SyncMessage.pingText)
      let answered = await withTaskGroup(of: Bool.self) { group in
        group.addTask {
          await withCheckedContinuation { continuation in self.state.withLock { $0.pongWaiter = continuation } }
          return true
        }
        group.addTask {
          try? await Task.sleep(for: self.options.pongTimeout)
          return false
        }
        let first = await group.next() ?? false
        group.cancelAll()
        self.state.withLock { state in state.pongWaiter?.resume(); state.pongWaiter = nil }
        return first
      }
      if !answered {
        logger.info("no pong from the server: reconnecting")
        try await outbound.close(.goingAway, reason: "no pong")
        return
      }
    }
  }

  private func waitUntilConnected() async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
      let ready: Result<Void, Error>? = state.withLock { state in
        if state.closed { return .failure(WebSocketSyncError(kind: .closed, message: "the sync client was closed")) }
        if state.outgoing != nil { return .success(()) }
        state.connectionWaiters.append(continuation)
        return nil
      }
      if let ready { continuation.resume(with: ready) }
    }
  }

  /// Fails waiting pushes (their outcome is unknown) and, when closing, the pull.
  private func failEverything(_ error: WebSocketSyncError, includingPull: Bool) {
    let (pushes, waiters, pull): ([PushWaiter], [CheckedContinuation<Void, Error>], PageChannel?) =
      state.withLock { state in
        defer {
          state.pushes.removeAll()
          if includingPull { state.connectionWaiters.removeAll(); state.pull = nil }
        }
        return (Array(state.pushes.values), includingPull ? state.connectionWaiters : [], includingPull ? state.pull?.channel : nil)
      }
    for push in pushes { push(.failure(error)) }
    for waiter in waiters { waiter.resume(throwing: error) }
    pull?.finish(.failure(error))
  }

  // MARK: - Incoming

  private func receive(_ text: String) async {
    if text == SyncMessage.pongText {
      state.withLock { state in state.pongWaiter?.resume(); state.pongWaiter = nil }
      return
    }
    // Echoes of our own pushes nobody waits for (the pusher gets one per PushReq): skip
    // decoding them when no pull could want them. A pipelined push of a million events
    // would otherwise decode a million events a second time.
    if let echoId = Self.pushEchoRequestId(text),
       state.withLock({ $0.pull == nil && $0.echoes[echoId] == nil }) {
      return
    }
    guard let message = try? SyncMessage.decode(text) else {
      logger.notice("ignoring an undecodable message from the server")
      return
    }
    switch message {
    case .pushAck(let requestId):
      state.withLock { $0.pushes.removeValue(forKey: requestId) }?(.success(.acknowledged(metadata: nil)))
    case .error(let requestId, let errorText):
      if let push = state.withLock({ $0.pushes.removeValue(forKey: requestId) }) {
        push(.success(.rejected(message: errorText)))
      } else if let channel = state.withLock({ state -> PageChannel? in
        guard state.pull?.requestId == requestId else { return nil }
        defer { state.pull = nil }
        return state.pull?.channel
      }) {
        channel.finish(.failure(WebSocketSyncError(kind: .pullFailed, message: errorText)))
      }
    case .pullResponse(let response):
      await receive(response)
    case .pong:
      state.withLock { state in state.pongWaiter?.resume(); state.pongWaiter = nil }
    default:
      break
    }
  }

  /// The push requestId of a `PullRes` broadcast, found without parsing: the text must
  /// start with `{"_tag":"WSMessage.PullRes"` and end with
  /// `"requestId":{"context":"push","requestId":"<id>"},"remaining":0}` (LiveStore's key
  /// order). Nil for anything else, which is then decoded normally.
  public static func pushEchoRequestId(_ text: String) -> String? {
    let prefix = Array(#"{"_tag":"WSMessage.PullRes""#.utf8)
    let head = Array(#","requestId":{"context":"push","requestId":""#.utf8)
    let tail = Array(#""},"remaining":0}"#.utf8)
    var text = text
    return text.withUTF8 { bytes -> String? in
      let n = bytes.count
      guard n > prefix.count + head.count + tail.count,
            bytes.starts(with: prefix), bytes[(n - tail.count)...].elementsEqual(tail) else { return nil }
      var start = n - tail.count
      let end = start
      while start > 0, bytes[start - 1] != UInt8(ascii: "\""), bytes[start - 1] != UInt8(ascii: "\\") { start -= 1 }
      guard start >= head.count, bytes[start - 1] == UInt8(ascii: "\""),
            bytes[(start - head.count)..<start].elementsEqual(head) else { return nil }
      return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }
  }

  /// Applies LiveStore's pull rules (§7.3) and hands pages to the consumer.
  private func receive(_ response: PullResponse) async {
    if response.context == .push {
      let metadata = response.batch.first?.metadata ?? .null
      let waiter: CheckedContinuation<JSONValue?, Never>? = state.withLock { state in
        guard state.echoes[response.requestId] != nil else { return nil }
        state.echoes[response.requestId] = .some(metadata)
        return state.echoWaiters.removeValue(forKey: response.requestId)
      }
      waiter?.resume(returning: metadata)
    }
    enum Delivery { case none, page(WebSocketPullPage, PageChannel, backpressure: Bool, last: Bool) }
    let delivery: Delivery = state.withLock { state in
      guard var pull = state.pull else { return .none }
      defer { state.pull = pull }
      switch response.context {
      case .pull:
        guard response.requestId == pull.requestId else { return .none }
        pull.firstPageSeen = true
        var items = response.batch.filter { $0.event.seqNum > pull.confirmedHead }
        if response.remaining == 0 {
          let after = items.last?.event.seqNum ?? pull.confirmedHead
          items += pull.stash.filter { $0.event.seqNum > after }
          pull.stash = []
          pull.catchUpDone = true
        }
        pull.confirmedHead = items.last?.event.seqNum ?? pull.confirmedHead
        let page = WebSocketPullPage(items: items, remaining: response.remaining, isLive: false)
        return .page(page, pull.channel, backpressure: true, last: response.remaining == 0 && !pull.live)
      case .push:
        guard pull.firstPageSeen else {
          pull.stash += response.batch
          return .none
        }
        guard pull.catchUpDone, pull.live else { return .none }
        let items = response.batch.filter { $0.event.seqNum > pull.confirmedHead }
        guard !items.isEmpty else { return .none }
        pull.confirmedHead = items.last!.event.seqNum
        return .page(WebSocketPullPage(items: items, remaining: 0, isLive: true), pull.channel, backpressure: false, last: false)
      }
    }
    guard case .page(let page, let channel, let backpressure, let last) = delivery else { return }
    await channel.send(page, backpressure: backpressure)
    if last {
      channel.finish()
      state.withLock { state in if state.pull?.channel === channel { state.pull = nil } }
    } else if channel.isAbandoned {
      state.withLock { state in if state.pull?.channel === channel { state.pull = nil } }
    }
  }
}

/// The pages of `WebSocketSyncClient.pull`. Stop iterating (or cancel the task) to end
/// the pull.
public struct WebSocketPullStream: AsyncSequence, Sendable {
  public typealias Element = WebSocketPullPage
  let channel: PageChannel

  public final class AsyncIterator: AsyncIteratorProtocol {
    let channel: PageChannel
    init(channel: PageChannel) { self.channel = channel }
    deinit { channel.abandon() }
    public func next() async throws -> WebSocketPullPage? { try await channel.next() }
  }

  public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: channel) }
}
