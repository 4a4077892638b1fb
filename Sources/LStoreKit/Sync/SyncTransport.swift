/// An event as a sync backend holds it: LiveStore's `AnyEncodedGlobal` plus the backend's
/// per-event metadata (Cloudflare: `{"createdAt": …}`).
public struct RemoteEvent: Equatable, Sendable {
  /// Whether a pulled event is `local` as LiveStore compares them (its encoded form: name,
  /// args text, client and session; the caller matches the numbers): how a pull recognizes
  /// its own pending events, and a branch its shared history.
  public func isEncoded(like local: EventRecord) -> Bool {
    name == local.name && clientId == local.clientId && sessionId == local.sessionId && argsJSON == local.argsJSON
  }

  public var seqNum: Int64
  public var parentSeqNum: Int64
  public var name: String
  /// Nil when the backend has no args for the event (LiveStore's D1 stores NULL for `undefined`).
  public var args: JSONValue?
  public var clientId: String
  public var sessionId: String
  /// The value inside the backend's `Option` metadata, or nil for `None`.
  public var metadata: JSONValue?

  public init(seqNum: Int64, parentSeqNum: Int64, name: String, args: JSONValue?, clientId: String,
              sessionId: String, metadata: JSONValue? = nil) {
    self.seqNum = seqNum
    self.parentSeqNum = parentSeqNum
    self.name = name
    self.args = args
    self.clientId = clientId
    self.sessionId = sessionId
    self.metadata = metadata
  }

  /// The args as they are compared and stored: absent and null both become `{}`, as the
  /// eventlog stores missing args (format spec §11.11).
  public var argsJSON: String {
    guard let args, !args.isNull else { return "{}" }
    return args.compactText
  }

  /// `syncMetadataJson` for the eventlog row.
  public var syncMetadataJSON: String {
    guard let metadata else { return EventRecord.noSyncMetadata }
    var writer = JSONWriter()
    writer.appendASCII(#"{"_tag":"Some","value":"#)
    writer.write(metadata)
    writer.appendASCII("}")
    return writer.string
  }
}

/// One page of a pull: events after the cursor, in order, and how many more follow.
public struct PullPage: Sendable {
  public var events: [RemoteEvent]
  public var remaining: Int
  /// A live transport's first page after it reconnected by itself: asked from one event
  /// before `resumedAt`, the last one it had delivered, which a backend that kept it sends
  /// first again. Nil on every other page.
  public var resumedAt: Int64?

  public init(events: [RemoteEvent], remaining: Int, resumedAt: Int64? = nil) {
    self.events = events
    self.remaining = remaining
    self.resumedAt = resumedAt
  }
}

public enum PushOutcome: Equatable, Sendable {
  /// Stored durably by the backend. `metadata` is what the backend attached to the events
  /// (its `createdAt`), when the transport learned it.
  case accepted(metadata: JSONValue?)
  /// The backend refused the batch, typically because it is ahead (someone else pushed).
  case rejected(reason: String, backendHead: Int64?)
}

/// How push and pull reach a backend: the LiveStore WebSocket protocol, lstore's HTTP API,
/// or another store on disk. The sync logic (`SyncClient`) is written once against this.
public protocol SyncTransport: AnyObject {
  /// A short description for messages (`ws://127.0.0.1:8787 (store todos)`).
  var description: String { get }

  /// Calls `onPage` for each page of events with `seqNum > cursor` until the backend has
  /// no more (`remaining == 0`).
  func pull(after cursor: Int64, onPage: (PullPage) throws -> Void) async throws

  /// Sends one batch (ascending, contiguous, first parent = the backend head as the client
  /// knows it). At most `maxBatchSize` events.
  func push(_ batch: [RemoteEvent]) async throws -> PushOutcome

  /// The most events one push may carry.
  var maxBatchSize: Int { get }

  /// The backend's head, when the transport can ask for it cheaply (for status).
  func backendHead() async throws -> Int64?

  func close() async
}

/// A transport whose backend has an id (LiveStore 0.4's `backendId`): given the id the
/// store holds before a sync, it sends it on pushes and pull cursors and refuses a backend
/// with another (`SyncError.backendIdMismatch`); when the store holds none, it learns it.
public protocol BackendIdentifiedTransport: SyncTransport {
  /// Whether this transport's protocol has backend ids at all (LiveStore 0.4; not 0.3).
  var hasBackendIds: Bool { get }
  /// The id the transport uses: the one it was given, or learned from the backend.
  var backendId: String? { get }
  func setBackendId(_ id: String?)
}

/// A backend whose history can change under the stores that sync with it: another store
/// used as a remote renumbers the events it took from a push when it pulls from its own
/// remote and rebases them (or when it is reset). A sync first checks that it still holds
/// the events this store synced with it, as far back as they could have changed since the
/// last sync (`HistoryMark`).
public protocol RewritableBackend: SyncTransport {
  /// Names the backend for the mark this store keeps of it.
  var historyKey: String { get }
  /// Where the backend's history stands now.
  func historyMark() throws -> HistoryMark
  /// The events from `after` on that may differ from what they were at `mark`: every event
  /// after the returned position is to be compared.
  func unchangedThrough(since mark: HistoryMark) throws -> Int64
  /// The backend's event at `seqNum`, nil when it has none.
  func event(at seqNum: Int64) throws -> RemoteEvent?
}

/// Where another store's history stood at a sync: its reflog's entries through `reflogId`
/// are the rewrites a store syncing with it has seen, and `settledHead` was its backend
/// head (what is final when it keeps no reflog).
public struct HistoryMark: Equatable, Sendable {
  public var settledHead: Int64
  public var reflogId: Int64

  public init(settledHead: Int64, reflogId: Int64) {
    self.settledHead = settledHead
    self.reflogId = reflogId
  }

  /// As kept in the syncing store's `lstore_meta`: `settledHead:reflogId`.
  public init?(_ text: String) {
    let parts = text.split(separator: ":")
    guard parts.count == 2, let settled = Int64(parts[0]), let reflog = Int64(parts[1]) else { return nil }
    self.init(settledHead: settled, reflogId: reflog)
  }

  public var text: String { "\(settledHead):\(reflogId)" }
}

/// A transport failure (the remote cannot be reached, or broke the protocol).
public struct TransportError: Error, Sendable, CustomStringConvertible {
  /// `notFound`: a path remote with no store there (a typo in the path, exit 66), where
  /// `unavailable` is a remote that cannot be reached now (69).
  /// `invalidLocation`: a remote location lstore cannot use as given (a URL with a query:
  /// lstore builds each request's query itself), exit 64.
  public enum Kind: Sendable { case unavailable, notFound, protocolViolation, unauthorized, invalidLocation }
  public var kind: Kind
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var description: String { message }
}
