/// Store ids lstore derives from an app's store id for its own records, so that they travel
/// over the same sync protocol without ever reaching the app: a LiveStore app connected to
/// its store id receives every event on it and fails on names its schema does not define.
///
/// A derived id is `lstore` + a kind + 24 lowercase hex digits of a 96-bit hash of what it
/// names. Only `[a-z0-9]`: it stays the same, and distinct, after LiveStore's Cloudflare
/// mapping (every other character becomes `_`) and after SQLite's case folding; it is a
/// valid store id for every backend (34–36 characters); and an app's own store id is
/// unlikely to look like one.
public enum CompanionStores {
  /// The store holding lstore's records for `storeId`: commit records (`lstore.Commit`).
  public static func records(of storeId: String) -> String { "lstorerec" + hash96(storeId) }

  /// The store holding branch `name`'s events (its whole history) for `storeId`.
  public static func branch(of storeId: String, named name: String) -> String {
    // A NUL cannot appear in a store id or a branch name: the pair is unambiguous.
    branchStorePrefix + hash96(storeId + "\u{0}" + name)
  }

  /// How every branch store's id starts.
  public static let branchStorePrefix = "lstorebrn"

  /// The store listing the published branches of `storeId` (`lstore.Branch` events).
  public static func branches(of storeId: String) -> String { "lstorebrs" + hash96(storeId) }

  static func hash96(_ text: String) -> String {
    // Two FNV-1a passes with different offset bases (64 + 32 bits): not cryptographic, but
    // accidental collisions need ~2^48 store ids.
    var a: UInt64 = 0xcbf2_9ce4_8422_2325
    var b: UInt64 = 0x8422_2325_cbf2_9ce4
    for byte in text.utf8 {
      a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
      b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
      b = b ^ (b >> 29)
    }
    func hex(_ value: UInt64, digits: Int) -> String {
      let text = String(value, radix: 16)
      return String(repeating: "0", count: max(0, digits - text.count)) + text.suffix(digits)
    }
    return hex(a, digits: 16) + hex(b >> 32, digits: 8)
  }
}

/// Commit records exchanged over a companion store: after a push, the commits whose events
/// the backend now holds are published as `lstore.Commit` events (with the backend's event
/// numbers, which are final once acknowledged); a pull brings them back, so another clone
/// sees the same commits, messages and authors.
public enum CommitRecordSync {
  public static let eventName = "lstore.Commit"
  static let headKey = "records.head"
  static let publishedKey = "records.published"

  public struct Result: Sendable, Equatable {
    public var published = 0
    public var received = 0
  }

  /// Pulls the records store (integrating other clones' commit records), then publishes
  /// this branch's confirmed commits that are not published yet.
  public static func exchange(_ replica: Replica, storeId: String, transport: SyncTransport,
                              identity: Replica.Identity) async throws -> Result {
    var result = Result()
    result.received = try await receive(replica, storeId: storeId, transport: transport)
    let eventlog = replica.eventlog
    let published = try eventlog.meta(publishedKey).flatMap(SeqNum.init) ?? .root
    let records = try eventlog.commitsOverSyncedEvents(after: published)
    guard !records.isEmpty else { return result }
    var head = Int64(try eventlog.meta(headKey).flatMap { Int64($0) } ?? 0)
    for chunk in stride(from: 0, to: records.count, by: transport.maxBatchSize).map({ Array(records[$0..<min($0 + transport.maxBatchSize, records.count)]) }) {
      let batch = try chunk.enumerated().map { offset, commit in
        RemoteEvent(seqNum: head + 1 + Int64(offset), parentSeqNum: head + Int64(offset), name: eventName,
                    args: ["store": .string(storeId), "id": .string(commit.id), "message": .string(commit.message),
                           "authorName": .string(commit.author.name), "authorEmail": .string(commit.author.email),
                           "time": .string(commit.time), "first": .string(commit.first.description),
                           "last": .string(commit.last.description),
                           "firstKey": .string(try eventKey(at: commit.first, in: eventlog)),
                           "lastKey": .string(try eventKey(at: commit.last, in: eventlog))],
                    clientId: identity.clientId, sessionId: identity.sessionId)
      }
      switch try await transport.push(batch) {
      case .accepted:
        head += Int64(batch.count)
        try replica.connection.transaction {
          try eventlog.setMeta(headKey, String(head))
          try eventlog.setMeta(publishedKey, chunk.last!.last.description)
        }
        result.published += batch.count
      case .rejected:
        // Another clone published meanwhile: its records come with the next exchange, and
        // ours are published then.
        return result
      }
    }
    return result
  }

