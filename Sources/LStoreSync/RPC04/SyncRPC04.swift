import LStoreKit

/// LiveStore 0.4.0's sync RPCs (`sync-cf/src/common/ws-rpc-schema.ts`, `http-rpc-schema.ts`,
/// `sync-message-types.ts`) and their payloads, encoded with the keys in schema order.
public enum SyncRPC04 {
  public static let wsPull = "SyncWsRpc.Pull"
  public static let wsPush = "SyncWsRpc.Push"
  public static let httpPull = "SyncHttpRpc.Pull"
  public static let httpPush = "SyncHttpRpc.Push"
  public static let httpPing = "SyncHttpRpc.Ping"

  public static let webSocketTags: Set<String> = [wsPull, wsPush]
  public static let httpTags: Set<String> = [httpPull, httpPush, httpPing]

  /// The pull RPCs are streams (their Request puts `traceId` before `payload`).
  public static func isStream(tag: String) -> Bool { tag == wsPull || tag == httpPull }

  /// `SyncWsRpc.Pull` / `SyncHttpRpc.Pull` payload. `live` is nil for HTTP (its schema has none).
  public struct PullRequest: Equatable, Sendable {
    public struct Cursor: Equatable, Sendable {
      public var backendId: String
      public var eventSequenceNumber: Int64
      public init(backendId: String, eventSequenceNumber: Int64) {
        self.backendId = backendId
        self.eventSequenceNumber = eventSequenceNumber
      }
    }

    public var storeId: String
    public var payload: JSONValue?
    public var live: Bool?
    /// nil = `{"_tag":"None"}`: from the beginning.
    public var cursor: Cursor?

    public init(storeId: String, payload: JSONValue? = nil, live: Bool?, cursor: Cursor?) {
      self.storeId = storeId
      self.payload = payload
      self.live = live
      self.cursor = cursor
    }

    public var jsonValue: JSONValue {
      var object = JSONObject()
      object["storeId"] = .string(storeId)
      if let payload { object["payload"] = payload }
      if let live { object["live"] = .bool(live) }
      object["cursor"] = SyncRPC04.option(cursor.map { cursor in
        .object(JSONObject([("backendId", .string(cursor.backendId)),
                            ("eventSequenceNumber", .integer(cursor.eventSequenceNumber))]))
      })
      return .object(object)
    }

    /// - Parameter requireLive: true for `SyncWsRpc.Pull` (its schema requires `live`).
    public init(json: JSONValue, requireLive: Bool) throws {
      let fields = try JSONFields(json, what: "payload")
      storeId = try fields.string("storeId")
      payload = fields.raw("payload")
      if requireLive {
        guard case .bool(let live)? = fields.raw("live") else { throw SyncProtocolError("payload.live must be a boolean") }
        self.live = live
      } else {
        live = nil
      }
      cursor = try SyncRPC04.decodeOption(try fields.required("cursor"), what: "payload.cursor") { value in
        let cursor = try JSONFields(value, what: "payload.cursor.value")
        return Cursor(backendId: try cursor.string("backendId"), eventSequenceNumber: try cursor.integer("eventSequenceNumber"))
      }
    }
  }

  /// `SyncWsRpc.Push` / `SyncHttpRpc.Push` payload.
  public struct PushRequest: Equatable, Sendable {
    public var storeId: String
    public var payload: JSONValue?
    public var batch: [WireEvent]
    /// nil = `{"_tag":"None"}` (the client has not learned the backend's id yet).
    public var backendId: String?

    public init(storeId: String, payload: JSONValue? = nil, batch: [WireEvent], backendId: String?) {
      self.storeId = storeId
      self.payload = payload
      self.batch = batch
      self.backendId = backendId
    }

    public var jsonValue: JSONValue {
      var object = JSONObject()
      object["storeId"] = .string(storeId)
      if let payload { object["payload"] = payload }
      object["batch"] = .array(batch.map(\.jsonValue))
      object["backendId"] = SyncRPC04.option(backendId.map(JSONValue.string))
      return .object(object)
    }

    public init(json: JSONValue) throws {
      let fields = try JSONFields(json, what: "payload")
      storeId = try fields.string("storeId")
      payload = fields.raw("payload")
      batch = try fields.array("batch").map(WireEvent.init(json:))
      backendId = try SyncRPC04.decodeOption(try fields.required("backendId"), what: "payload.backendId") { value in
        guard let id = value.stringValue else { throw SyncProtocolError("payload.backendId.value must be a string") }
        return id
      }
    }
  }

