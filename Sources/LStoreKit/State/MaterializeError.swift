/// A materializer failed for an event. Nothing of the event (or of its commit) was kept.
public struct MaterializeError: Error, Sendable, CustomStringConvertible {
  public var seqNum: SeqNum?
  public var eventName: String
  public var argsJSON: String
  public var statement: String?
  public var reason: String
  /// Set when the event was already in the eventlog and the state was being rebuilt from
  /// it (a schema change, `materialize`): no command gets past it until the schema can
  /// replay the history, so the message says how to get out.
  public var replayingHistory = false

  public init(seqNum: SeqNum?, eventName: String, argsJSON: String, statement: String?, reason: String) {
    self.seqNum = seqNum
    self.eventName = eventName
    self.argsJSON = argsJSON
    self.statement = statement
    self.reason = reason
  }

  public var description: String {
    var text = "materializer of \(seqNum.map { "\($0) " } ?? "")\(eventName) \(argsJSON) failed: \(reason)"
    if let statement { text += " (in: \(statement))" }
    if replayingHistory {
      text += "; the schema cannot rebuild the state from this branch's eventlog: fix its tables or this"
        + " materializer, or set another schema with 'lstore config schema <file>'"
        + " ('lstore replay --schema <file>' tries one without changing anything)"
    }
    return text
  }
}
