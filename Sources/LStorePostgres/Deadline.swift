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

/// A continuation resumed by the first of several racers (set before any of them starts).
private final class ResumeOnce<T: Sendable>: @unchecked Sendable {
  private let lock = NSLock()
  private var continuation: CheckedContinuation<T, Error>?

  func set(_ continuation: CheckedContinuation<T, Error>) { lock.withLock { self.continuation = continuation } }

  /// Resumes with `result` unless another racer did; says whether this one won.
  @discardableResult
  func resume(_ result: Result<T, Error>) -> Bool {
    let continuation: CheckedContinuation<T, Error>? = lock.withLock {
      defer { self.continuation = nil }
      return self.continuation
    }
    continuation?.resume(with: result)
    return continuation != nil
  }
}