  /// `SyncHttpRpc.Ping` payload; its success is `pong`.
  public struct PingRequest: Equatable, Sendable {
    public var storeId: String
    public var payload: JSONValue?
    public init(storeId: String, payload: JSONValue? = nil) {
      self.storeId = storeId
      self.payload = payload
    }

    public var jsonValue: JSONValue {
      var object = JSONObject([("storeId", .string(storeId))])
      if let payload { object["payload"] = payload }
      return .object(object)
    }

    public init(json: JSONValue) throws {
      let fields = try JSONFields(json, what: "payload")
      storeId = try fields.string("storeId")
      payload = fields.raw("payload")
    }
  }

  /// `SyncMessage.Pong`, the success of `SyncHttpRpc.Ping`.
  public static let pong: JSONValue = .object(JSONObject([("_tag", .string("SyncMessage.Pong"))]))
  /// `SyncMessage.PushAck`, the success of a push.
  public static let pushAck: JSONValue = .object(JSONObject())

  /// `SyncBackend.PullResPageInfo`.
  public enum PageInfo: Equatable, Sendable {
    case moreUnknown
    case moreKnown(remaining: Int64)
    case noMore

    public init(remaining: Int64) { self = remaining > 0 ? .moreKnown(remaining: remaining) : .noMore }

