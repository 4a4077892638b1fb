/// What one connection may make the server hold in memory. A client controls how much it
/// asks for and how fast it reads; these bound both.
public struct ConnectionLimits: Sendable, Equatable {
  /// Pushes of one connection queued in the backend, unanswered. At this many the
  /// connection stops reading until one is answered.
  public var maxPushesInFlight: Int
  /// Pulls of one connection being served at once. At this many the connection stops
  /// reading until one ends.
  public var maxPullsInFlight: Int
  /// Bytes queued for the client but not yet written to its socket above which the
  /// connection stops reading requests and pulls pause (back-pressure).
  public var outboundPauseBytes: Int
  /// Bytes queued for the client (replies, pages, broadcasts, and broadcasts held during a
  /// pull) above which the client is taken as not reading: the connection is closed.
  public var outboundCloseBytes: Int

  public init(maxPushesInFlight: Int = 256, maxPullsInFlight: Int = 4,
              outboundPauseBytes: Int = 8 << 20, outboundCloseBytes: Int = 64 << 20) {
    self.maxPushesInFlight = maxPushesInFlight
    self.maxPullsInFlight = maxPullsInFlight
    self.outboundPauseBytes = outboundPauseBytes
    self.outboundCloseBytes = outboundCloseBytes
  }

  public static let standard = ConnectionLimits()
}

/// A count of requests in flight with a limit: `reserve()` waits while the limit is reached.
final class InFlightWindow: Sendable {
  private struct State {
    var inFlight = 0
    var waiter: CheckedContinuation<Void, Never>?
  }
  private let limit: Int
  private let state = Locked(State())

  init(limit: Int) { self.limit = max(1, limit) }

  /// Takes a slot, waiting while all are taken. One caller waits at a time (the reader).
  func reserve() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      let now: Bool = state.withLock { state in
        state.inFlight += 1
        if state.inFlight <= limit { return true }
        state.waiter = continuation
        return false
      }
      if now { continuation.resume() }
    }
  }

  func release() {
    let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
      state.inFlight -= 1
      guard state.inFlight <= limit, let waiter = state.waiter else { return nil }
      state.waiter = nil
      return waiter
    }
    waiter?.resume()
  }
}

/// The messages queued for one client, in order, with the bytes they hold: above
/// `outboundPauseBytes` readers of the connection wait (`waitForRoom`), above
/// `outboundCloseBytes` the connection is closed through `onOverflow`.
final class OutboundQueue: Sendable {
  struct Item: Sendable {
    var text: String
    /// Resumed once the text is written (or the connection is gone).
    var written: CheckedContinuation<Void, Never>?
  }

  private struct State {
    var bytes = 0
    var closed = false
    var waiters: [CheckedContinuation<Void, Never>] = []
  }

  let limits: ConnectionLimits
  let items: AsyncStream<Item>
  private let continuation: AsyncStream<Item>.Continuation
  private let state = Locked(State())
  private let onOverflow: Locked<(@Sendable (Int) -> Void)?>

  init(limits: ConnectionLimits) {
    self.limits = limits
    (items, continuation) = AsyncStream<Item>.makeStream()
    onOverflow = Locked(nil)
  }

  func setOverflowHandler(_ handler: @escaping @Sendable (Int) -> Void) { onOverflow.withLock { $0 = handler } }

  var isClosed: Bool { state.withLock { $0.closed } }
  var queuedBytes: Int { state.withLock { $0.bytes } }

  /// Counts bytes held on the connection's behalf that are not in the queue yet (broadcasts
  /// held during a pull); `uncount` when they are dropped, `push(_:counted: true)` when queued.
  func count(_ bytes: Int) { add(bytes) }
  func uncount(_ bytes: Int) { remove(bytes) }

  func push(_ text: String, counted: Bool = false) {
    if !counted { add(text.utf8.count) }
    continuation.yield(Item(text: text, written: nil))
  }

  /// Queues `text` and waits until it is written (or the connection is gone).
  func pushAndWait(_ text: String) async {
    add(text.utf8.count)
    await withCheckedContinuation { written in
      if case .terminated = continuation.yield(Item(text: text, written: written)) { written.resume() }
    }
  }

  /// Called by the writer once an item is written or dropped.
  func wrote(_ item: Item) {
    remove(item.text.utf8.count)
    item.written?.resume()
  }

  /// Waits while more than `outboundPauseBytes` are queued; returns at once once closed.
  func waitForRoom() async {
    await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
      let now: Bool = state.withLock { state in
        if state.closed || state.bytes <= limits.outboundPauseBytes { return true }
        state.waiters.append(waiter)
        return false
      }
      if now { waiter.resume() }
    }
  }

  /// No more waiting: wakes every waiter. Items still queued are written or dropped by the writer.
  func close() {
    let waiters: [CheckedContinuation<Void, Never>] = state.withLock { state in
      state.closed = true
      defer { state.waiters = [] }
      return state.waiters
    }
    for waiter in waiters { waiter.resume() }
  }

  func finish() { continuation.finish() }

  private func add(_ bytes: Int) {
    let overflow: Int? = state.withLock { state in
      state.bytes += bytes
      guard state.bytes > limits.outboundCloseBytes, !state.closed else { return nil }
      return state.bytes
    }
    guard let overflow else { return }
    close()
    onOverflow.withLock { $0 }?(overflow)
  }

  private func remove(_ bytes: Int) {
    let waiters: [CheckedContinuation<Void, Never>] = state.withLock { state in
      state.bytes -= bytes
      guard state.bytes <= limits.outboundPauseBytes else { return [] }
      defer { state.waiters = [] }
      return state.waiters
    }
    for waiter in waiters { waiter.resume() }
  }
}
