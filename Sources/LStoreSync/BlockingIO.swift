import Dispatch

/// Runs blocking work (SQLite, fsync) on Dispatch threads so it never stalls Swift's
/// cooperative pool, which on a 2-core machine has only two threads.
enum BlockingIO {
  static let writes = DispatchQueue(label: "lstore.sync.storage.writes")
  static let reads = DispatchQueue(label: "lstore.sync.storage.reads", attributes: .concurrent)

  static func run<T: Sendable>(on queue: DispatchQueue, _ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      queue.async {
        continuation.resume(with: Result { try work() })
      }
    }
  }
}
