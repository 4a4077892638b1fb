import Foundation
import LStoreSQLite

extension Replica {
  /// What a streamed commit appended (the events themselves are not kept in memory).
  public struct StreamedCommitResult: Sendable {
    public var commit: Commit?
    public var count: Int
    public var first: SeqNum
    public var last: SeqNum
  }

  /// The events a streamed commit read, for a default message.
  public struct StreamedCommitSummary: Sendable {
    public var count: Int
    public var firstName: String
    /// Whether every event has `firstName`.
    public var oneName: Bool
  }

  /// `commit(_:)` for inputs read one at a time: `next` returns the next event, or nil at the
  /// end. Each input is validated and then applied before the next one is read, all inside
  /// one transaction, so memory stays flat however many events there are, and a failure
  /// anywhere (the first invalid input, named by its origin, or an error of `next` itself)
  /// leaves the store as it was. `message` gets the summary once every input is read; nil
  /// means no commit row.
  public func commit(streaming next: () throws -> EventInput?,
                     message: (StreamedCommitSummary) -> String?,
                     author: Author, time: String, identity: Identity) throws -> StreamedCommitResult {
    try connection.transaction(.immediate) {
      let head = try eventlog.head()
      let stateHead = try stateHead()
      guard stateHead == head else { throw StoreError.stateBehind(state: stateHead, eventlog: head) }
      var current = head
      var first: SeqNum? = nil
      var summary = StreamedCommitSummary(count: 0, firstName: "", oneName: true)
      while let input = try next() {
        let (definition, args) = try validate(input, sessionId: identity.sessionId)
        let record = EventRecord(
          seqNum: current.next(clientOnly: definition.clientOnly),
          parentSeqNum: current.parentForNext(clientOnly: definition.clientOnly),
          name: definition.name, argsJSON: args.compactText, clientId: identity.clientId, sessionId: identity.sessionId,
          schemaHash: definition.schemaHash)
        try apply(record, definition: definition, args: args, pending: true)
        if first == nil {
          first = record.seqNum
          summary.firstName = input.name
        } else if summary.oneName && input.name != summary.firstName {
          summary.oneName = false
        }
        summary.count += 1
        current = record.seqNum
      }
      guard let first else { throw StoreError.empty("nothing to commit: no events given") }
      var commit: Commit? = nil
      if let text = message(summary) {
        let made = Commit(id: Identifiers.commitID(), first: first, last: current, message: text, author: author, time: time)
        try eventlog.insert(made)
        commit = made
      }
      try StateDatabase.writeHead(connection, head: current)
      try journalAppend(note: HeadMoveNote(action: "commit", message: commit?.message ?? "\(summary.count) events", time: time),
                        from: try eventlog.lastEvent(before: first) ?? .root, to: current)
      return StreamedCommitResult(commit: commit, count: summary.count, first: first, last: current)
    }
  }
}
