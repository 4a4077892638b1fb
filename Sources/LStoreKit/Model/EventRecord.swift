/// One row of a LiveStore eventlog, as stored.
public struct EventRecord: Equatable, Sendable {
  public var seqNum: SeqNum
  public var parentSeqNum: SeqNum
  public var name: String
  /// The encoded args as compact JSON (`JSON.stringify` output).
  public var argsJSON: String
  public var clientId: String
  public var sessionId: String
  public var schemaHash: Int64
  /// Effect's `Option` encoding: `{"_tag":"None"}` or `{"_tag":"Some","value":…}`.
  public var syncMetadataJSON: String

  public static let noSyncMetadata = #"{"_tag":"None"}"#

  public init(seqNum: SeqNum, parentSeqNum: SeqNum, name: String, argsJSON: String, clientId: String,
              sessionId: String, schemaHash: Int64, syncMetadataJSON: String = EventRecord.noSyncMetadata)
  {
    self.seqNum = seqNum
    self.parentSeqNum = parentSeqNum
    self.name = name
    self.argsJSON = argsJSON
    self.clientId = clientId
    self.sessionId = sessionId
    self.schemaHash = schemaHash
    self.syncMetadataJSON = syncMetadataJSON
  }

  public var isConfirmed: Bool { syncMetadataJSON != EventRecord.noSyncMetadata }
}

/// What a user asks to append: a name and its args. Numbering, ids and hashes are added
/// when it is committed.
public struct EventInput: Equatable, Sendable {
  public var name: String
  public var args: JSONValue
  /// Where the event came from, for error messages (`week.ndjson:3`).
  public var origin: String?

  public init(name: String, args: JSONValue, origin: String? = nil) {
    self.name = name
    self.args = args
    self.origin = origin
  }
}

extension EventRecord {
  /// The same event as LiveStore compares them (name, args text, client, session; the
  /// caller matches the numbers), as `RemoteEvent.isEncoded(like:)` does for a pulled one.
  public func isEncoded(like other: EventRecord) -> Bool {
    name == other.name && argsJSON == other.argsJSON && clientId == other.clientId && sessionId == other.sessionId
  }
}
