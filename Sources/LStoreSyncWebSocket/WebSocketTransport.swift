import LStoreKit
import LStoreSync

/// `SyncTransport` over LiveStore's WebSocket protocol, for `SyncClient` (push, pull and
/// status written once for every kind of remote).
public final class WebSocketTransport: SyncTransport {
  public let client: WebSocketSyncClient
  public var description: String { "\(client.url) (store \(client.storeId))" }
  public var maxBatchSize: Int { PushValidation.maxBatchSize }

  public init(client: WebSocketSyncClient) { self.client = client }

  /// Connects to `url` (`ws://host:port`); throws `TransportError(.unavailable)` when the
  /// server cannot be reached or refuses the storeId or payload.
  public static func connect(url: String, storeId: String, payload: JSONValue?) async throws -> WebSocketTransport {
    do {
      return WebSocketTransport(client: try await WebSocketSyncClient.connect(url: url, storeId: storeId, payload: payload))
    } catch let error as WebSocketSyncError {
      throw TransportError(.unavailable, error.message)
    }
  }

  public func pull(after cursor: Int64, onPage: (LStoreKit.PullPage) throws -> Void) async throws {
    do {
      for try await page in client.pull(cursor: cursor) {
        try onPage(LStoreKit.PullPage(events: page.items.map(Self.remoteEvent), remaining: Int(page.remaining)))
      }
    } catch let error as WebSocketSyncError {
      throw TransportError(error.kind == .pullFailed ? .protocolViolation : .unavailable, error.message)
    }
  }

  public func push(_ batch: [RemoteEvent]) async throws -> PushOutcome {
    let events = batch.map {
      WireEvent(name: $0.name, args: $0.args, seqNum: $0.seqNum, parentSeqNum: $0.parentSeqNum,
                clientId: $0.clientId, sessionId: $0.sessionId)
    }
    do {
      switch try await client.push(events) {
      case .acknowledged(let metadata):
        return .accepted(metadata: metadata)
      case .rejected(let message):
        return .rejected(reason: message, backendHead: Self.expectedHead(in: message))
      }
    } catch let error as WebSocketSyncError {
      throw TransportError(.unavailable, error.message)
    }
  }

  /// The WebSocket protocol has no head request; a pull from `Int64.max` would not tell it either.
  public func backendHead() async throws -> Int64? { nil }

  public func close() async { await client.close() }

  static func remoteEvent(_ item: PullItem) -> RemoteEvent {
    RemoteEvent(seqNum: item.event.seqNum, parentSeqNum: item.event.parentSeqNum, name: item.event.name,
                args: item.event.args, clientId: item.event.clientId, sessionId: item.event.sessionId,
                metadata: item.metadata)
  }

  /// The backend head named by LiveStore's `… but expected e<head>` text.
  static func expectedHead(in message: String) -> Int64? {
    guard let range = message.range(of: "but expected e", options: .backwards) else { return nil }
    return Int64(message[range.upperBound...].prefix { $0.isNumber })
  }
}
