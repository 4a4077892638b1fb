import LStoreKit
import LStoreSync

/// What `WebSocketSyncClient.push(batches:)` achieved.
public struct PipelinedPushResult: Sendable {
  /// How many batches, from the first, were acknowledged (so are durable on the backend).
  public var acknowledged: Int
  /// The backend's `Error` text for the first batch it refused, if any. The batches after
  /// it were refused too or never sent.
  public var rejection: String?
  /// The sync metadata of the last batch's echo, when all were acknowledged and the echo
  /// came within `Options.echoTimeout`.
  public var metadata: JSONValue?
  /// Set when the backend refused the first unacknowledged batch as another backend's
  /// (0.4): its id and the one the client sent.
  public var backendIdMismatch: BackendIds? = nil

  public struct BackendIds: Sendable, Equatable {
    public var expected: String
    public var received: String
  }
}

extension PipelinedPushResult: Equatable {}

extension WebSocketPushResult {
  var isAcknowledged: Bool { if case .acknowledged = self { return true } else { return false } }
}

/// The bookkeeping of one `push(batches:)`: a window of unanswered requests and the
/// answers so far.
final class PushPipeline: Sendable {
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
