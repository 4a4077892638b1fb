import LStoreKit

/// Every message of LiveStore's sync-cf 0.3 WebSocket protocol (`WSMessage.*`).
///
/// `encoded()` writes the keys in LiveStore's order (`_tag`, then the fields in the order
/// `ws-message-types.ts` declares them), so the text is byte-identical to what
/// `JSON.stringify` produces in LiveStore. `decode(_:)` accepts the keys in any order.
public enum SyncMessage: Equatable, Sendable {
  // Client → server
  case pullRequest(requestId: String, cursor: Int64?)
  case pushRequest(requestId: String, batch: [WireEvent])
  case adminResetRoomRequest(requestId: String, adminSecret: String)
  case adminInfoRequest(requestId: String, adminSecret: String)
  case ping(requestId: String)
  // Server → client
  case pullResponse(PullResponse)
  case pushAck(requestId: String)
  case adminResetRoomResponse(requestId: String)
  case adminInfoResponse(requestId: String, info: JSONValue)
  case error(requestId: String, message: String)
  case pong(requestId: String)

  /// The keepalive exactly as LiveStore's client sends it; answered with `pongText`.
  public static let pingText = #"{"_tag":"WSMessage.Ping","requestId":"ping"}"#
  public static let pongText = #"{"_tag":"WSMessage.Pong","requestId":"ping"}"#

  public var tag: String {
    switch self {
    case .pullRequest: return "WSMessage.PullReq"
    case .pushRequest: return "WSMessage.PushReq"
    case .adminResetRoomRequest: return "WSMessage.AdminResetRoomReq"
    case .adminInfoRequest: return "WSMessage.AdminInfoReq"
    case .ping: return "WSMessage.Ping"
    case .pullResponse: return "WSMessage.PullRes"
    case .pushAck: return "WSMessage.PushAck"
    case .adminResetRoomResponse: return "WSMessage.AdminResetRoomRes"
    case .adminInfoResponse: return "WSMessage.AdminInfoRes"
    case .error: return "WSMessage.Error"
    case .pong: return "WSMessage.Pong"
    }
  }

  /// The request id; for a `PullRes` the id inside its `requestId` object.
  public var requestId: String {
    switch self {
    case .pullRequest(let id, _), .pushRequest(let id, _), .adminResetRoomRequest(let id, _),
      .adminInfoRequest(let id, _), .ping(let id), .pushAck(let id), .adminResetRoomResponse(let id),
      .adminInfoResponse(let id, _), .error(let id, _), .pong(let id):
      return id
    case .pullResponse(let response): return response.requestId
    }
  }

  // MARK: - Encoding

  public func encoded() -> String {
    var writer = JSONWriter()
    write(into: &writer)
    return writer.string
  }

  public func write(into writer: inout JSONWriter) {
    writer.appendASCII("{\"_tag\":")
    writer.writeString(tag)
    switch self {
    case .pullRequest(let requestId, let cursor):
      writeField("requestId", requestId, &writer)
      if let cursor {
        writer.appendASCII(",\"cursor\":")
        writer.writeInteger(cursor)
      }
    case .pushRequest(let requestId, let batch):
      writeField("requestId", requestId, &writer)
      writer.appendASCII(",\"batch\":[")
      for (index, event) in batch.enumerated() {
        if index > 0 { writer.appendASCII(",") }
        event.write(into: &writer)
      }
      writer.appendASCII("]")
    case .adminResetRoomRequest(let requestId, let adminSecret), .adminInfoRequest(let requestId, let adminSecret):
      writeField("requestId", requestId, &writer)
      writeField("adminSecret", adminSecret, &writer)
    case .ping(let requestId), .pong(let requestId), .pushAck(let requestId), .adminResetRoomResponse(let requestId):
      writeField("requestId", requestId, &writer)
    case .pullResponse(let response):
      response.writeFields(into: &writer)
    case .adminInfoResponse(let requestId, let info):
      writeField("requestId", requestId, &writer)
      writer.appendASCII(",\"info\":")
      writer.write(info)
    case .error(let requestId, let message):
      writeField("requestId", requestId, &writer)
      writeField("message", message, &writer)
    }
    writer.appendASCII("}")
  }

