import LStoreKit

/// A protocol's encoder and decoder for `SyncClientMachine`: turns the machine's requests
/// into frames and the backend's frames into `ClientInbound`s. Holds no state of a
/// connection (request ids come from `requestId()`, which may be process-wide).
public protocol SyncWireCodec: Sendable {
  var version: SyncProtocolVersion { get }
  /// The URL to open for `storeId` with the connect payload.
  func socketURL(base: String, storeId: String, payload: JSONValue?) -> String
  func encode(_ request: SyncClientMachine.Request) -> String
  /// Every message in one text frame (0.4 chunks carry one page each, but a chunk may
  /// hold several values).
  func decode(_ text: String) -> [ClientInbound]
  /// A request id as the protocol's LiveStore client makes them.
  func requestId() -> String
  /// The ids of a pipelined push of `count` requests.
  func pipelineRequestIds(count: Int) -> [String]
  var pingText: String { get }
  var pongText: String { get }
  /// 0.4: an `Ack` after every page, an `Interrupt` for a pull left early.
  var acksPages: Bool { get }
  /// 0.3: every accepted push comes back to the pusher as a broadcast (with `createdAt`).
  var echoesPushes: Bool { get }
  /// The push request id of a frame that is only a push's broadcast echo, found without
  /// decoding it (nil when it is anything else, or the protocol has no such frames).
  func pushEchoRequestId(_ text: String) -> String?
}

extension ClientFailure {
  /// The text for a user or a log.
  public var message: String {
    switch self {
    case .message(let text), .serverAhead(_, let text): return text
    case .backendIdMismatch(let expected, let received):
      return "BackendIdMismatchError: the backend's id is \(expected), the client's \(received.isEmpty ? "none" : received)"
    case .connectionLost: return "the connection was lost"
    }
  }

  /// The backend head named by LiveStore's `… but expected e<head>` text.
  public static func expectedHead(in message: String) -> Int64? {
    guard let range = message.range(of: "but expected e", options: .backwards) else { return nil }
    return Int64(message[range.upperBound...].prefix { $0.isNumber })
  }
}
