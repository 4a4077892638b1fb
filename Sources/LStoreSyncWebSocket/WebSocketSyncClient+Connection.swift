import HummingbirdWSClient
import LStoreKit
import LStoreSync
import Logging
import NIOWebSocket

/// The connection side of `WebSocketSyncClient`: opening and reopening the socket with
/// back-off, the keepalive, and running the machine's actions for each frame read.
extension WebSocketSyncClient {
  // MARK: - Connection

  func start(socketURL: String) async throws {
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
          var closeFrame: WebSocketCloseFrame?
          do {
            let client = WebSocketClient(url: socketURL, configuration: .init(maxFrameSize: options.maxMessageSize),
                                         logger: logger) { inbound, outbound, _ in
              opened.withLock { $0 = true }
              if let first = takeFirstAttempt() { first.resume() } else { self.options.onConnectionChange?(.restored) }
              try await self.serve(inbound: inbound, outbound: outbound)
            }
            closeFrame = try await client.run()
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
          let lost = WebSocketSyncError(kind: .connectionLost,
                                        message: "connection to \(url) lost" + Self.closeExplanation(closeFrame))
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

  /// Why the server closed the connection, from its close frame (nothing for none, or for
  /// a normal closure).
  static func closeExplanation(_ frame: WebSocketCloseFrame?) -> String {
    guard let frame else { return "" }
    return closeExplanation(code: Int(UInt16(webSocketErrorCode: frame.closeCode)), reason: frame.reason)
  }

  /// `; the server closed it: <why> (code N[: its reason])`, or nothing for a normal closure.
  public static func closeExplanation(code: Int, reason: String?) -> String {
    let why: String
    switch code {
    case 1000: return ""
    case 1001: why = "it is going away (stopping or restarting)"
    case 1002: why = "a protocol error"
    case 1003: why = "it cannot accept the data sent"
    case 1007: why = "a message was not valid UTF-8"
    case 1008: why = "a policy violation"
    case 1009: why = "a message was too large for it"
    case 1010: why = "a missing extension"
    case 1011: why = "an internal error (its log has the details)"
    default: why = "its own reason"
    }
    let text = reason.map { $0.isEmpty ? "" : ": \($0.prefix(200))" } ?? ""
    return "; the server closed it: \(why) (code \(code)\(text))"
  }

  /// Runs one open connection: a writer, the keepalive, and the reader.
  private func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
    let (outgoing, continuation) = AsyncStream<String>.makeStream()
    let waiters: [CheckedContinuation<Void, Error>] = state.withLock { state in
      state.outgoing = continuation
      // Re-pull after a reconnect, from what the consumer already has.
      for case .send(let request) in state.machine.connectionOpened() { continuation.yield(codec.encode(request)) }
      defer { state.connectionWaiters.removeAll() }
      return state.connectionWaiters
    }
    for waiter in waiters { waiter.resume() }
    defer {
      state.withLock { state in
        state.outgoing = nil
        state.machine.connectionLost()
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
      outgoing.yield(codec.pingText)
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

  func waitUntilConnected() async throws {
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
  func failEverything(_ error: WebSocketSyncError, includingPull: Bool) {
    let (pushes, waiters, pull): ([PushWaiter], [CheckedContinuation<Void, Error>], PageChannel?) =
      state.withLock { state in
        defer {
          state.pushes.removeAll()
          if includingPull {
            state.connectionWaiters.removeAll()
            state.channel = nil
            _ = state.machine.stopPull()
          }
        }
        return (Array(state.pushes.values), includingPull ? state.connectionWaiters : [], includingPull ? state.channel : nil)
      }
    for push in pushes { push(.failure(error)) }
    for waiter in waiters { waiter.resume(throwing: error) }
    pull?.finish(.failure(error))
  }

  // MARK: - Incoming

  private func receive(_ text: String) async {
    if text == codec.pongText {
      state.withLock { state in state.pongWaiter?.resume(); state.pongWaiter = nil }
      return
    }
    // Echoes of our own pushes nobody waits for (the pusher gets one per PushReq): skip
    // decoding them when no pull could want them. A pipelined push of a million events
    // would otherwise decode a million events a second time.
    if let echoId = codec.pushEchoRequestId(text),
       state.withLock({ !$0.machine.hasPull && $0.echoes[echoId] == nil }) {
      return
    }
    for inbound in codec.decode(text) {
      if case .ignored = inbound { logger.notice("ignoring an undecodable message from the server") }
      if case .pong = inbound { state.withLock { state in state.pongWaiter?.resume(); state.pongWaiter = nil } }
      if case .failedAll(let failure) = inbound {
        let error = WebSocketSyncError(kind: .pullFailed, message: failure.message)
        let pushes = state.withLock { state in defer { state.pushes.removeAll() }; return Array(state.pushes.values) }
        for push in pushes { push(.failure(error)) }
      }
      let (actions, channel) = state.withLock { state in (state.machine.receive(inbound), state.channel) }
      await run(actions, channel: channel)
    }
  }

  /// Carries out the machine's actions in order; a page is handed on before the `Ack`
  /// that follows it is sent, so the consumer's pace reaches the server.
  private func run(_ actions: [SyncClientMachine.Action], channel: PageChannel?) async {
    for action in actions {
      switch action {
      case .send(let request):
        let text = codec.encode(request)
        state.withLock { _ = $0.outgoing?.yield(text) }
      case .deliver(let page, let backpressure):
        await channel?.send(page, backpressure: backpressure)
        if channel?.isAbandoned == true { abandonPull(channel!) }
      case .endPull(let failure):
        state.withLock { state in if state.channel === channel { state.channel = nil } }
        channel?.finish(failure.map { .failure(Self.error(for: $0)) } ?? .success(()))
      case .answerPush(let requestId, let failure):
        guard let waiter = state.withLock({ $0.pushes.removeValue(forKey: requestId) }) else { continue }
        switch failure {
        case nil: waiter(.success(.acknowledged(metadata: nil)))
        case .backendIdMismatch(let expected, let received)?:
          waiter(.success(.backendIdMismatch(expected: expected, received: received)))
        case .connectionLost?:
          waiter(.failure(WebSocketSyncError(kind: .connectionLost, message: "connection to \(url) lost")))
        case let failure?: waiter(.success(.rejected(message: failure.message)))
        }
      case .echo(let requestId, let metadata):
        let waiter: CheckedContinuation<JSONValue?, Never>? = state.withLock { state in
          guard state.echoes[requestId] != nil else { return nil }
          state.echoes[requestId] = .some(metadata)
          return state.echoWaiters.removeValue(forKey: requestId)
        }
        waiter?.resume(returning: metadata)
      }
    }
  }
}