  private func writeField(_ key: StaticString, _ value: String, _ writer: inout JSONWriter) {
    writer.appendASCII(",\"")
    writer.appendASCII(key)
    writer.appendASCII("\":")
    writer.writeString(value)
  }

  // MARK: - Decoding

  public static func decode(_ text: String) throws -> SyncMessage {
    let json: JSONValue
    do {
      json = try JSONParser.parse(text)
    } catch {
      throw SyncProtocolError("message is not valid JSON: \(error)")
    }
    return try decode(json)
  }

  public static func decode(_ json: JSONValue) throws -> SyncMessage {
    let fields = try JSONFields(json, what: "message")
    let tag = try fields.string("_tag")
    switch tag {
    case "WSMessage.PullReq":
      return .pullRequest(requestId: try fields.string("requestId"), cursor: try fields.optionalInteger("cursor"))
    case "WSMessage.PushReq":
      let batch = try fields.array("batch").map(WireEvent.init(json:))
      return .pushRequest(requestId: try fields.string("requestId"), batch: batch)
    case "WSMessage.AdminResetRoomReq":
      return .adminResetRoomRequest(requestId: try fields.string("requestId"), adminSecret: try fields.string("adminSecret"))
    case "WSMessage.AdminInfoReq":
      return .adminInfoRequest(requestId: try fields.string("requestId"), adminSecret: try fields.string("adminSecret"))
    case "WSMessage.Ping":
      return .ping(requestId: try fields.string("requestId"))
    case "WSMessage.PullRes":
      return .pullResponse(try PullResponse(fields: fields))
    case "WSMessage.PushAck":
      return .pushAck(requestId: try fields.string("requestId"))
    case "WSMessage.AdminResetRoomRes":
      return .adminResetRoomResponse(requestId: try fields.string("requestId"))
    case "WSMessage.AdminInfoRes":
      return .adminInfoResponse(requestId: try fields.string("requestId"), info: try fields.required("info"))
    case "WSMessage.Error":
      return .error(requestId: try fields.string("requestId"), message: try fields.string("message"))
    case "WSMessage.Pong":
      return .pong(requestId: try fields.string("requestId"))
    default:
      throw SyncProtocolError("unknown message _tag \"\(tag)\"")
    }
  }
}

/// `WSMessage.PullRes`: one page of a pull, or the live broadcast of an accepted push.
public struct PullResponse: Equatable, Sendable {
  /// Why the page was sent: `pull` answers a `PullReq`, `push` broadcasts someone's push.
  public enum Context: String, Sendable {
    case pull
    case push
  }

  public var batch: [PullItem]
  public var context: Context
  /// The `PullReq`'s id for `pull`, the `PushReq`'s id for `push`.
  public var requestId: String
  /// Events still to come after this page (always 0 for `push`).
  public var remaining: Int64

  public init(batch: [PullItem], context: Context, requestId: String, remaining: Int64) {
    self.batch = batch
    self.context = context
    self.requestId = requestId
    self.remaining = remaining
  }

  /// The seqNum of the last event in the page, if any.
  public var lastSeqNum: Int64? { batch.last?.event.seqNum }

  func writeFields(into writer: inout JSONWriter) {
    writer.appendASCII(",\"batch\":[")
    for (index, item) in batch.enumerated() {
      if index > 0 { writer.appendASCII(",") }
      item.write(into: &writer)
    }
    writer.appendASCII("],\"requestId\":{\"context\":")
    writer.writeString(context.rawValue)
    writer.appendASCII(",\"requestId\":")
    writer.writeString(requestId)
    writer.appendASCII("},\"remaining\":")
    writer.writeInteger(remaining)
  }

  init(fields: JSONFields) throws {
    batch = try fields.array("batch").map(PullItem.init(json:))
    let origin = try JSONFields(try fields.required("requestId"), what: "requestId")
    let contextName = try origin.string("context")
    guard let context = Context(rawValue: contextName) else {
      throw SyncProtocolError("requestId.context must be \"pull\" or \"push\", got \"\(contextName)\"")
    }
    self.context = context
    requestId = try origin.string("requestId")
    remaining = try fields.integer("remaining")
  }
}
