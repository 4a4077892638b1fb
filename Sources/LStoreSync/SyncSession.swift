import LStoreKit

/// The server side of one WebSocket connection speaking LiveStore's sync-cf 0.3 protocol,
/// independent of any socket library: text messages in, text messages out.
///
/// Ordering guarantees:
/// - all outgoing messages go through one FIFO, written by one writer;
/// - messages are handled in arrival order, except pulls, which run beside later messages
///   so a long pull never delays a push;
/// - pushes are handed to the backend in arrival order without waiting for the previous
///   one's answer (up to `ConnectionLimits.maxPushesInFlight`), so a client may pipeline
///   them; the backend answers them in that order, each `PushAck` only once the push is durable;
/// - a `PushAck` is queued before the broadcast of the same push;
/// - while a pull is sending pages, broadcasts for this connection are held back and sent
///   after its last page, minus those the pull already contained, so a client never sees
///   a live event between the pages of a pull.
///
/// Memory a client controls is bounded (`ConnectionLimits`): pushes and pulls in flight,
/// and the bytes queued for it. While too much is queued the connection stops reading and
/// its pulls pause; when broadcasts alone overflow the queue, the client is not reading and
/// the connection is closed (`run`'s `close`).
public final class SyncSession: Sendable {
  /// What happened, for the server's log. Never carries secrets.
  public enum Event: Sendable {
    case pushAccepted(requestId: String, count: Int, head: Int64)
    case pushRejected(requestId: String, count: Int, message: String)
    case pullServed(requestId: String, cursor: Int64?, events: Int64, pages: Int)
    case invalidMessage(reason: String)
    case adminReset
    case adminRefused
    case failed(requestId: String, message: String)
    /// The connection was closed by the server (a client that does not read).
    case closed(reason: String)
  }

  public let storeId: String
  private let backend: SyncBackend
  private let adminSecret: String?
  private let onEvent: @Sendable (Event) -> Void
  public let limits: ConnectionLimits
  private let outbound: OutboundQueue
  private let pullState = Locked(PullState())
  private let pushWindow: InFlightWindow
  private let pullWindow: InFlightWindow
  private let subscription: SessionSubscription

  /// The most pushes of one connection that may be queued in the backend, unanswered, by
  /// default; the connection stops reading while it has that many.
  public static let maxPushesInFlight = ConnectionLimits.standard.maxPushesInFlight

  private struct PullState {
    var activePulls = 0
    var held: [SyncBackend.Broadcast] = []
  }

  /// - Parameter adminSecret: the secret admin messages must carry; nil refuses them all.
  public init(backend: SyncBackend, storeId: String, adminSecret: String?, limits: ConnectionLimits = .standard,
              onEvent: @escaping @Sendable (Event) -> Void = { _ in }) {
    self.backend = backend
    self.storeId = storeId
    self.adminSecret = adminSecret
    self.onEvent = onEvent
    self.limits = limits
    outbound = OutboundQueue(limits: limits)
    pushWindow = InFlightWindow(limit: limits.maxPushesInFlight)
    pullWindow = InFlightWindow(limit: limits.maxPullsInFlight)
    subscription = SessionSubscription(backend: backend, storeId: storeId)
  }

