import LStoreSync

/// A hand-off between the socket reader and one pull's consumer.
///
/// Catch-up pages apply backpressure: the reader waits while `limit` pages are unread, so
/// pulling a million events into a slow consumer keeps memory flat (the socket stops being
/// read and TCP slows the server). Live pages never wait: the reader must stay free to see
/// push acks, or a caller that pushes without reading its live stream would deadlock.
final class PageChannel: Sendable {
  private struct State {
    var buffer: [WebSocketPullPage] = []
    var end: Result<Void, Error>?
    var consumer: CheckedContinuation<WebSocketPullPage?, Error>?
    var waitingProducer: CheckedContinuation<Void, Never>?
    var abandoned = false
  }

  private let state = Locked(State())
  private let limit: Int

  init(limit: Int = 16) { self.limit = limit }

  var isAbandoned: Bool { state.withLock { $0.abandoned || $0.end != nil } }

  func send(_ page: WebSocketPullPage, backpressure: Bool) async {
    let mustWait: Bool = state.withLock { state in
      guard !state.abandoned, state.end == nil else { return false }
      if let consumer = state.consumer {
        state.consumer = nil
        consumer.resume(returning: page)
        return false
      }
      state.buffer.append(page)
      return backpressure && state.buffer.count >= limit
    }
    guard mustWait else { return }
    await withCheckedContinuation { continuation in
      let resumeNow: Bool = state.withLock { state in
        if state.abandoned || state.buffer.count < limit { return true }
        state.waitingProducer = continuation
        return false
      }
      if resumeNow { continuation.resume() }
    }
  }

  func finish(_ end: Result<Void, Error> = .success(())) {
    state.withLock { state in
      guard state.end == nil else { return }
      state.end = end
      if let consumer = state.consumer, state.buffer.isEmpty {
        state.consumer = nil
        consumer.resume(with: end.map { nil })
      }
    }
  }

  /// The consumer went away: drop everything and never block the producer again.
  func abandon() {
    state.withLock { state in
      state.abandoned = true
      state.buffer.removeAll()
      state.waitingProducer?.resume()
      state.waitingProducer = nil
    }
  }

  func next() async throws -> WebSocketPullPage? {
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<WebSocketPullPage?, Error>) in
        state.withLock { state in
          if !state.buffer.isEmpty {
            let page = state.buffer.removeFirst()
            if state.buffer.count < limit, let producer = state.waitingProducer {
              state.waitingProducer = nil
              producer.resume()
            }
            continuation.resume(returning: page)
          } else if let end = state.end {
            continuation.resume(with: end.map { nil })
          } else if state.abandoned || Task.isCancelled {
            continuation.resume(throwing: CancellationError())
          } else {
            state.consumer = continuation
          }
        }
      }
    } onCancel: {
      state.withLock { state in
        state.consumer?.resume(throwing: CancellationError())
        state.consumer = nil
      }
    }
  }
}