    func write(into writer: inout JSONWriter) {
      switch self {
      case .moreUnknown: writer.appendASCII(#"{"_tag":"MoreUnknown"}"#)
      case .moreKnown(let remaining):
        writer.appendASCII(#"{"_tag":"MoreKnown","remaining":"#)
        writer.writeInteger(remaining)
        writer.appendASCII("}")
      case .noMore: writer.appendASCII(#"{"_tag":"NoMore"}"#)
      }
    }

    init(json: JSONValue) throws {
      let fields = try JSONFields(json, what: "pageInfo")
      switch try fields.string("_tag") {
      case "MoreUnknown": self = .moreUnknown
      case "MoreKnown": self = .moreKnown(remaining: try fields.integer("remaining"))
      case "NoMore": self = .noMore
      case let other: throw SyncProtocolError("pageInfo has an unknown _tag \"\(other)\"")
      }
    }
  }

  /// The most bytes of batch items (each with its comma) in one page, so that the whole
  /// `PullResponse` JSON of a page stays within LiveStore's 900,000 bytes
  /// (`MAX_WS_MESSAGE_BYTES`, measured on that JSON): room is left for the envelope.
  public static let maxPageItemBytes = PullPaging.maxPageBytes - 200

  /// The same bound for the backend's pager, which measures items in their 0.3 form: a 0.4
  /// item is `metadataOverhead` bytes longer (`"_tag":"SyncMessage.SyncMetadata",`).
  static let metadataOverhead = #""_tag":"SyncMessage.SyncMetadata","#.utf8.count
  public static let maxPagerBytes = maxPageItemBytes - PullPaging.pageSize * metadataOverhead

  /// `SyncMessage.PullResponse`: one page of a pull, or a live broadcast.
  ///
  /// An item's metadata goes on the wire as `Some(SyncMessage.SyncMetadata{createdAt})`
  /// when it has a `createdAt` (always, from lstore's backend), else `None`; decoding
  /// keeps only `{"createdAt"}`, the form `PullItem` holds.
  public struct PullResponse: Equatable, Sendable {
    public var batch: [PullItem]
    public var pageInfo: PageInfo
    public var backendId: String

    public init(batch: [PullItem], pageInfo: PageInfo, backendId: String) {
      self.batch = batch
      self.pageInfo = pageInfo
      self.backendId = backendId
    }

    public func write(into writer: inout JSONWriter) {
      writer.appendASCII(#"{"batch":["#)
      for (index, item) in batch.enumerated() {
        if index > 0 { writer.appendASCII(",") }
        Self.write(item, into: &writer)
      }
      writer.appendASCII(#"],"pageInfo":"#)
      pageInfo.write(into: &writer)
      writer.appendASCII(#","backendId":"#)
      writer.writeString(backendId)
      writer.appendASCII("}")
    }

    /// One batch item; also what the pager measures against the 900,000-byte bound.
    static func write(_ item: PullItem, into writer: inout JSONWriter) {
      writer.appendASCII(#"{"eventEncoded":"#)
      item.event.write(into: &writer)
      if let createdAt = item.createdAt {
        writer.appendASCII(#","metadata":{"_tag":"Some","value":{"_tag":"SyncMessage.SyncMetadata","createdAt":"#)
        writer.writeString(createdAt)
        writer.appendASCII("}}}")
      } else {
        writer.appendASCII(#","metadata":{"_tag":"None"}}"#)
      }
    }

    public var jsonValue: JSONValue {
      var writer = JSONWriter()
      write(into: &writer)
      return (try? JSONParser.parse(writer.bytes)) ?? .null
    }

    /// The whole `Chunk` frame carrying this page for `requestId`.
    public func chunkFrame(requestId: String) -> String {
      var writer = JSONWriter(reservingCapacity: 256 + batch.count * 200)
      RPC04.ServerMessage.writeChunk(requestId: requestId, into: &writer) { write(into: &$0) }
      return writer.string
    }

    public init(json: JSONValue) throws {
      let fields = try JSONFields(json, what: "PullResponse")
      batch = try fields.array("batch").map { item in
        let itemFields = try JSONFields(item, what: "batch item")
        let event = try WireEvent(json: try itemFields.required("eventEncoded"))
        let metadata = try SyncRPC04.decodeOption(try itemFields.required("metadata"), what: "metadata") { value in
          try JSONFields(value, what: "metadata.value").string("createdAt")
        }
        return metadata.map { PullItem(event: event, createdAt: $0) } ?? PullItem(event: event, metadata: nil)
      }
      pageInfo = try PageInfo(json: try fields.required("pageInfo"))
      backendId = try fields.string("backendId")
    }
  }

  /// The typed failures of the sync RPCs (`LS:common/src/sync/errors.ts`, `errors.ts`),
  /// encoded as Effect's `TaggedError` does: the fields, then `_tag` last.
  public enum SyncError: Equatable, Sendable, Error {
    case serverAhead(minimumExpectedNum: Int64, providedNum: Int64)
    case backendIdMismatch(expected: String, received: String)
    /// `cause` is a `Schema.Defect` (`{"name","message"}` or a string).
    case unknown(cause: JSONValue, note: String?)

    public var jsonValue: JSONValue {
      switch self {
      case .serverAhead(let minimum, let provided):
        return .object(JSONObject([("minimumExpectedNum", .integer(minimum)), ("providedNum", .integer(provided)),
                                   ("_tag", .string("ServerAheadError"))]))
      case .backendIdMismatch(let expected, let received):
        return .object(JSONObject([("expected", .string(expected)), ("received", .string(received)),
                                   ("_tag", .string("BackendIdMismatchError"))]))
      case .unknown(let cause, let note):
        var object = JSONObject([("cause", cause)])
        if let note { object["note"] = .string(note) }
        object["_tag"] = .string("UnknownError")
        return .object(object)
      }
    }

    public init(json: JSONValue) throws {
      let fields = try JSONFields(json, what: "error")
      switch try fields.string("_tag") {
      case "ServerAheadError":
        self = .serverAhead(minimumExpectedNum: try fields.integer("minimumExpectedNum"), providedNum: try fields.integer("providedNum"))
      case "BackendIdMismatchError":
        self = .backendIdMismatch(expected: try fields.string("expected"), received: try fields.string("received"))
      case "UnknownError":
        self = .unknown(cause: fields.raw("cause") ?? .null, note: fields.raw("note")?.stringValue)
      case let other: throw SyncProtocolError("unknown error _tag \"\(other)\"")
      }
    }

    /// The failure `Exit` of a request.
    public var exit: RPC04.Exit { .failure(.fail(jsonValue)) }
  }

  // MARK: - Effect's Option

  static func option(_ value: JSONValue?) -> JSONValue {
    guard let value else { return .object(JSONObject([("_tag", .string("None"))])) }
    return .object(JSONObject([("_tag", .string("Some")), ("value", value)]))
  }

  static func decodeOption<T>(_ json: JSONValue, what: String, _ some: (JSONValue) throws -> T) throws -> T? {
    let fields = try JSONFields(json, what: what)
    switch try fields.string("_tag") {
    case "None": return nil
    case "Some": return try some(try fields.required("value"))
    case let other: throw SyncProtocolError("\(what) has an unknown _tag \"\(other)\"")
    }
  }
}