  /// Serves the connection until `inbound` ends, and rethrows the error it ended with once
  /// everything is cleaned up. `send` writes one text message; once it
  /// throws, nothing more is written. `close` is called (once) when the server gives up on
  /// the client because it does not read (more than `outboundCloseBytes` queued): it must
  /// close the socket, which ends `inbound`.
  public func run<Inbound: AsyncSequence>(
    inbound: Inbound, send: @escaping @Sendable (String) async throws -> Void,
    close: @escaping @Sendable (String) -> Void = { _ in }
  ) async throws where Inbound.Element == String {
    let onEvent = onEvent
    outbound.setOverflowHandler { [limits] bytes in
      let reason = "the client does not read: \(bytes) bytes queued for it, the limit is \(limits.outboundCloseBytes)"
      onEvent(.closed(reason: reason))
      close(reason)
    }
    // Not awaited: with a database that does not answer, subscribing takes the storage's
    // timeout, and the client's pings must be answered meanwhile (pulls wait for it).
    subscription.start { [weak self] broadcast in self?.deliver(broadcast) }
    var inboundError: (any Error)?
    await withTaskGroup(of: Void.self) { writerGroup in
      writerGroup.addTask { [outbound] in
        var broken = false
        for await item in outbound.items {
          if !broken {
            do { try await send(item.text) } catch { broken = true }
          }
          outbound.wrote(item)
        }
      }
      inboundError = await withTaskGroup(of: Void.self) { pulls -> (any Error)? in
        var failure: (any Error)?
        do {
          for try await text in inbound {
            guard !outbound.isClosed else { break }
            await handle(text, pulls: &pulls)
            // Back-pressure: read the next request only once the client has read enough.
            await outbound.waitForRoom()
          }
        } catch {
          failure = error
        }
        pulls.cancelAll()
        outbound.close()
        return failure
      }
      outbound.finish()
    }
    await subscription.end()
    // The inbound side's failure (a frame that is not UTF-8, say) is the socket library's
    // to answer with the right close code.
    if let inboundError { throw inboundError }
  }

  // MARK: - Outgoing

  private func enqueue(_ text: String) { outbound.push(text) }

  private func enqueue(_ message: SyncMessage) { enqueue(message.encoded()) }

  /// Called by the backend for every accepted push of this store.
  private func deliver(_ broadcast: SyncBackend.Broadcast) {
    pullState.withLock { state in
      if state.activePulls > 0 {
        // Held broadcasts are memory the client makes us keep, too.
        outbound.count(broadcast.text.utf8.count)
        state.held.append(broadcast)
      } else {
        enqueue(broadcast.text)
      }
    }
  }

  // MARK: - Incoming

