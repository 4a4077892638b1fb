import LStoreKit

/// sync-cf 0.4 for `SyncClientMachine`: Effect RPC frames (`RPC04`) carrying the
/// `SyncWsRpc` or `SyncHttpRpc` calls, as LiveStore 0.4.0's client sends them:
/// - request ids are the decimal strings of one process-wide counter from 0 (Effect's
///   `requestIdCounter`), so they never restart on a reconnect;
/// - every request carries `traceId` (32 hex), `spanId` (16 hex), `sampled: true` and
///   `headers: []`, in Effect's key order;
/// - the connect payload (auth) goes in the URL and in every request's `payload`.
public struct LiveStore04Codec: SyncWireCodec {
  public let storeId: String
  public let payload: JSONValue?
  public let transport: SyncURL.Transport04

  public init(storeId: String, payload: JSONValue?, transport: SyncURL.Transport04) {
    self.storeId = storeId
    self.payload = payload
    self.transport = transport
  }

  public var version: SyncProtocolVersion { .liveStore04 }
  public var pingText: String { RPC04.pingText }
  public var pongText: String { RPC04.pongText }
  /// Over HTTP there is nothing to ack (Effect's HTTP protocol has `supportsAck: false`).
  public var acksPages: Bool { transport == .webSocket }
  public var echoesPushes: Bool { false }

  /// The base URL as given, with the empty path a browser's `URL` would read as `/`
  /// (`ws://host:port` is opened as `ws://host:port/?storeId=…`).
  public func socketURL(base: String, storeId: String, payload: JSONValue?) -> String {
    var base = base
    if let scheme = base.range(of: "://"), !base[scheme.upperBound...].contains("/") { base += "/" }
    return SyncURL.url04(base: base, storeId: storeId, payload: payload, transport: transport)
  }

  private static let counter = Locked<UInt64>(0)

  public func requestId() -> String {
    Self.counter.withLock { value in
      defer { value += 1 }
      return String(value)
    }
  }

  public func pipelineRequestIds(count: Int) -> [String] { (0..<count).map { _ in requestId() } }

  public func encode(_ request: SyncClientMachine.Request) -> String {
    switch request {
    case .pull(let requestId, let cursor, let live, let backendId):
      // No cursor while nothing is confirmed, as LiveStore's client. With a cursor but no
      // id (a store that never learned it) the id is sent empty: the backend answers
      // `BackendIdMismatchError` naming its id, which the machine then takes.
      let position = cursor.flatMap { $0 > 0 ? $0 : nil }
      let body = SyncRPC04.PullRequest(
        storeId: storeId, payload: payload, live: transport == .webSocket ? live : nil,
        cursor: position.map { .init(backendId: backendId ?? "", eventSequenceNumber: $0) })
      return Self.request(id: requestId, tag: transport == .webSocket ? SyncRPC04.wsPull : SyncRPC04.httpPull,
                          payload: body.jsonValue)
    case .push(let requestId, let batch, let backendId):
      let body = SyncRPC04.PushRequest(storeId: storeId, payload: payload, batch: batch, backendId: backendId)
      return Self.request(id: requestId, tag: transport == .webSocket ? SyncRPC04.wsPush : SyncRPC04.httpPush,
                          payload: body.jsonValue)
    case .ack(let requestId): return RPC04.ClientMessage.ack(requestId: requestId).encoded()
    case .interrupt(let requestId): return RPC04.ClientMessage.interrupt(requestId: requestId).encoded()
    }
  }

  /// `SyncHttpRpc.Ping`, the HTTP keepalive (and the protocol probe).
  public func pingRequest() -> String {
    Self.request(id: requestId(), tag: SyncRPC04.httpPing, payload: SyncRPC04.PingRequest(storeId: storeId, payload: payload).jsonValue)
  }

  static func request(id: String, tag: String, payload: JSONValue) -> String {
    RPC04.Request(id: id, tag: tag, payload: payload, headers: [], traceId: hex(16), spanId: hex(8), sampled: true).encoded()
  }

  static func hex(_ bytes: Int) -> String {
    let digits = Array("0123456789abcdef")
    return String((0..<bytes * 2).map { _ in digits[Int.random(in: 0..<16)] })
  }

  public func decode(_ text: String) -> [ClientInbound] {
    if text == RPC04.pongText { return [.pong] }
    guard let json = try? JSONParser.parse(text) else { return [.ignored] }
    return decode(json)
  }

  /// One server message (an element of an HTTP response's array, or a WebSocket frame).
  public func decode(_ json: JSONValue) -> [ClientInbound] {
    guard let message = try? RPC04.ServerMessage.decode(json) else { return [.ignored] }
    switch message {
    case .chunk(let requestId, let values):
      return values.map { value in
        guard let response = try? SyncRPC04.PullResponse(json: value) else {
          return .failed(requestId: requestId, .message("the backend sent a pull page lstore cannot read"))
        }
        let remaining: Int64
        switch response.pageInfo {
        case .noMore: remaining = 0
        case .moreKnown(let count): remaining = max(count, 1)
        case .moreUnknown: remaining = 1
        }
        return .page(requestId: requestId, items: response.batch, remaining: remaining, backendId: response.backendId)
      }
    case .exit(let requestId, .success):
      return [.succeeded(requestId: requestId)]
    case .exit(let requestId, .failure(let cause)):
      return [.failed(requestId: requestId, Self.failure(cause))]
    case .defect(let defect):
      return [.failedAll(.message("the backend failed every request: \(Self.defectText(defect))"))]
    case .pong:
      return [.pong]
    case .clientProtocolError(let text):
      return [.failedAll(.message(text))]
    }
  }

  /// The failure a cause tree stands for: its first typed error, else its first defect.
  static func failure(_ cause: RPC04.Cause) -> ClientFailure {
    if let error = cause.failures.first {
      switch try? SyncRPC04.SyncError(json: error) {
      case .serverAhead(let minimum, let provided)?:
        return .serverAhead(backendHead: minimum,
                            message: "ServerAheadError: the push's first parent is e\(provided) but expected e\(minimum)")
      case .backendIdMismatch(let expected, let received)?:
        return .backendIdMismatch(expected: expected, received: received)
      case .unknown(let cause, let note)?:
        return .message("UnknownError: \(defectText(cause))\(note.map { " (\($0))" } ?? "")")
      case nil:
        return .message("the backend failed the request: \(error.compactText)")
      }
    }
    if let defect = cause.defects.first { return .message("the backend failed the request: \(defectText(defect))") }
    if cause.isInterrupted { return .message("the backend interrupted the request") }
    return .message("the backend failed the request")
  }

  static func defectText(_ defect: JSONValue) -> String {
    if let text = defect.stringValue { return text }
    if let message = defect["message"]?.stringValue { return message }
    return defect.compactText
  }

  public func pushEchoRequestId(_ text: String) -> String? { nil }
}

extension LiveStore04Codec {
  /// `MAX_WS_MESSAGE_BYTES`: LiveStore 0.4's client keeps every push request under it
  /// (Cloudflare refuses larger WebSocket messages), as its pages are.
  public static let maxPushBytes = PushValidation.maxPushBytes

  /// `events` as LiveStore's client splits a push (`splitChunkBySize`): in order, at most
  /// 100 events and about `maxPushBytes` of encoded request each.
  public func pushBatches(_ events: [WireEvent]) -> [[WireEvent]] {
    // The request around the batch: its keys, storeId, payload, backendId and trace fields.
    PushValidation.batchesToSend(events, envelopeBytes: 400 + storeId.utf8.count + (payload?.compactText.utf8.count ?? 0))
  }
}
