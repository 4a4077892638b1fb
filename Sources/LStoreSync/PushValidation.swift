/// Why the backend refused a push, with the text sent back to the client.
public struct PushRejection: Error, Equatable, Sendable, CustomStringConvertible {
  public enum Kind: Equatable, Sendable {
    /// The batch itself is wrong (empty, too long, gaps, bad numbering): the client has a bug.
    case malformed
    /// The batch is well-formed but does not start at the backend's head: pull, rebase, retry.
    case notAtHead(head: Int64)
  }

  public let kind: Kind
  public let message: String
  /// For `notAtHead`: the parent the batch's first event named (LiveStore 0.4's
  /// `ServerAheadError.providedNum`).
  public let providedParent: Int64?

  public init(_ kind: Kind, _ message: String, providedParent: Int64? = nil) {
    self.kind = kind
    self.message = message
    self.providedParent = providedParent
  }

  public var description: String { message }
}

import LStoreKit

/// The push rules. LiveStore's Cloudflare backend only checks the first event's parent;
/// lstore checks the whole batch so a buggy client can never leave a gap or a fork in
/// the backend's order.
public enum PushValidation {
  /// LiveStore's push contract: 1 to 100 events per batch.
  public static let maxBatchSize = 100

  /// The most bytes of one event (`EventLimits.maxEventBytes`): a pull page (900,000 bytes)
  /// always has room for it.
  public static let maxEventBytes = EventLimits.maxEventBytes

  /// Checks the batch on its own (no head needed): size, numbering, chaining, and each
  /// event within `EventLimits` (so it can be pulled again).
  public static func checkShape(_ batch: [WireEvent]) throws(PushRejection) {
    guard !batch.isEmpty, batch.count <= maxBatchSize else {
      throw PushRejection(.malformed, "Invalid push batch: expected 1 to \(maxBatchSize) events, got \(batch.count)")
    }
    var scratch = JSONWriter(reservingCapacity: 1024)
    for (index, event) in batch.enumerated() {
      // No schema defines an event without a name: every client that pulled it would fail on it.
      if event.name.isEmpty {
        throw PushRejection(.malformed, "Invalid push batch: event \(index) has an empty name")
      }
      if let args = event.args, let violation = EventLimits.violation(args: args) {
        throw PushRejection(.malformed, "Invalid push batch: event \(index): \(violation)")
      }
      scratch.removeAll()
      event.write(into: &scratch)
      if scratch.bytes.count > maxEventBytes {
        throw PushRejection(.malformed, "Invalid push batch: event \(index) is \(scratch.bytes.count) bytes, the limit is \(maxEventBytes)")
      }
      if index > 0, event.parentSeqNum != batch[index - 1].seqNum {
        throw PushRejection(.malformed, "Invalid push batch: event \(index) has parent e\(event.parentSeqNum) but the previous event is e\(batch[index - 1].seqNum)")
      }
      if event.seqNum != event.parentSeqNum + 1 {
        throw PushRejection(.malformed, "Invalid push batch: event \(index) is e\(event.seqNum) but its parent e\(event.parentSeqNum) requires e\(event.parentSeqNum + 1)")
      }
    }
  }

  /// The most bytes of one push a client sends (LiveStore 0.4's `MAX_WS_MESSAGE_BYTES`,
  /// under Cloudflare's 1 MiB WebSocket message): lstore's own server takes 16 MiB, but 100
  /// events of up to `maxEventBytes` each would be 80 MB, refused by every backend.
  public static let maxPushBytes = 900_000

  /// `events` split for sending, in order: at most `maxBatchSize` events and about
  /// `maxPushBytes` of request each (`envelopeBytes` for what surrounds the batch). An event
  /// larger than that on its own goes alone (the backend says whether it takes it).
  public static func batchesToSend(_ events: [WireEvent], envelopeBytes: Int) -> [[WireEvent]] {
    var batches: [[WireEvent]] = []
    var current: [WireEvent] = []
    var bytes = envelopeBytes
    var writer = JSONWriter()
    for event in events {
      writer.removeAll()
      event.write(into: &writer)
      let size = writer.bytes.count + 1
      if !current.isEmpty && (current.count == maxBatchSize || bytes + size > maxPushBytes) {
        batches.append(current)
        current = []
        bytes = envelopeBytes
      }
      current.append(event)
      bytes += size
    }
    if !current.isEmpty { batches.append(current) }
    return batches
  }

  /// Checks that the batch continues the backend's head, with LiveStore's exact text.
  public static func checkParent(_ batch: [WireEvent], head: Int64) throws(PushRejection) {
    guard let first = batch.first, first.parentSeqNum == head else {
      let parent = batch.first?.parentSeqNum ?? -1
      throw PushRejection(.notAtHead(head: head), "Invalid parent event number. Received e\(parent) but expected e\(head)",
                          providedParent: batch.first?.parentSeqNum)
    }
  }
}
