import LStoreKit

/// sync-cf 0.3 for `SyncClientMachine`: `WSMessage.*` frames, 21-character nanoid
/// request ids, pushes echoed to the pusher as `PullRes` broadcasts.
public struct LiveStore03Codec: SyncWireCodec {
  public init() {}

  public var version: SyncProtocolVersion { .liveStore03 }
  public var pingText: String { SyncMessage.pingText }
  public var pongText: String { SyncMessage.pongText }
  public var acksPages: Bool { false }
  public var echoesPushes: Bool { true }

  public func socketURL(base: String, storeId: String, payload: JSONValue?) -> String {
    SyncURL.webSocketURL(base: base, storeId: storeId, payload: payload)
  }

  public func requestId() -> String { Identifiers.nanoid(length: 21) }

  /// `<pipelineId>~<index>`: lstore's server refuses the rest of a pipeline once one of its
  /// pushes is refused (see `SyncBackend.pipelineId(of:)`).
  public func pipelineRequestIds(count: Int) -> [String] {
    let pipelineId = Identifiers.nanoid(length: 21)
    return (0..<count).map { "\(pipelineId)~\($0)" }
  }

  public func encode(_ request: SyncClientMachine.Request) -> String {
    switch request {
    case .pull(let requestId, let cursor, _, _):
      return SyncMessage.pullRequest(requestId: requestId, cursor: cursor).encoded()
    case .push(let requestId, let batch, _):
      return SyncMessage.pushRequest(requestId: requestId, batch: batch).encoded()
    case .ack, .interrupt:
      // 0.3 has neither: the machine asks for them only of a codec that `acksPages`.
      return ""
    }
  }

  public func decode(_ text: String) -> [ClientInbound] {
    if text == SyncMessage.pongText { return [.pong] }
    guard let message = try? SyncMessage.decode(text) else { return [.ignored] }
    switch message {
    case .pushAck(let requestId): return [.succeeded(requestId: requestId)]
    case .error(let requestId, let text):
      // A stale parent is LiveStore's `Invalid parent event number. Received e<p> but expected e<head>`.
      if text.contains("but expected e") {
        return [.failed(requestId: requestId, .serverAhead(backendHead: ClientFailure.expectedHead(in: text), message: text))]
      }
      return [.failed(requestId: requestId, .message(text))]
    case .pullResponse(let response):
      switch response.context {
      case .pull: return [.page(requestId: response.requestId, items: response.batch, remaining: response.remaining, backendId: nil)]
      case .push: return [.broadcast(pushRequestId: response.requestId, items: response.batch)]
      }
    case .pong: return [.pong]
    default: return [.ignored]
    }
  }

  /// The push requestId of a `PullRes` broadcast, found without parsing: the text must
  /// start with `{"_tag":"WSMessage.PullRes"` and end with
  /// `"requestId":{"context":"push","requestId":"<id>"},"remaining":0}` (LiveStore's key
  /// order). Nil for anything else, which is then decoded normally.
  public func pushEchoRequestId(_ text: String) -> String? { Self.pushEchoRequestId(text) }

  public static func pushEchoRequestId(_ text: String) -> String? {
    let prefix = Array(#"{"_tag":"WSMessage.PullRes""#.utf8)
    let head = Array(#","requestId":{"context":"push","requestId":""#.utf8)
    let tail = Array(#""},"remaining":0}"#.utf8)
    var text = text
    return text.withUTF8 { bytes -> String? in
      let n = bytes.count
      guard n > prefix.count + head.count + tail.count,
            bytes.starts(with: prefix), bytes[(n - tail.count)...].elementsEqual(tail) else { return nil }
      var start = n - tail.count
      let end = start
      while start > 0, bytes[start - 1] != UInt8(ascii: "\""), bytes[start - 1] != UInt8(ascii: "\\") { start -= 1 }
      guard start >= head.count, bytes[start - 1] == UInt8(ascii: "\""),
            bytes[(start - head.count)..<start].elementsEqual(head) else { return nil }
      return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }
  }
}
