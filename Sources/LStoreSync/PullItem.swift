import LStoreKit

/// One entry of a `WSMessage.PullRes` batch: the event plus the backend's sync metadata.
public struct PullItem: Equatable, Sendable {
  public var event: WireEvent
  /// The value of the Effect `Option` in `metadata`: `nil` encodes as `{"_tag":"None"}`,
  /// anything else as `{"_tag":"Some","value":…}`. lstore's backend (like LiveStore's
  /// Cloudflare backend) puts `{"createdAt":"<ISO time>"}` there.
  public var metadata: JSONValue?

  public init(event: WireEvent, metadata: JSONValue?) {
    self.event = event
    self.metadata = metadata
  }

  public init(event: WireEvent, createdAt: String) {
    self.init(event: event, metadata: ["createdAt": .string(createdAt)])
  }

  /// The time the backend accepted the event, when the metadata carries one.
  public var createdAt: String? { metadata?["createdAt"]?.stringValue }

  public var jsonValue: JSONValue {
    var writer = JSONWriter()
    write(into: &writer)
    // Round-trips through text so key order is exactly what `write` produces.
    return (try? JSONParser.parse(writer.bytes)) ?? .null
  }

  public func write(into writer: inout JSONWriter) {
    writer.appendASCII("{\"eventEncoded\":")
    event.write(into: &writer)
    writer.appendASCII(",\"metadata\":")
    if let metadata {
      writer.appendASCII("{\"_tag\":\"Some\",\"value\":")
      writer.write(metadata)
      writer.appendASCII("}")
    } else {
      writer.appendASCII("{\"_tag\":\"None\"}")
    }
    writer.appendASCII("}")
  }

  public init(json: JSONValue) throws {
    let object = try JSONFields(json, what: "batch item")
    self.event = try WireEvent(json: try object.required("eventEncoded"))
    guard let option = object.raw("metadata") else {
      self.metadata = nil
      return
    }
    let fields = try JSONFields(option, what: "metadata")
    switch try fields.string("_tag") {
    case "None": self.metadata = nil
    case "Some": self.metadata = try fields.required("value")
    case let other: throw SyncProtocolError("metadata has an unknown _tag \"\(other)\"")
    }
  }
}

extension PullItem {
  /// The item as the sync client works with it (LStoreKit's transport-neutral form).
  public var remoteEvent: RemoteEvent {
    RemoteEvent(seqNum: event.seqNum, parentSeqNum: event.parentSeqNum, name: event.name, args: event.args,
                clientId: event.clientId, sessionId: event.sessionId, metadata: metadata)
  }
}
