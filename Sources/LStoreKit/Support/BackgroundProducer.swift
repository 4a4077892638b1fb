import Foundation

/// Runs a producer on a thread of its own and hands what it makes to the calling thread in
/// batches, in order, through a small bounded queue.
///
/// Bulk work here is two halves of about the same cost: reading and checking input
/// (decompressing, parsing JSON, validating args) and writing SQLite, which one connection
/// does on one thread. Splitting them puts both cores to work, and the bound keeps memory
/// flat however many items there are. An error the producer throws reaches the consumer
/// after every item made before it, so the first problem in the input is the one reported,
/// exactly as when reading inline.
///
/// The items are freed on the producer's thread too: a batch the consumer has finished with
/// (it asked for the next one) goes back to the producer, which drops it at its next
/// hand-over. Memory a thread allocates is cheapest freed by that thread: freed by the
/// consumer, every free took the lock of the producer's malloc arena against the producer's
/// own allocations, and moved the objects' cache lines back across cores.
final class BackgroundProducer<Item>: @unchecked Sendable {
  /// What the producer hands its items to. `emit` throws once the consumer has cancelled,
  /// which ends the producer at its next item.
  struct Sink {
    fileprivate let owner: BackgroundProducer<Item>

    /// Adds `item` to the current batch; `bytes` is a rough size, so a few large items end a
    /// batch early and the queue's memory stays bounded by bytes as well as by count.
    func emit(_ item: Item, bytes: Int = 0) throws { try owner.add(item, bytes: bytes) }

    /// Hands over the current batch now (an item the consumer needs before more are made).
    func flush() throws { try owner.handOver() }
  }

  private let produce: (Sink) throws -> Void
  private let batchSize: Int
  private let batchBytes: Int
  private let maxQueued: Int

  private let condition = NSCondition()
  private var queue: [[Item]] = []
  private var ended = false
  private var failure: (any Error)?
  private var cancelled = false
  /// The batch the consumer has now, and the ones it has finished with, for the producer to drop.
  private var handedOut: [Item]?
  private var finished: [[Item]] = []

  /// Owned by the producer's thread.
  private var batch: [Item] = []
  private var batchWeight = 0

  init(batchSize: Int = 512, batchBytes: Int = 1 << 20, maxQueued: Int = 4,
       produce: @escaping (Sink) throws -> Void) {
    self.batchSize = batchSize
    self.batchBytes = batchBytes
    self.maxQueued = maxQueued
    self.produce = produce
  }

  func start() {
    let thread = Thread { [self] in self.run() }
    // JSON nesting is parsed recursively: give the thread a main-thread-sized stack.
    thread.stackSize = 8 << 20
    thread.start()
  }

  /// The next batch, in order; nil once the producer has returned and every batch was taken
  /// (or after `cancel()`). Throws the producer's error after the batches made before it.
  func next() throws -> [Item]? {
    condition.lock()
    defer { condition.unlock() }
    if let done = handedOut {
      handedOut = nil
      if !ended { finished.append(done) }
    }
    while queue.isEmpty && !ended && !cancelled { condition.wait() }
    if !queue.isEmpty {
      let next = queue.removeFirst()
      if !ended { handedOut = next }
      condition.signal()
      return next
    }
    if let failure { throw failure }
    return nil
  }

  /// Stops the producer at its next hand-over (the consumer failed or has what it needs).
  /// Does not wait for it: a producer blocked reading a pipe must not hold the consumer up,
  /// and what it uses stays alive for as long as it runs.
  func cancel() {
    condition.lock()
    cancelled = true
    queue.removeAll()
    handedOut = nil
    finished.removeAll()
    condition.broadcast()
    condition.unlock()
  }

  private struct Cancelled: Error {}

  private func run() {
    batch.reserveCapacity(batchSize)
    var thrown: (any Error)? = nil
    do {
      try produce(Sink(owner: self))
      try handOver()
    } catch is Cancelled {
      return
    } catch {
      thrown = error
      try? handOver()
    }
    condition.lock()
    failure = thrown
    ended = true
    var done: [[Item]] = []
    swap(&done, &finished)
    condition.broadcast()
    condition.unlock()
    done.removeAll()
  }

  private func add(_ item: Item, bytes: Int) throws {
    batch.append(item)
    batchWeight += bytes
    if batch.count >= batchSize || batchWeight >= batchBytes { try handOver() }
  }

  private func handOver() throws {
    guard !batch.isEmpty else { return }
    var done: [[Item]] = []
    do {
      condition.lock()
      defer { condition.unlock() }
      while queue.count >= maxQueued && !cancelled { condition.wait() }
      if cancelled { throw Cancelled() }
      queue.append(batch)
      condition.signal()
      swap(&done, &finished)
    }
    // Dropped here, outside the lock: the consumer's finished batches are freed on this thread.
    done.removeAll()
    batch = []
    batch.reserveCapacity(batchSize)
    batchWeight = 0
  }
}
