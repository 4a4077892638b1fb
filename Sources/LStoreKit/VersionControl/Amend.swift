/// Why `commit --amend` was refused.
public enum AmendError: Error, Equatable, Sendable, CustomStringConvertible {
  case noCommitAtHead(SeqNum)
  case pushed(String)

  public var description: String {
    switch self {
    case .noCommitAtHead(let head):
      return "nothing to amend: the head event \(head) belongs to no commit (only the last commit, when it ends at the head, can be amended)"
    case .pushed(let id):
      return "commit \(id.prefix(8)) has events the backend has confirmed; a pushed commit cannot be amended ('lstore revert' undoes it with new events)"
    }
  }
}

extension Replica {
  /// Replaces the last commit: its message (when given) and its events followed by
  /// `adding`. The old commit is kept in the reflog.
  public func amend(message: String?, adding inputs: [EventInput], time: String, identity: Identity) throws -> CommitResult {
    var prepared: [(EventDefinition, JSONValue)] = []
    for input in inputs { prepared.append(try validate(input, sessionId: identity.sessionId)) }
    return try connection.inTransaction {
      let head = try eventlog.head()
      guard let old = try eventlog.commit(containing: head), old.last == head else { throw AmendError.noCommitAtHead(head) }
      guard old.first.isPending(backendHead: try eventlog.backendHead()) else { throw AmendError.pushed(old.id) }
      let base = try eventlog.lastEvent(before: old.first) ?? .root
      var records: [EventRecord] = []
      var amended = old
      amended.id = Identifiers.commitID()
      amended.message = message ?? old.message
      try moveHead(to: base, note: HeadMoveNote(action: "commit (amend)", message: amended.message, time: time)) { appender in
        try eventlog.forEachSavedEvent(entry: appender.entryId) { record, _ in
          records.append(try appender.append(record).record)
        }
        for (definition, args) in prepared {
          let head = appender.head
          let record = EventRecord(
            seqNum: head.next(clientOnly: definition.clientOnly), parentSeqNum: head.parentForNext(clientOnly: definition.clientOnly),
            name: definition.name, argsJSON: args.compactText, clientId: identity.clientId, sessionId: identity.sessionId,
            schemaHash: definition.schemaHash)
          records.append(try appender.append(record).record)
        }
        amended.first = records.first?.seqNum ?? old.first
        amended.last = appender.head
        try appender.record(amended)
      }
      return CommitResult(commit: amended, events: records)
    }
  }
}
