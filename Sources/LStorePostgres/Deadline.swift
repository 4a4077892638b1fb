import Foundation

/// Runs `work` and answers within `limit` whatever it does: a query postgres-nio has sent
/// is not interruptible (cancelling the task that awaits it waits for its answer), so a
/// task group's timer alone would still wait as long as the database does. Here the work
/// runs detached, and whichever of it and the timer finishes first answers; on timeout the
/// work is cancelled and left to end on its own.
func answered<T: Sendable>(within limit: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
  let once = ResumeOnce<T>()
  return try await withCheckedThrowingContinuation { continuation in
    once.set(continuation)
    let worker = Task.detached {
      do { once.resume(.success(try await work())) } catch { once.resume(.failure(error)) }
    }
    Task.detached {
      try? await Task.sleep(for: limit)
      if once.resume(.failure(PostgresUnavailable.timedOut)) { worker.cancel() }
    }
  }
}

/// A continuation resumed by the first of several racers.
private final class ResumeOnce<T: Sendable>: @unchecked Sendable {
  private let lock = NSLock()
  private var continuation: CheckedContinuation<T, Error>?
  private var finished = false
  /// The first result, when it came before the continuation was set.
  private var early: Result<T, Error>?

  func set(_ continuation: CheckedContinuation<T, Error>) {
    let result: Result<T, Error>? = lock.withLock {
      if let early { return early }
      self.continuation = continuation
      return nil
    }
    if let result { continuation.resume(with: result) }
  }

  /// Resumes with `result` unless another racer did; says whether this one won.
  @discardableResult
  func resume(_ result: Result<T, Error>) -> Bool {
    let (won, continuation): (Bool, CheckedContinuation<T, Error>?) = lock.withLock {
      guard !finished else { return (false, nil) }
      finished = true
      guard let continuation = self.continuation else {
        early = result
        return (true, nil)
      }
      self.continuation = nil
      return (true, continuation)
    }
    continuation?.resume(with: result)
    return won
  }
}
