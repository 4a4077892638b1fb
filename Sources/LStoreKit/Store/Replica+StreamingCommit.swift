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
  /// end. Each input is validated and then applied, all inside one transaction, so memory
  /// stays flat however many events there are, and a failure anywhere (the first invalid
  /// input, named by its origin, or an error of `next` itself) leaves the store as it was.
  /// `next` and the validation run on a thread of their own, a bounded queue ahead of the
  /// writes (`BackgroundProducer`): `next` must not share state with the caller's thread
  /// while the commit runs. `progress` is called on the caller's thread as events are
  /// applied (their total is not known). `message` gets the summary once every input is
  /// read; nil means no commit row.
  public func commit(streaming next: @escaping () throws -> EventInput?, progress: ProgressHandler? = nil,
                     message: (StreamedCommitSummary) -> String?,
                     author: Author, time: String, identity: Identity) throws -> StreamedCommitResult {
    try connection.transaction(.immediate) {
      let head = try eventlog.head()
      let stateHead = try stateHead()
      guard stateHead == head else { throw StoreError.stateBehind(state: stateHead, eventlog: head) }
      var current = head
      var first: SeqNum? = nil
      var summary = StreamedCommitSummary(count: 0, firstName: "", oneName: true)
      let schema = schema
      // The writer looks each definition up by its position: passing the definition itself
      // retained its name, args type and statements on both threads for every event.
      let definitions = schema.events
      let reading = BackgroundProducer<ValidatedInput> { sink in
        while let input = try next() {
          let (definition, args) = try Replica.validate(input, schema: schema, sessionId: identity.sessionId)
          let argsJSON = args.compactText
          try sink.emit(ValidatedInput(ordinal: definition.ordinal, args: args, argsJSON: argsJSON),
                        bytes: argsJSON.utf8.count)
        }
      }
      reading.start()
      defer { reading.cancel() }
      // Nothing reads a changeset until every input is in: the rows are written many at once.
      try replayer.bulk {
        var firstOrdinal = -1
        while let batch = try reading.next() {
          for input in batch {
            let definition = definitions[input.ordinal]
            let record = EventRecord(
              seqNum: current.next(clientOnly: definition.clientOnly),
              parentSeqNum: current.parentForNext(clientOnly: definition.clientOnly),
              name: definition.name, argsJSON: input.argsJSON, clientId: identity.clientId, sessionId: identity.sessionId,
              schemaHash: definition.schemaHash)
            try apply(record, definition: definition, args: input.args, pending: true)
            if first == nil {
              first = record.seqNum
              summary.firstName = definition.name
              firstOrdinal = input.ordinal
            } else if input.ordinal != firstOrdinal {
              summary.oneName = false
            }
            summary.count += 1
            current = record.seqNum
            if let progress, summary.count % 1_000 == 0 { progress(Progress(done: summary.count, total: nil, label: "committing")) }
          }
        }
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

  /// An input checked against the schema: its definition's position in the schema's
  /// events, its normalized args and their stored text. A class: the writing thread then
  /// reads its fields without retaining each of them (objects the reading thread made,
  /// whose reference counts would move between cores).
  private final class ValidatedInput {
    let ordinal: Int
    let args: JSONValue
    let argsJSON: String

    init(ordinal: Int, args: JSONValue, argsJSON: String) {
      self.ordinal = ordinal
      self.args = args
      self.argsJSON = argsJSON
    }
  }
}
