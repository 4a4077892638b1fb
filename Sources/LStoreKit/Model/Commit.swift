/// A commit: an ordered group of consecutive events with a message, applied atomically.
/// Commits are lstore's own records; LiveStore does not know them.
public struct Commit: Equatable, Sendable {
  public var id: String
  public var first: SeqNum
  public var last: SeqNum
  public var message: String
  public var author: Author
  /// ISO-8601 UTC with milliseconds, like JavaScript's `toISOString`.
  public var time: String

  public init(id: String, first: SeqNum, last: SeqNum, message: String, author: Author, time: String) {
    self.id = id
    self.first = first
    self.last = last
    self.message = message
    self.author = author
    self.time = time
  }

  public func contains(_ seqNum: SeqNum) -> Bool { first <= seqNum && seqNum <= last }
}

public struct Author: Equatable, Sendable, CustomStringConvertible {
  public var name: String
  public var email: String

  public init(name: String, email: String) {
    self.name = name
    self.email = email
  }

  public var description: String { email.isEmpty ? name : "\(name) <\(email)>" }
}
