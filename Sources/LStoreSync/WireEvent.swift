import LStoreKit

/// One event as it travels between a client and the sync backend: LiveStore's
/// `LiveStoreEvent.AnyEncodedGlobal`.
///
/// Encoded with the keys in LiveStore's declaration order
/// (`name, args, seqNum, parentSeqNum, clientId, sessionId`), decoded in any order.
public struct WireEvent: Equatable, Sendable {
  public var name: String
  /// The encoded args. `nil` means the key is absent (JavaScript's `undefined`), which is
  /// not the same as an explicit JSON `null`; both are kept as they came.
  public var args: JSONValue?
  public var seqNum: Int64
  public var parentSeqNum: Int64
  public var clientId: String
  public var sessionId: String

  public init(name: String, args: JSONValue?, seqNum: Int64, parentSeqNum: Int64, clientId: String, sessionId: String) {
    self.name = name
    self.args = args
    self.seqNum = seqNum
    self.parentSeqNum = parentSeqNum
    self.clientId = clientId
    self.sessionId = sessionId
  }

  public var jsonValue: JSONValue {
    var object = JSONObject()
    object["name"] = .string(name)
    if let args { object["args"] = args }
    object["seqNum"] = .integer(seqNum)
    object["parentSeqNum"] = .integer(parentSeqNum)
    object["clientId"] = .string(clientId)
    object["sessionId"] = .string(sessionId)
    return .object(object)
  }

  /// Writes the event without building an intermediate `JSONValue` (pull pages are hot).
  public func write(into writer: inout JSONWriter) {
    writer.appendASCII("{\"name\":")
    writer.writeString(name)
    if let args {
      writer.appendASCII(",\"args\":")
      writer.write(args)
    }
    writer.appendASCII(",\"seqNum\":")
    writer.writeInteger(seqNum)
    writer.appendASCII(",\"parentSeqNum\":")
    writer.writeInteger(parentSeqNum)
    writer.appendASCII(",\"clientId\":")
    writer.writeString(clientId)
    writer.appendASCII(",\"sessionId\":")
    writer.writeString(sessionId)
    writer.appendASCII("}")
  }

  public init(json: JSONValue) throws {
    let object = try JSONFields(json, what: "event")
    self.name = try object.string("name")
    self.args = object.raw("args")
    self.seqNum = try object.integer("seqNum")
    self.parentSeqNum = try object.integer("parentSeqNum")
    self.clientId = try object.string("clientId")
    self.sessionId = try object.string("sessionId")
  }
}
