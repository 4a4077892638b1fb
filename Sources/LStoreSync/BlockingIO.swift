import Dispatch

/// Runs blocking work (SQLite, fsync) on Dispatch threads so it never stalls Swift's
/// cooperative pool, which on a 2-core machine has only two threads.
enum BlockingIO {
  static let writes = DispatchQueue(label: "lstore.sync.storage.writes")
  static let reads = DispatchQueue(label: "lstore.sync.storage.reads", attributes: .concurrent)

  /// Where `storage`'s reads run: side by side on Dispatch's pool for a local storage, whose
  /// reads keep a thread busy; on a queue of their own for a shared one (PostgreSQL), whose
  /// calls park their thread until the database answers or the timeout passes. A serial
  /// queue gets a thread from Dispatch's overcommitting pool at once, where work on a
  /// concurrent queue whose threads are all parked waits for the pool to grow, about one
  /// thread a second: during a database outage every new connection would queue behind that.
  static func readQueue(for storage: any SyncBackendStorage) -> DispatchQueue {
    storage.isShared ? queueOfItsOwn() : reads
  }

  /// Where `storage`'s writes run: one at a time for a storage this process alone writes
  /// (one SQLite writer connection); side by side for a shared one, whose own transactions
  /// and row locks order them (the backend still sends one write at a time per store).
  static func writeQueue(for storage: any SyncBackendStorage) -> DispatchQueue {
    storage.isShared ? queueOfItsOwn() : writes
  }

  /// A serial queue for one call to a shared storage (see `readQueue(for:)`).
  private static func queueOfItsOwn() -> DispatchQueue { DispatchQueue(label: "lstore.sync.storage.shared") }

  static func run<T: Sendable>(on queue: DispatchQueue, _ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      queue.async {
        continuation.resume(with: Result { try work() })
      }
    }
  }
}
