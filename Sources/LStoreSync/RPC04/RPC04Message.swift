import LStoreKit

/// The frames of Effect RPC (`@effect/rpc` 0.75.1, `RpcMessage.ts`) as LiveStore 0.4.0's
/// sync-cf uses them with `RpcSerialization.layerJson`: one JSON object per WebSocket text
/// frame, and over HTTP one object in the request body and a JSON array of them in the
/// response. One codec for both directions, so lstore's server and a client share it.
///
/// `encoded()` writes the keys in the order Effect's `JSON.stringify` produces them, so the
/// text is byte-identical to LiveStore's; `decode` accepts any key order and ignores keys
/// it does not know, as Effect's schemas do.
public enum RPC04 {
  /// Client → server (`FromClientEncoded`).
  public enum ClientMessage: Equatable, Sendable {
    case request(Request)
    case ack(requestId: String)
    case interrupt(requestId: String)
    case ping
    /// Defined by Effect; LiveStore's client never sends it.
    case eof
  }

  /// Server → client (`FromServerEncoded`).
  public enum ServerMessage: Equatable, Sendable {
    /// One stream chunk: LiveStore always sends exactly one value per chunk.
    case chunk(requestId: String, values: [JSONValue])
    case exit(requestId: String, exit: Exit)
    /// A failure not tied to one request (`Schema.Defect` encoded). A LiveStore client that
    /// receives one fails every request it has open.
    case defect(JSONValue)
    case pong
    /// Never sent on a wire: Effect's client protocol hands it to its own client when the
    /// socket fails or a frame cannot be decoded (`RpcClient.ts`). Here so a client built
    /// on this codec can use the same type.
    case clientProtocolError(message: String)
  }

  /// `{"_tag":"Request",…}`. `id` is the id as sent (a decimal string for LiveStore).
  public struct Request: Equatable, Sendable {
    public var id: String
    public var tag: String
    public var payload: JSONValue
    public var headers: [[String]]
    public var traceId: String?
    public var spanId: String?
    public var sampled: Bool?
    /// Effect's client writes the trace id before the payload for stream RPCs and after it
    /// for the others; only the order of the encoded keys depends on it.
    public var isStream: Bool

    public init(id: String, tag: String, payload: JSONValue, headers: [[String]] = [], traceId: String? = nil,
                spanId: String? = nil, sampled: Bool? = nil, isStream: Bool? = nil) {
      self.id = id
      self.tag = tag
      self.payload = payload
      self.headers = headers
      self.traceId = traceId
      self.spanId = spanId
      self.sampled = sampled
      self.isStream = isStream ?? SyncRPC04.isStream(tag: tag)
    }
  }

  /// `Schema.Exit` encoded: success (a stream's `Schema.Void` success has no `value` key) or failure.
  public enum Exit: Equatable, Sendable {
    case success(JSONValue?)
    case failure(Cause)
  }

  /// `Schema.Cause` encoded, a tree (Effect 3).
  public indirect enum Cause: Equatable, Sendable {
    case empty
    case fail(JSONValue)
    case die(JSONValue)
    case interrupt(FiberId)
    case sequential(Cause, Cause)
    case parallel(Cause, Cause)

    /// The typed errors (`Fail` nodes) anywhere in the tree, left to right.
    public var failures: [JSONValue] {
      switch self {
      case .fail(let error): return [error]
      case .sequential(let left, let right), .parallel(let left, let right): return left.failures + right.failures
      case .empty, .die, .interrupt: return []
      }
    }

    /// The defects (`Die` nodes), left to right.
    public var defects: [JSONValue] {
      switch self {
      case .die(let defect): return [defect]
      case .sequential(let left, let right), .parallel(let left, let right): return left.defects + right.defects
      case .empty, .fail, .interrupt: return []
      }
    }

    public var isInterrupted: Bool {
      switch self {
      case .interrupt: return true
      case .sequential(let left, let right), .parallel(let left, let right): return left.isInterrupted || right.isInterrupted
      case .empty, .fail, .die: return false
      }
    }
  }

  public indirect enum FiberId: Equatable, Sendable {
    case none
    case runtime(id: Int64, startTimeMillis: Int64)
    case composite(FiberId, FiberId)

    /// `fiberIdClientInterrupt` (`RpcServer.ts`): the fiber id of an interrupt the client asked for.
    public static let clientInterrupt = FiberId.runtime(id: -499, startTimeMillis: 0)
  }

  /// `Schema.Defect` of an `Error`: `{"name","message"}` (no stack).
  public static func errorDefect(name: String, message: String) -> JSONValue {
    .object(JSONObject([("name", .string(name)), ("message", .string(message))]))
  }