  private func handle(_ text: String, pulls: inout TaskGroup<Void>) async {
    // LiveStore's keepalive, answered without parsing (Cloudflare's auto-response does the same).
    if text == SyncMessage.pingText {
      enqueue(SyncMessage.pongText)
      return
    }
    let message: SyncMessage
    do {
      message = try SyncMessage.decode(text)
    } catch {
      onEvent(.invalidMessage(reason: "\(error)"))
      let reason = "Invalid message: \(error)"
      if case .loneSurrogateString(let units)? = RequestIdScanner.scanValue(text) {
        // An id no String holds (a lone surrogate, refused as an id) is echoed exactly all
        // the same, so the client waiting on it sees the refusal.
        var writer = JSONWriter()
        writer.appendASCII(#"{"_tag":"WSMessage.Error","requestId":"#)
        writer.writeString(utf16: units)
        writer.appendASCII(#","message":"#)
        writer.writeString(reason)
        writer.appendASCII("}")
        enqueue(writer.string)
      } else {
        enqueue(.error(requestId: Self.requestIdIfAny(in: text), message: reason))
      }
      return
    }
    switch message {
    case .ping(let requestId):
      enqueue(.pong(requestId: requestId))
    case .pullRequest(let requestId, let cursor):
      await pullWindow.reserve()
      // Hold broadcasts from now on, before the pull fixes its snapshot.
      pullState.withLock { $0.activePulls += 1 }
      pulls.addTask {
        await self.servePull(requestId: requestId, cursor: cursor)
        self.pullWindow.release()
      }
    case .pushRequest(let requestId, let batch):
      await servePush(requestId: requestId, batch: batch)
    case .adminResetRoomRequest(let requestId, let secret):
      guard isAdmin(secret) else { return refuseAdmin(requestId) }
      do {
        try await backend.reset(storeId: storeId)
        onEvent(.adminReset)
        enqueue(.adminResetRoomResponse(requestId: requestId))
      } catch {
        fail(requestId, "Reset failed", error)
      }
    case .adminInfoRequest(let requestId, let secret):
      guard isAdmin(secret) else { return refuseAdmin(requestId) }
      do {
        enqueue(.adminInfoResponse(requestId: requestId, info: try await backend.info(storeId: storeId)))
      } catch {
        fail(requestId, "Info failed", error)
      }
    case .pullResponse, .pushAck, .adminResetRoomResponse, .adminInfoResponse, .error, .pong:
      onEvent(.invalidMessage(reason: "client sent \(message.tag)"))
      enqueue(.error(requestId: message.requestId, message: "Invalid message: \(message.tag) is sent by the server, not to it"))
    }
  }

  private func servePush(requestId: String, batch: [WireEvent]) async {
    await pushWindow.reserve()
    let outbound = outbound, pushWindow = pushWindow
    let onEvent = onEvent
    await backend.submitPush(storeId: storeId, batch: batch, requestId: requestId) { result in
      switch result {
      case .success(let head):
        outbound.push(SyncMessage.pushAck(requestId: requestId).encoded())
        onEvent(.pushAccepted(requestId: requestId, count: batch.count, head: head))
      case .failure(let rejection as PushRejection):
        onEvent(.pushRejected(requestId: requestId, count: batch.count, message: rejection.message))
        outbound.push(SyncMessage.error(requestId: requestId, message: rejection.message).encoded())
      case .failure(let error):
        onEvent(.failed(requestId: requestId, message: "Push failed: \(error)"))
        let message = "Push failed: " + ClientErrorText.text(error)
        outbound.push(SyncMessage.error(requestId: requestId, message: message).encoded())
      }
      pushWindow.release()
    }
  }

  private func servePull(requestId: String, cursor: Int64?) async {
    var snapshotHead: Int64 = .max
    defer { finishPull(throughHead: snapshotHead) }
    do {
      // Subscribed before the snapshot is fixed: no broadcast after it is missed.
      _ = try await subscription.ensure()
      let snapshot = try await backend.pullSnapshot(storeId: storeId, cursor: cursor)
      snapshotHead = snapshot.head
      var pageCount = 0
      for try await page in backend.pages(of: snapshot) {
        try Task.checkCancellation()
        // Reading and encoding the next page overlaps with the socket until the bytes
        // queued for the client reach `outboundPauseBytes`; then the pull waits for it.
        await outbound.waitForRoom()
        guard !outbound.isClosed else { throw CancellationError() }
        let response = PullResponse(batch: page.items, context: .pull, requestId: requestId, remaining: page.remaining)
        let text = SyncMessage.pullResponse(response).encoded()
        pageCount += 1
        if page.remaining == 0 {
          await outbound.pushAndWait(text)
        } else {
          outbound.push(text)
        }
      }
      onEvent(.pullServed(requestId: requestId, cursor: cursor, events: snapshot.total, pages: pageCount))
    } catch is CancellationError {
      snapshotHead = .max
    } catch {
      snapshotHead = .max
      fail(requestId, "Pull failed", error)
    }
  }

  /// Releases broadcasts held during a pull: those after the pull's snapshot, in order.
  private func finishPull(throughHead head: Int64) {
    pullState.withLock { state in
      state.activePulls -= 1
      guard state.activePulls == 0 else { return }
      for broadcast in state.held {
        if broadcast.lastSeqNum > head || head == .max {
          outbound.push(broadcast.text, counted: true)
        } else {
          outbound.uncount(broadcast.text.utf8.count)
        }
      }
      state.held.removeAll()
    }
  }

  private func isAdmin(_ secret: String) -> Bool {
    guard let adminSecret else { return false }
    return ConstantTime.equal(secret, adminSecret)
  }

  private func refuseAdmin(_ requestId: String) {
    onEvent(.adminRefused)
    enqueue(.error(requestId: requestId, message: "Invalid admin secret"))
  }

  /// Logs the whole error and tells the client only what `ClientErrorText` allows (never SQL).
  private func fail(_ requestId: String, _ what: String, _ error: any Error) {
    onEvent(.failed(requestId: requestId, message: "\(what): \(error)"))
    enqueue(.error(requestId: requestId, message: "\(what): " + ClientErrorText.text(error)))
  }

  /// The `requestId` of a message that failed to decode, so the client can still match the
  /// error to its request; empty when there is none.
  static func requestIdIfAny(in text: String) -> String {
    RequestIdScanner.scan(text) ?? ""
  }
}

/// Comparison that takes the same time wherever the strings differ, for secrets.
public enum ConstantTime {
  public static func equal(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var difference = UInt8(x.count == y.count ? 0 : 1)
    for i in 0..<max(x.count, y.count) {
      difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
    }
    return difference == 0
  }
}
