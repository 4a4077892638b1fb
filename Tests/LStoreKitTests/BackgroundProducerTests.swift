import Foundation
import XCTest
@testable import LStoreKit

/// `BackgroundProducer`: items made on another thread arrive in order, in bounded batches,
/// with the producer's error after the items before it, and a cancel stops the producer.
final class BackgroundProducerTests: XCTestCase {
  private struct Broke: Error, Equatable { var at: Int }

  private func drain(_ producer: BackgroundProducer<Int>) -> (items: [Int], batches: [Int], error: (any Error)?) {
    var items: [Int] = []
    var batches: [Int] = []
    do {
      while let batch = try producer.next() {
        items += batch
        batches.append(batch.count)
      }
      return (items, batches, nil)
    } catch {
      return (items, batches, error)
    }
  }

  func testItemsArriveInOrderInBoundedBatches() {
    let producer = BackgroundProducer<Int>(batchSize: 7, maxQueued: 2) { sink in
      for i in 0..<1_000 { try sink.emit(i) }
    }
    producer.start()
    let (items, batches, error) = drain(producer)
    XCTAssertNil(error)
    XCTAssertEqual(items, Array(0..<1_000))
    XCTAssertTrue(batches.allSatisfy { $0 <= 7 }, "\(batches)")
  }

  func testLargeItemsEndABatchEarly() {
    let producer = BackgroundProducer<Int>(batchSize: 100, batchBytes: 1_000) { sink in
      for i in 0..<50 { try sink.emit(i, bytes: 400) }
    }
    producer.start()
    let (items, batches, _) = drain(producer)
    XCTAssertEqual(items, Array(0..<50))
    XCTAssertTrue(batches.allSatisfy { $0 <= 3 }, "three items of 400 bytes reach the 1,000-byte bound: \(batches)")
  }

  func testTheErrorComesAfterTheItemsBeforeIt() {
    let producer = BackgroundProducer<Int>(batchSize: 16) { sink in
      for i in 0..<100 {
        if i == 37 { throw Broke(at: i) }
        try sink.emit(i)
      }
    }
    producer.start()
    let (items, _, error) = drain(producer)
    XCTAssertEqual(items, Array(0..<37))
    XCTAssertEqual(error as? Broke, Broke(at: 37))
  }

  /// Records the thread its last reference was dropped on.
  private final class FreedOn: @unchecked Sendable {
    private let lock = NSLock()
    private var mainThread = 0
    private var total = 0
    func add(main: Bool) { lock.withLock { total += 1; if main { mainThread += 1 } } }
    var counts: (main: Int, total: Int) { lock.withLock { (mainThread, total) } }
  }
  private final class Tracked: @unchecked Sendable {
    let freedOn: FreedOn
    init(_ freedOn: FreedOn) { self.freedOn = freedOn }
    deinit { freedOn.add(main: Thread.isMainThread) }
  }

  func testBatchesTheConsumerFinishedAreFreedOnTheProducersThread() throws {
    XCTAssertTrue(Thread.isMainThread)
    let freedOn = FreedOn()
    let producer = BackgroundProducer<Tracked>(batchSize: 10, maxQueued: 1) { sink in
      for _ in 0..<200 { try sink.emit(Tracked(freedOn)) }
    }
    producer.start()
    var seen = 0
    while let batch = try producer.next() { seen += batch.count }
    XCTAssertEqual(seen, 200)
    // Batches still queued or handed out when the producer ended may be freed here; the
    // ones finished while it ran were dropped by it.
    let (onMain, total) = freedOn.counts
    XCTAssertLessThanOrEqual(onMain, 30, "items freed on the consumer's thread: \(onMain) of \(total)")
  }

  func testCancelStopsTheProducerAtItsNextItem() {
    let stopped = expectation(description: "the producer's emit threw")
    let producer = BackgroundProducer<Int>(batchSize: 4, maxQueued: 1) { sink in
      do {
        for i in 0... { try sink.emit(i) }
      } catch {
        stopped.fulfill()
        throw error
      }
    }
    producer.start()
    XCTAssertEqual(try producer.next(), [0, 1, 2, 3])
    producer.cancel()
    wait(for: [stopped], timeout: 10)
    XCTAssertNil(try producer.next(), "nothing after a cancel")
  }
}