  /// The exact frame LiveStore's client sends as keepalive (`JSON.stringify(constPing)`),
  /// and the answer (Cloudflare's auto-response pair).
  public static let pingText = #"{"_tag":"Ping"}"#
  public static let pongText = #"{"_tag":"Pong"}"#
}

// MARK: - Encoding

extension RPC04.ClientMessage {
  public func encoded() -> String {
    var writer = JSONWriter()
    write(into: &writer)
    return writer.string
  }

  public func write(into writer: inout JSONWriter) {
    switch self {
    case .request(let request): request.write(into: &writer)
    case .ack(let id):
      writer.appendASCII(#"{"_tag":"Ack","requestId":"#)
      writer.writeString(id)
      writer.appendASCII("}")
    case .interrupt(let id):
      writer.appendASCII(#"{"_tag":"Interrupt","requestId":"#)
      writer.writeString(id)
      writer.appendASCII("}")
    case .ping: writer.appendASCII(#"{"_tag":"Ping"}"#)
    case .eof: writer.appendASCII(#"{"_tag":"Eof"}"#)
    }
  }
}

extension RPC04.Request {
  public func encoded() -> String {
    var writer = JSONWriter()
    write(into: &writer)
    return writer.string
  }

  public func write(into writer: inout JSONWriter) {
    writer.appendASCII(#"{"_tag":"Request","id":"#)
    writer.writeString(id)
    writer.appendASCII(#","tag":"#)
    writer.writeString(tag)
    if isStream { writeTraceId(&writer) }
    writer.appendASCII(#","payload":"#)
    writer.write(payload)
    if !isStream { writeTraceId(&writer) }
    if let spanId {
      writer.appendASCII(#","spanId":"#)
      writer.writeString(spanId)
    }
    if let sampled { writer.appendASCII(sampled ? #","sampled":true"# : #","sampled":false"#) }
    writer.appendASCII(#","headers":["#)
    for (index, pair) in headers.enumerated() {
      if index > 0 { writer.appendASCII(",") }
      writer.write(.array(pair.map(JSONValue.string)))
    }
    writer.appendASCII("]}")
  }

  private func writeTraceId(_ writer: inout JSONWriter) {
    guard let traceId else { return }
    writer.appendASCII(#","traceId":"#)
    writer.writeString(traceId)
  }
}

extension RPC04.ServerMessage {
  public func encoded() -> String {
    var writer = JSONWriter()
    write(into: &writer)
    return writer.string
  }

  public func write(into writer: inout JSONWriter) {
    switch self {
    case .chunk(let requestId, let values):
      Self.writeChunk(requestId: requestId, into: &writer) { writer in
        for (index, value) in values.enumerated() {
          if index > 0 { writer.appendASCII(",") }
          writer.write(value)
        }
      }
    case .exit(let requestId, let exit):
      writer.appendASCII(#"{"_tag":"Exit","requestId":"#)
      writer.writeString(requestId)
      writer.appendASCII(#","exit":"#)
      exit.write(into: &writer)
      writer.appendASCII("}")
    case .defect(let defect):
      writer.appendASCII(#"{"_tag":"Defect","defect":"#)
      writer.write(defect)
      writer.appendASCII("}")
    case .pong:
      writer.appendASCII(#"{"_tag":"Pong"}"#)
    case .clientProtocolError(let message):
      writer.appendASCII(#"{"_tag":"ClientProtocolError","error":{"reason":"Protocol","message":"#)
      writer.writeString(message)
      writer.appendASCII(#","_tag":"RpcClientError"}}"#)
    }
  }

  /// The envelope of a `Chunk` around values written by `writeValues` (comma-separated):
  /// the one place a chunk frame is written, for `JSONValue`s and for pull pages alike.
  public static func writeChunk(requestId: String, into writer: inout JSONWriter,
                                values writeValues: (inout JSONWriter) -> Void) {
    writer.appendASCII(#"{"_tag":"Chunk","requestId":"#)
    writer.writeString(requestId)
    writer.appendASCII(#","values":["#)
    writeValues(&writer)
    writer.appendASCII("]}")
  }
}

extension RPC04.Exit {
  public func write(into writer: inout JSONWriter) {
    switch self {
    case .success(let value):
      writer.appendASCII(#"{"_tag":"Success""#)
      if let value {
        writer.appendASCII(#","value":"#)
        writer.write(value)
      }
      writer.appendASCII("}")
    case .failure(let cause):
      writer.appendASCII(#"{"_tag":"Failure","cause":"#)
      cause.write(into: &writer)
      writer.appendASCII("}")
    }
  }
}

extension RPC04.Cause {
  public func write(into writer: inout JSONWriter) {
    switch self {
    case .empty: writer.appendASCII(#"{"_tag":"Empty"}"#)
    case .fail(let error):
      writer.appendASCII(#"{"_tag":"Fail","error":"#)
      writer.write(error)
      writer.appendASCII("}")
    case .die(let defect):
      writer.appendASCII(#"{"_tag":"Die","defect":"#)
      writer.write(defect)
      writer.appendASCII("}")
    case .interrupt(let fiberId):
      writer.appendASCII(#"{"_tag":"Interrupt","fiberId":"#)
      fiberId.write(into: &writer)
      writer.appendASCII("}")
    case .sequential(let left, let right), .parallel(let left, let right):
      if case .sequential = self {
        writer.appendASCII(#"{"_tag":"Sequential","left":"#)
      } else {
        writer.appendASCII(#"{"_tag":"Parallel","left":"#)
      }
      left.write(into: &writer)
      writer.appendASCII(#","right":"#)
      right.write(into: &writer)
      writer.appendASCII("}")
    }
  }
}

extension RPC04.FiberId {
  public func write(into writer: inout JSONWriter) {
    switch self {
    case .none: writer.appendASCII(#"{"_tag":"None"}"#)
    case .runtime(let id, let start):
      writer.appendASCII(#"{"_tag":"Runtime","id":"#)
      writer.writeInteger(id)
      writer.appendASCII(#","startTimeMillis":"#)
      writer.writeInteger(start)
      writer.appendASCII("}")
    case .composite(let left, let right):
      writer.appendASCII(#"{"_tag":"Composite","left":"#)
      left.write(into: &writer)
      writer.appendASCII(#","right":"#)
      right.write(into: &writer)
      writer.appendASCII("}")
    }
  }
}

// MARK: - Decoding

/// A frame that is not a message of the protocol, with the text Effect's server would put
/// in its `Defect` answer.
public struct RPC04DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
  /// What `Defect.defect` carries: a string, or `{"name","message"}` for a JSON syntax error.
  public let defect: JSONValue
  public init(_ text: String) { defect = .string(text) }
  public init(defect: JSONValue) { self.defect = defect }
  public var description: String {
    if let text = defect.stringValue { return text }
    return defect["message"]?.stringValue ?? defect.compactText
  }
}

extension RPC04.ClientMessage {
  /// Decodes one client frame. Errors carry the `Defect` LiveStore's server answers with:
  /// a JSON syntax error, `Unknown request tag: <_tag>` (JavaScript's rendering of it,
  /// `undefined` when absent), `Invalid request id: <id>` for an id that is not a string.
  ///
  /// With `knownTags`, a Request for another RPC is refused before its id is looked at, as
  /// Effect's server does.
  public static func decode(_ text: String, knownTags: Set<String>? = nil) throws(RPC04DecodeError) -> RPC04.ClientMessage {
    let json: JSONValue
    do {
      json = try JSONParser.parse(text)
    } catch {
      throw RPC04DecodeError(defect: RPC04.errorDefect(name: "SyntaxError", message: "\(error)"))
    }
    return try decode(json, knownTags: knownTags)
  }

  public static func decode(_ json: JSONValue, knownTags: Set<String>? = nil) throws(RPC04DecodeError) -> RPC04.ClientMessage {
    let tag = json["_tag"]
    switch tag?.stringValue {
    case "Request":
      guard let rpcTag = json["tag"]?.stringValue else {
        throw RPC04DecodeError("Unknown request tag: \(RPC04.jsText(json["tag"]))")
      }
      if let knownTags, !knownTags.contains(rpcTag) { throw RPC04DecodeError("Unknown request tag: \(rpcTag)") }
      guard let id = json["id"]?.stringValue else { throw RPC04DecodeError("Invalid request id: \(RPC04.jsText(json["id"]))") }
      var headers: [[String]] = []
      if let raw = json["headers"] {
        guard let pairs = raw.arrayValue else { throw RPC04DecodeError("headers must be an array of [name, value] pairs") }
        for pair in pairs {
          guard let items = pair.arrayValue, items.count == 2, let name = items[0].stringValue, let value = items[1].stringValue
          else { throw RPC04DecodeError("headers must be an array of [name, value] pairs") }
          headers.append([name, value])
        }
      }
      let isStream: Bool
      if let object = json.objectValue, let traceIndex = object.keys.firstIndex(of: "traceId"),
        let payloadIndex = object.keys.firstIndex(of: "payload")
      {
        isStream = traceIndex < payloadIndex
      } else {
        isStream = SyncRPC04.isStream(tag: rpcTag)
      }
      return .request(RPC04.Request(id: id, tag: rpcTag, payload: json["payload"] ?? .null, headers: headers,
                                    traceId: json["traceId"]?.stringValue, spanId: json["spanId"]?.stringValue,
                                    sampled: { if case .bool(let b)? = json["sampled"] { return b }; return nil }(),
                                    isStream: isStream))
    case "Ack": return .ack(requestId: try requestIdField(json))
    case "Interrupt": return .interrupt(requestId: try requestIdField(json))
    case "Ping": return .ping
    case "Eof": return .eof
    default:
      throw RPC04DecodeError("Unknown request tag: \(RPC04.jsText(tag))")
    }
  }

  /// An Ack's or Interrupt's `requestId`: Effect reads it with `BigInt(…)`, which takes a
  /// string or a number, so both are accepted here (as a decimal string).
  private static func requestIdField(_ json: JSONValue) throws(RPC04DecodeError) -> String {
    switch json["requestId"] {
    case .string(let id)?: return id
    case .integer(let id)?: return String(id)
    default: throw RPC04DecodeError("Invalid request id: \(RPC04.jsText(json["requestId"]))")
    }
  }
}

extension RPC04.ServerMessage {
  public static func decode(_ text: String) throws -> RPC04.ServerMessage {
    try decode(try JSONParser.parse(text))
  }

  public static func decode(_ json: JSONValue) throws -> RPC04.ServerMessage {
    let fields = try JSONFields(json, what: "message")
    switch try fields.string("_tag") {
    case "Chunk": return .chunk(requestId: try fields.string("requestId"), values: try fields.array("values"))
    case "Exit": return .exit(requestId: try fields.string("requestId"), exit: try RPC04.Exit(json: try fields.required("exit")))
    case "Defect": return .defect(try fields.required("defect"))
    case "Pong": return .pong
    case "ClientProtocolError":
      let error = try JSONFields(try fields.required("error"), what: "error")
      return .clientProtocolError(message: try error.string("message"))
    case let other: throw SyncProtocolError("unknown message _tag \"\(other)\"")
    }
  }
}

extension RPC04.Exit {
  public init(json: JSONValue) throws {
    let fields = try JSONFields(json, what: "exit")
    switch try fields.string("_tag") {
    case "Success": self = .success(fields.raw("value"))
    case "Failure": self = .failure(try RPC04.Cause(json: try fields.required("cause")))
    case let other: throw SyncProtocolError("exit has an unknown _tag \"\(other)\"")
    }
  }
}

extension RPC04.Cause {
  public init(json: JSONValue) throws {
    let fields = try JSONFields(json, what: "cause")
    switch try fields.string("_tag") {
    case "Empty": self = .empty
    case "Fail": self = .fail(try fields.required("error"))
    case "Die": self = .die(try fields.required("defect"))
    case "Interrupt": self = .interrupt(try RPC04.FiberId(json: try fields.required("fiberId")))
    case "Sequential":
      self = .sequential(try RPC04.Cause(json: try fields.required("left")), try RPC04.Cause(json: try fields.required("right")))
    case "Parallel":
      self = .parallel(try RPC04.Cause(json: try fields.required("left")), try RPC04.Cause(json: try fields.required("right")))
    case let other: throw SyncProtocolError("cause has an unknown _tag \"\(other)\"")
    }
  }
}

extension RPC04.FiberId {
  public init(json: JSONValue) throws {
    let fields = try JSONFields(json, what: "fiberId")
    switch try fields.string("_tag") {
    case "None": self = .none
    case "Runtime": self = .runtime(id: try fields.integer("id"), startTimeMillis: try fields.integer("startTimeMillis"))
    case "Composite":
      self = .composite(try RPC04.FiberId(json: try fields.required("left")), try RPC04.FiberId(json: try fields.required("right")))
    case let other: throw SyncProtocolError("fiberId has an unknown _tag \"\(other)\"")
    }
  }
}

extension RPC04 {
  /// A value as JavaScript's template literal `${value}` renders it (Effect's defect texts
  /// are built that way): `undefined` for a missing key, arrays comma-joined, objects as
  /// `[object Object]`.
  static func jsText(_ value: JSONValue?) -> String {
    guard let value else { return "undefined" }
    switch value {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .integer, .number: return value.compactText
    case .string(let s): return s
    case .loneSurrogateString(let units): return String(decoding: units, as: UTF16.self)
    case .array(let items): return items.map { $0.isNull ? "" : jsText($0) }.joined(separator: ",")
    case .object: return "[object Object]"
    }
  }
}
