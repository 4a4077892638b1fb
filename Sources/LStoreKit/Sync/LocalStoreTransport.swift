import Foundation

/// Another store on disk used as a backend, for offline transfer (`lstore pull ../other`).
/// Its synced events (client part 0) are the backend's total order; a push appends to it
/// and materializes there, as if that store had committed the events.
public final class LocalStoreTransport: SyncTransport {
  private let store: Store
  private let replica: Replica
  public let description: String
  public let maxBatchSize = 10_000

  /// Opens the store at exactly `path` (its `.lstore`, or that directory itself), never one
  /// found by searching upward: a remote must not silently become some other store.
  /// `localEventlog` is the pulling or pushing store's own eventlog, refused as a remote.
  public init(path: String, now: String, localEventlog: String? = nil) throws {
    let directory = path.hasSuffix(StoreLocator.directoryName) ? path : (path as NSString).appendingPathComponent(StoreLocator.directoryName)
    guard FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("config.json")) else {
      throw TransportError(.unavailable, "no store at \(path) (expected \(directory))")
    }
    store = try Store(directory: directory)
    if let localEventlog, FileIdentity.same(store.eventlogPath, localEventlog) {
      throw TransportError(.unavailable, "\(path) is this store itself; a remote must be another store")
    }
    replica = try store.openReplica(schema: try store.loadSchema(), now: now)
    description = "store '\(store.config.storeId)' at \(store.workDirectory)"
  }

  /// The newest synced event of the other store.
  private func syncedHead() throws -> Int64 {
    try replica.connection.cached("SELECT max(seqNumGlobal) FROM log.eventlog WHERE seqNumClient = 0").first { $0.int64(0) } ?? 0
  }

  public func backendHead() async throws -> Int64? { try syncedHead() }

  public func pull(after cursor: Int64, onPage: (PullPage) throws -> Void) async throws {
    let head = try syncedHead()
    guard head >= cursor else { throw SyncError.remoteBehind(local: cursor, remote: head) }
    var after = cursor
    let pageSize = 1000
    repeat {
      var events: [RemoteEvent] = []
      try replica.eventlog.forEach(after: SeqNum(global: after, client: .max)) { row in
        if row.seqNum.isClientOnly { return true }
        let metadata = try JSONParser.parse(row.syncMetadataJSON)
        events.append(RemoteEvent(seqNum: row.seqNum.global, parentSeqNum: row.parentSeqNum.global, name: row.name,
                                  args: try JSONParser.parse(row.argsUTF8), clientId: row.clientId,
                                  sessionId: row.sessionId, metadata: metadata["_tag"] == "Some" ? metadata["value"] : nil))
        return events.count < pageSize
      }
      after = events.last?.seqNum ?? head
      try onPage(PullPage(events: events, remaining: Int(max(0, head - after))))
    } while after < head
  }

  public func push(_ batch: [RemoteEvent]) async throws -> PushOutcome {
    guard let first = batch.first else { return .accepted(metadata: nil) }
    return try replica.connection.transaction(.immediate) {
      let head = try syncedHead()
      guard first.parentSeqNum == head else {
        return .rejected(reason: "its head is e\(head), the batch continues from e\(first.parentSeqNum)", backendHead: head)
      }
      var current = try replica.eventlog.head()
      let stateHead = try replica.stateHead()
      guard stateHead == current else { throw StoreError.stateBehind(state: stateHead, eventlog: current) }
      // The whole batch is checked before anything is applied, so a refusal changes nothing.
      for (offset, event) in batch.enumerated() {
        let expected = head + 1 + Int64(offset)
        guard event.seqNum == expected, event.parentSeqNum == expected - 1 else {
          return .rejected(reason: "the batch is not contiguous at e\(event.seqNum)", backendHead: head)
        }
        guard let definition = replica.schema.event(named: event.name), !definition.clientOnly else {
          throw TransportError(.protocolViolation, "\(description) cannot take e\(event.seqNum) '\(event.name)': its schema does not define it as a synced event")
        }
      }
      for event in batch {
        let definition = replica.schema.event(named: event.name)!
        let args = try definition.args.normalize(event.args.flatMap { $0.isNull ? nil : $0 } ?? .object(JSONObject()))
        let record = EventRecord(seqNum: SeqNum(global: event.seqNum), parentSeqNum: SeqNum(global: event.parentSeqNum),
                                 name: event.name, argsJSON: event.argsJSON, clientId: event.clientId,
                                 sessionId: event.sessionId, schemaHash: definition.schemaHash)
        try replica.apply(record, definition: definition, args: args, pending: true)
        current = record.seqNum
      }
      try StateDatabase.writeHead(replica.connection, head: current)
      return .accepted(metadata: nil)
    }
  }

  public func close() async {}
}
