/// An event's position in an eventlog: LiveStore's `EventSequenceNumber`.
///
/// Synced events are `(g, 0)` and form the backend's total order; client-only events are
/// `(g, c)` with `c > 0`, hanging off the synced event `g`. Written `e5` and `e5+2`.
///
/// Storage format 6 (LiveStore 0.4) adds a rebase generation: which rebase of its client
/// last numbered the event (0 for events as pulled or first committed). It is shown as
/// `r<gen>` (`e5r1`, `e5+2r1`) when not 0, but it is not part of the position: LiveStore
/// itself finds, rolls back and confirms events by `(global, client)`, and one eventlog
/// never holds two events at the same pair. So equality, hashing and order ignore it.
public struct SeqNum: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var global: Int64
  public var client: Int64
  public var rebaseGeneration: Int64

  public init(global: Int64, client: Int64 = 0, rebaseGeneration: Int64 = 0) {
    self.global = global
    self.client = client
    self.rebaseGeneration = rebaseGeneration
  }

  public static func == (lhs: SeqNum, rhs: SeqNum) -> Bool { lhs.global == rhs.global && lhs.client == rhs.client }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(global)
    hasher.combine(client)
  }

  /// The position before the first event.
  public static let root = SeqNum(global: 0, client: 0)

  public var isClientOnly: Bool { client > 0 }

  /// The sequence number an event appended after `self` gets (LiveStore's `nextPair`): the
  /// given rebase generation, or by default `self`'s.
  public func next(clientOnly: Bool, rebaseGeneration generation: Int64? = nil) -> SeqNum {
    let generation = generation ?? rebaseGeneration
    return clientOnly ? SeqNum(global: global, client: client + 1, rebaseGeneration: generation)
      : SeqNum(global: global + 1, client: 0, rebaseGeneration: generation)
  }

  /// The parent of an event appended after `self`: client-only events chain directly,
  /// a synced event's parent is the last synced event.
  public func parentForNext(clientOnly: Bool) -> SeqNum {
    clientOnly ? self : SeqNum(global: global, client: 0, rebaseGeneration: rebaseGeneration)
  }

  public static func < (lhs: SeqNum, rhs: SeqNum) -> Bool {
    (lhs.global, lhs.client) < (rhs.global, rhs.client)
  }

  public var description: String {
    let position = client == 0 ? "e\(global)" : "e\(global)+\(client)"
    return rebaseGeneration == 0 ? position : position + "r\(rebaseGeneration)"
  }

  /// Parses `e5`, `e5+2`, or a bare `5`; also LiveStore's own notation, `e5.2`, and a
  /// rebase generation after either, `e5r1`, `e5+2r1`.
  public init?(_ text: String) {
    var body = Substring(text)
    if body.first == "e" || body.first == "E" { body = body.dropFirst() }
    var generation: Int64 = 0
    if let r = body.firstIndex(where: { $0 == "r" || $0 == "R" }) {
      guard let g = Int64(body[body.index(after: r)...]), g >= 0 else { return nil }
      generation = g
      body = body[..<r]
    }
    let parts = body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "+" || $0 == "." })
    guard parts.count == 1 || parts.count == 2, let global = Int64(parts[0]), global >= 0 else { return nil }
    var client: Int64 = 0
    if parts.count == 2 {
      guard let c = Int64(parts[1]), c >= 0 else { return nil }
      client = c
    }
    self.init(global: global, client: client, rebaseGeneration: generation)
  }
}

extension SeqNum {
  /// The one "is it pending" rule: an event is pending (not yet confirmed by the backend,
  /// so it keeps a session changeset and may still be rolled back, renumbered or dropped)
  /// when it comes after the backend head's synced event. A client-only event hanging off
  /// the backend head (`e5+1` with head e5) is pending too.
  public func isPending(backendHead: Int64) -> Bool { self > SeqNum(global: backendHead, client: 0) }

  /// The last position that is not pending: events after it are pending.
  public static func confirmedBoundary(backendHead: Int64) -> SeqNum { SeqNum(global: backendHead, client: 0) }
}

extension SeqNum {
  /// The greatest sequence number below this one: an exclusive lower bound that includes it.
  public var justBefore: SeqNum {
    if self == .root { return .root }
    return client > 0 ? SeqNum(global: global, client: client - 1) : global > 0 ? SeqNum(global: global - 1, client: .max) : .root
  }
}