  /// The identity of the event at `seqNum` as a record names it: a hash of what LiveStore
  /// compares events by (name, args text, client, session), the same in every clone.
  static func eventKey(at seqNum: SeqNum, in eventlog: Eventlog) throws -> String {
    guard let event = try eventlog.event(at: seqNum) else { return "" }
    return CompanionStores.hash96([event.name, event.argsJSON, event.clientId, event.sessionId].joined(separator: "\u{0}"))
  }

  /// Integrates the records store's new events: each commit record of this store whose
  /// events this branch has (confirmed; the same events, when the record names their keys),
  /// whose id is not a commit here yet, and that no local commit overlaps, becomes a local
  /// commit record.
  static func receive(_ replica: Replica, storeId: String, transport: SyncTransport) async throws -> Int {
    let eventlog = replica.eventlog
    let cursor = Int64(try eventlog.meta(headKey).flatMap { Int64($0) } ?? 0)
    var received = 0
    try await transport.pull(after: cursor) { page in
      guard let last = page.events.last else { return }
      try replica.connection.transaction {
        let confirmed = SeqNum.confirmedBoundary(backendHead: try eventlog.backendHead())
        for event in page.events where event.name == eventName && event.args?["store"]?.stringValue == storeId {
          guard let args = event.args, let id = args["id"]?.stringValue,
                let first = args["first"]?.stringValue.flatMap(SeqNum.init),
                let last = args["last"]?.stringValue.flatMap(SeqNum.init), first <= last, last <= confirmed,
                try eventlog.event(at: first) != nil, try eventlog.event(at: last) != nil
          else { continue }
          // A record names the first and last event's identity (records from before this
          // have no keys): a backend whose records store outlived its events (deleted, then
          // refilled by other clients) must not give these events another commit's message.
          if let key = args["firstKey"]?.stringValue, try key != eventKey(at: first, in: eventlog) { continue }
          if let key = args["lastKey"]?.stringValue, try key != eventKey(at: last, in: eventlog) { continue }
          guard try !eventlog.hasCommit(overlapping: first, through: last) else { continue }
          // A record of a commit this store has elsewhere (its events were renumbered, as after
          // `pull --adopt-backend` onto a backend whose records store kept older records) is
          // not about these events.
          guard try !eventlog.commitExists(id: id) else { continue }
          // The record's texts go to SQLite TEXT columns: a lone surrogate becomes U+FFFD
          // there (the event itself keeps it exactly).
          try eventlog.insert(Commit(id: id, first: first, last: last, message: args["message"]?.repairedStringValue ?? "",
                                     author: Author(name: args["authorName"]?.repairedStringValue ?? "",
                                                    email: args["authorEmail"]?.repairedStringValue ?? ""),
                                     time: args["time"]?.repairedStringValue ?? ""))
          received += 1
          // A record someone else published is not ours to publish again.
          let published = try eventlog.meta(publishedKey).flatMap(SeqNum.init) ?? .root
          if last > published { try eventlog.setMeta(publishedKey, last.description) }
        }
        try eventlog.setMeta(headKey, String(last.seqNum))
      }
    }
    return received
  }
}

extension Eventlog {
  /// The commits after `after` whose synced events are all at or below `head` (by default
  /// the backend head: all confirmed), each over its synced events only (`first`/`last`
  /// trimmed of client-only events at either end, which no other store holds): what other
  /// stores can be told of, in the backend's numbers. Commits of client-only events alone
  /// are left out.
  func commitsOverSyncedEvents(after: SeqNum, through head: Int64? = nil) throws -> [Commit] {
    let head = try head ?? backendHead()
    var commits: [Commit] = []
    try forEachCommit(after: after, through: SeqNum(global: head, client: .max)) { commit in
      if commit.first > after, commit.last.global <= head { commits.append(commit) }
      return true
    }
    return try commits.compactMap { commit in
      guard let bounds = try syncedBounds(from: commit.first, through: commit.last) else { return nil }
      var trimmed = commit
      (trimmed.first, trimmed.last) = bounds
      return trimmed
    }
  }
}
