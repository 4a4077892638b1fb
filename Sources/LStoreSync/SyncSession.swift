import LStoreKit

/// The server side of one WebSocket connection speaking LiveStore's sync-cf 0.3 protocol,
/// independent of any socket library: text messages in, text messages out.
///
/// Ordering guarantees:
/// - all outgoing messages go through one FIFO, written by one writer;
/// - messages are handled in arrival order, except pulls, which run beside later messages
///   so a long pull never delays a push;
/// - pushes are handed to the backend in arrival order without waiting for the previous
///   one's answer (up to `maxPushesInFlight`), so a client may pipeline them; the backend
///   answers them in that order, each `PushAck` only once the push is durable;
/// - a `PushAck` is queued before the broadcast of the same push;
/// - while a pull is sending pages, broadcasts for this connection are held back and sent
///   after its last page, minus those the pull already contained, so a client never sees
///   a live event between the pages of a pull.
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
  }

  public let storeId: String
  private let backend: SyncBackend
  private let adminSecret: String?
  private let onEvent: @Sendable (Event) -> Void
  private let outbox: AsyncStream<Outgoing>.Continuation
  private let outgoing: AsyncStream<Outgoing>
  private let pullState = Locked(PullState())
  private let pushWindow = Locked(PushWindow())

  /// The most pushes of one connection that may be queued in the backend, unanswered; the
  /// connection stops reading while it has that many, so a pipelining client cannot make
  /// the server buffer without bound.
  public static let maxPushesInFlight = 256

  /// A pull waits for its page to be written every this many pages.
  static let pullPagesAhead = 8

  private struct PushWindow {
    var inFlight = 0
    var reader: CheckedContinuation<Void, Never>?
  }

  private struct Outgoing: Sendable {
    var text: String
    /// Resumed once the text is written (or the connection is gone): how a pull paces
    /// itself to the socket instead of queueing a million events in memory.
    var written: CheckedContinuation<Void, Never>?
  }

  private struct PullState {
    var activePulls = 0
    var held: [SyncBackend.Broadcast] = []
  }

  /// - Parameter adminSecret: the secret admin messages must carry; nil refuses them all.
  public init(backend: SyncBackend, storeId: String, adminSecret: String?,
              onEvent: @escaping @Sendable (Event) -> Void = { _ in }) {
    self.backend = backend
    self.storeId = storeId
    self.adminSecret = adminSecret
    self.onEvent = onEvent
    (outgoing, outbox) = AsyncStream<Outgoing>.makeStream()
  }

  /// Serves the connection until `inbound` ends. `send` writes one text message; once it
  /// throws, nothing more is written.
  public func run<Inbound: AsyncSequence>(
    inbound: Inbound, send: @escaping @Sendable (String) async throws -> Void
  ) async throws where Inbound.Element == String {
    let subscription = try await backend.subscribe(storeId: storeId) { [weak self] broadcast in
      self?.deliver(broadcast)
    }
    await withTaskGroup(of: Void.self) { writerGroup in
      writerGroup.addTask { [outgoing] in
        var broken = false
        for await item in outgoing {
          if !broken {
            do { try await send(item.text) } catch { broken = true }
          }
          item.written?.resume()
        }
      }
      await withTaskGroup(of: Void.self) { pulls in
        do {
          for try await text in inbound {
            await handle(text, pulls: &pulls)
          }
        } catch {
          // The socket closed with an error: same as a close.
        }
        pulls.cancelAll()
      }
      outbox.finish()
    }
    await backend.unsubscribe(subscription)
  }

  // MARK: - Outgoing

  private func enqueue(_ text: String) { outbox.yield(Outgoing(text: text, written: nil)) }

  private func enqueue(_ message: SyncMessage) { enqueue(message.encoded()) }

  private func enqueueAndWait(_ text: String) async {
    await withCheckedContinuation { continuation in
      if case .terminated = outbox.yield(Outgoing(text: text, written: continuation)) { continuation.resume() }
    }
  }

  /// Called by the backend for every accepted push of this store.
  private func deliver(_ broadcast: SyncBackend.Broadcast) {
    pullState.withLock { state in
      if state.activePulls > 0 {
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
      let requestId = Self.requestIdIfAny(in: text)
      onEvent(.invalidMessage(reason: "\(error)"))
      enqueue(.error(requestId: requestId, message: "Invalid message: \(error)"))
      return
    }
    switch message {
    case .ping(let requestId):
      enqueue(.pong(requestId: requestId))
    case .pullRequest(let requestId, let cursor):
      // Hold broadcasts from now on, before the pull fixes its snapshot.
      pullState.withLock { $0.activePulls += 1 }
      pulls.addTask { await self.servePull(requestId: requestId, cursor: cursor) }
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
    await reservePushSlot()
    let outbox = outbox
    let onEvent = onEvent
    await backend.submitPush(storeId: storeId, batch: batch, requestId: requestId) { [weak self] result in
      switch result {
      case .success(let head):
        outbox.yield(Outgoing(text: SyncMessage.pushAck(requestId: requestId).encoded(), written: nil))
        onEvent(.pushAccepted(requestId: requestId, count: batch.count, head: head))
      case .failure(let rejection as PushRejection):
        onEvent(.pushRejected(requestId: requestId, count: batch.count, message: rejection.message))
        outbox.yield(Outgoing(text: SyncMessage.error(requestId: requestId, message: rejection.message).encoded(), written: nil))
      case .failure(let error):
        onEvent(.failed(requestId: requestId, message: "Push failed: \(error)"))
        let message = "Push failed: " + ClientErrorText.text(error)
        outbox.yield(Outgoing(text: SyncMessage.error(requestId: requestId, message: message).encoded(), written: nil))
      }
      self?.releasePushSlot()
    }
  }

  /// Waits while `maxPushesInFlight` pushes of this connection are unanswered.
  private func reservePushSlot() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      let now: Bool = pushWindow.withLock { window in
        window.inFlight += 1
        if window.inFlight <= Self.maxPushesInFlight { return true }
        window.reader = continuation
        return false
      }
      if now { continuation.resume() }
    }
  }

  private func releasePushSlot() {
    let reader: CheckedContinuation<Void, Never>? = pushWindow.withLock { window in
      window.inFlight -= 1
      guard window.inFlight <= Self.maxPushesInFlight, let reader = window.reader else { return nil }
      window.reader = nil
      return reader
    }
    reader?.resume()
  }

  private func servePull(requestId: String, cursor: Int64?) async {
    var snapshotHead: Int64 = .max
    defer { finishPull(throughHead: snapshotHead) }
    do {
      let snapshot = try await backend.pullSnapshot(storeId: storeId, cursor: cursor)
      snapshotHead = snapshot.head
      var pageCount = 0
      for try await page in backend.pages(of: snapshot) {
        try Task.checkCancellation()
        let response = PullResponse(batch: page.items, context: .pull, requestId: requestId, remaining: page.remaining)
        // Waiting for every `pullPagesAhead`-th page to be written keeps memory flat (at most
        // about twice that many pages queued) while reading and encoding the next pages
        // overlaps with the socket.
        let text = SyncMessage.pullResponse(response).encoded()
        pageCount += 1
        if pageCount % Self.pullPagesAhead == 0 || page.remaining == 0 {
          await enqueueAndWait(text)
        } else {
          enqueue(text)
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
      for broadcast in state.held where broadcast.lastSeqNum > head || head == .max {
        enqueue(broadcast.text)
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
    guard let json = try? JSONParser.parse(text), let id = json["requestId"] else { return "" }
    if let id = id.stringValue { return id }
    return id["requestId"]?.stringValue ?? ""
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
