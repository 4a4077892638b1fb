import LStoreKit
import LStoreSync

/// `SyncTransport` over either LiveStore WebSocket protocol, for `SyncClient` (push, pull
/// and status written once for every kind of remote).
public final class WebSocketTransport: BackendIdentifiedTransport {
  public let client: WebSocketSyncClient
  public var description: String { "\(client.url) (store \(client.storeId))" }
  public var hasBackendIds: Bool { client.codec.version == .liveStore04 }
  public var backendId: String? { client.backendId }
  public func setBackendId(_ id: String?) { client.setBackendId(id) }
  /// `SyncClient` hands `push` up to this many events at a time; `push` sends them as
  /// `PushReq`s of at most 100 (LiveStore's contract), pipelined.
  public var maxBatchSize: Int { Self.pushChunk }
  public static let pushChunk = 10_000

  public init(client: WebSocketSyncClient) { self.client = client }

  /// Connects to `url` (`ws://host:port`); throws `TransportError(.unavailable)` when the
  /// server cannot be reached, and the client's `WebSocketSyncError` (`connectFailure`
  /// `.upgradeRefused`) when it refuses the storeId or payload.
  /// - Parameter reconnect: keep reopening a lost connection (for live following); when
  ///   false, a lost connection fails the push or pull in progress and every later one.
  /// - Parameter onConnectionChange: told when a connection drops and comes back (with
  ///   `reconnect`).
  /// - Parameter version: the protocol (sync-cf 0.3 or 0.4).
  public static func connect(url: String, storeId: String, payload: JSONValue?,
                             version: SyncProtocolVersion = .liveStore03, reconnect: Bool = true,
                             onConnectionChange: (@Sendable (ConnectionChange) -> Void)? = nil) async throws
    -> WebSocketTransport
  {
    var options = WebSocketSyncClient.Options()
    options.reconnect = reconnect
    options.onConnectionChange = onConnectionChange
    let codec: any SyncWireCodec = switch version {
    case .liveStore03: LiveStore03Codec()
    case .liveStore04:
      LiveStore04Codec(storeId: storeId, payload: payload, transport: .webSocket)
    }
    if version == .liveStore04 {
      // LiveStore 0.4's client pings every 10 s and gives a Pong 10 s.
      options.pingInterval = .seconds(10)
      options.pongTimeout = .seconds(10)
    }
    do {
      return WebSocketTransport(client: try await WebSocketSyncClient.connect(url: url, storeId: storeId, payload: payload,
                                                                              codec: codec, options: options))
    } catch let error as WebSocketSyncError {
      // A refused upgrade carries no reason (the status and body are not kept): the caller
      // can ask the server over plain HTTP (LStoreRemote's Transports does).
      if error.connectFailure == .upgradeRefused { throw error }
      throw TransportError(.unavailable, error.message)
    }
  }

  public func pull(after cursor: Int64, onPage: (LStoreKit.PullPage) throws -> Void) async throws {
    do {
      for try await page in client.pull(cursor: cursor) {
        try onPage(LStoreKit.PullPage(events: page.items.map(\.remoteEvent), remaining: Int(page.remaining)))
      }
    } catch let error as WebSocketSyncError {
      throw Self.translate(error)
    }
  }

  /// A pull's failure as the sync logic knows it.
  public static func translate(_ error: WebSocketSyncError) -> Error {
    if error.kind == .backendIdMismatch, let ids = error.backendIds {
      return SyncError.backendIdMismatch(stored: ids.received, backend: ids.expected)
    }
    return TransportError(error.kind == .pullFailed ? .protocolViolation : .unavailable, error.message)
  }

  /// Sends `batch` (any size, contiguous) as `PushReq`s of at most 100 events, pipelined
  /// (see `WebSocketSyncClient.push(batches:)`). `.accepted` only when every one was
  /// acknowledged; at the first refusal `.rejected`: the acknowledged prefix is stored on the
  /// backend but not reported here (the next pull confirms those events by equality).
  public func push(_ batch: [RemoteEvent]) async throws -> PushOutcome {
    let events = batch.map {
      WireEvent(name: $0.name, args: $0.args, seqNum: $0.seqNum, parentSeqNum: $0.parentSeqNum,
                clientId: $0.clientId, sessionId: $0.sessionId)
    }
    do {
      // As LiveStore 0.4's client splits a push (100 events, 900,000 bytes); 0.3 the same
      // (its `WSMessage.PushReq` envelope is about 100 bytes), so a batch of large events
      // never exceeds what a backend takes in one message.
      let batches = (client.codec as? LiveStore04Codec)?.pushBatches(events)
        ?? PushValidation.batchesToSend(events, envelopeBytes: 200)
      if batches.count == 1 {
        switch try await client.push(batches[0]) {
        case .acknowledged(let metadata):
          return .accepted(metadata: metadata)
        case .rejected(let message):
          return .rejected(reason: message, backendHead: Self.expectedHead(in: message))
        case .backendIdMismatch(let expected, let received):
          throw SyncError.backendIdMismatch(stored: received, backend: expected)
        }
      }
      let result = try await client.push(batches: batches)
      if let ids = result.backendIdMismatch { throw SyncError.backendIdMismatch(stored: ids.received, backend: ids.expected) }
      if let message = result.rejection {
        return .rejected(reason: message, backendHead: Self.expectedHead(in: message))
      }
      return .accepted(metadata: result.metadata)
    } catch let error as WebSocketSyncError {
      throw TransportError(.unavailable, error.message)
    }
  }

  /// The WebSocket protocol has no head request; a pull from `Int64.max` would not tell it either.
  public func backendHead() async throws -> Int64? { nil }

  public func close() async { await client.close() }


  /// The backend head named by LiveStore's `… but expected e<head>` text.
  static func expectedHead(in message: String) -> Int64? { ClientFailure.expectedHead(in: message) }
}
