/// A materializer failed for an event. Nothing of the event (or of its commit) was kept.
public struct MaterializeError: Error, Sendable, CustomStringConvertible {
  public var seqNum: SeqNum?
  public var eventName: String
  public var argsJSON: String
  public var statement: String?
  public var reason: String

  public var description: String {
    var text = "materializer of \(seqNum.map { "\($0) " } ?? "")\(eventName) \(argsJSON) failed: \(reason)"
    if let statement { text += " (in: \(statement))" }
    return text
  }
}
