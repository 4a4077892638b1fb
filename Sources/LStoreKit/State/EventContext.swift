/// The event being applied, as a materializer sees it.
public struct EventContext {
  public var seqNum: SeqNum
  public var name: String
  public var clientId: String
  public var sessionId: String

  public init(seqNum: SeqNum, name: String, clientId: String, sessionId: String) {
    self.seqNum = seqNum
    self.name = name
    self.clientId = clientId
    self.sessionId = sessionId
  }
}
