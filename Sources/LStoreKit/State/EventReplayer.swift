import LStoreSQLite

/// The one way an event already in an eventlog (or about to be appended to one) is applied
/// to a replica's state: definition lookup, args parse and normalize (one error mapping),
/// the materializer, the session changeset of a pending event, the eventlog row. Rolling
/// events back by their inverse changesets lives here too, so pull, rebase, reset, revert,
/// cherry-pick and amend all move a head the same way.
///
/// Must be used inside a transaction on the replica's connection.
public final class EventReplayer {
  /// Unowned: the replica owns its replayer.
  public unowned let replica: Replica
  private var definitions: [String: EventDefinition] = [:]

  /// The changeset and eventlog rows of a `bulk` run, written many to a statement.
  private var bulkRows: BulkRows?

  private struct BulkRows {
    var changesets: BatchedInsert<(SeqNum, [UInt8]?)>
    var events: BatchedInsert<EventRecord>

    func flush() throws {
      try changesets.flush()
      try events.flush()
    }
  }

  public init(replica: Replica) { self.replica = replica }

  /// Runs `body`, whose applies buffer their eventlog and changeset rows
  /// (`BatchedInsert`), and writes the rows before returning. For a run of appends (a
  /// commit, an import) that reads neither back until it ends; a roll-back inside it still
  /// sees every row, as it writes them first.
  public func bulk<T>(_ body: () throws -> T) throws -> T {
    precondition(bulkRows == nil, "EventReplayer.bulk inside bulk")
    let rows = BulkRows(changesets: StateDatabase.batchedChangesets(replica.connection, format: replica.eventlog.format),
                        events: replica.eventlog.batchedAppends())
    bulkRows = rows
    defer { bulkRows = nil }
    let result = try body()
    try rows.flush()
    return result
  }

  /// The schema's definition of `name`, or `ReplayError.unknownEvent`.
  public func definition(named name: String, at seqNum: SeqNum) throws -> EventDefinition {
    if let known = definitions[name] { return known }
    guard let definition = replica.schema.event(named: name) else {
      throw ReplayError.unknownEvent(seqNum: seqNum, name: name, schema: replica.schema.source)
    }
    definitions[name] = definition
    return definition
  }

  /// The event's stored args, parsed and normalized by its definition, or
  /// `ReplayError.invalidArgs`.
  public func normalizedArgs(of record: EventRecord, definition: EventDefinition) throws -> JSONValue {
    try Self.normalizedArgs(of: record, definition: definition)
  }

  /// The args rule itself, for code that replays without a replica (a scratch state).
  public static func normalizedArgs(of record: EventRecord, definition: EventDefinition) throws -> JSONValue {
    try normalizedArgs(parsing: { try JSONParser.parse(record.argsJSON) }, seqNum: record.seqNum, name: record.name,
                       argsJSON: record.argsJSON, definition: definition)
  }

  /// The rule on args parsed by `parse` (a bulk replay parses the row's bytes directly):
  /// null args are `{}`, then the definition normalizes them; any failure is `invalidArgs`.
  static func normalizedArgs(parsing parse: () throws -> JSONValue, seqNum: SeqNum, name: String,
                             argsJSON: @autoclosure () -> String, definition: EventDefinition) throws -> JSONValue {
    do {
      let parsed = try parse()
      return try definition.args.normalize(parsed.isNull ? .object(JSONObject()) : parsed)
    } catch {
      throw ReplayError.invalidArgs(seqNum: seqNum, name: name, argsJSON: argsJSON(), reason: "\(error)")
    }
  }

  /// Materializes `record` and appends it. A pending event gets its changeset recorded
  /// (and returned); a confirmed one does not, as LiveStore keeps none for those.
  @discardableResult
  public func apply(_ record: EventRecord, pending: Bool) throws -> [UInt8]? {
    let definition = try definition(named: record.name, at: record.seqNum)
    let args = try normalizedArgs(of: record, definition: definition)
    return try apply(record, definition: definition, args: args, pending: pending)
  }

  /// As `apply(_:pending:)`, for a caller that has already validated the args.
  @discardableResult
  public func apply(_ record: EventRecord, definition: EventDefinition, args: JSONValue, pending: Bool) throws -> [UInt8]? {
    let context = EventContext(seqNum: record.seqNum, name: record.name, clientId: record.clientId,
                               sessionId: record.sessionId)
    let changeset = try replica.engine.apply(definition, args: args, context: context, argsJSON: record.argsJSON,
                                             recordChangeset: pending)
    if let bulkRows {
      if pending { try bulkRows.changesets.add((record.seqNum, changeset)) }
      try bulkRows.events.add(record)
    } else {
      if pending { try StateDatabase.insertChangeset(replica.connection, seqNum: record.seqNum, changeset: changeset, format: replica.eventlog.format) }
      try replica.eventlog.append(record)
    }
    return changeset
  }

  // MARK: - Rolling back

  /// Undoes the effect of every event after `base` on state (newest first, by their
  /// inverse changesets) and removes them and their changesets. Returns how many events
  /// were removed. When an event kept no changeset, or a table has no primary key (the
  /// session extension records nothing for it), the state is rebuilt from the remaining
  /// eventlog instead, which is slower but gives the same rows.
  @discardableResult
  public func rollBack(after base: SeqNum) throws -> Int {
    try bulkRows?.flush()
    let connection = replica.connection
    let removed = try replica.eventlog.count(after: base)
    guard removed > 0 else { return 0 }
    let kept = try connection.cached(
      "SELECT count(*) FROM main.__livestore_session_changeset WHERE (seqNumGlobal, seqNumClient) > (?, ?)")
      .first([.integer(base.global), .integer(base.client)]) { Int($0.int64(0)) } ?? 0
    let rebuild = kept < removed || replica.schema.tables.contains { !$0.hasPrimaryKey }
    if !rebuild { try undoChangesets(after: base) }
    try connection.cached("DELETE FROM main.__livestore_session_changeset WHERE (seqNumGlobal, seqNumClient) > (?, ?)")
      .execute([.integer(base.global), .integer(base.client)])
    try connection.cached("DELETE FROM log.eventlog WHERE (seqNumGlobal, seqNumClient) > (?, ?)")
      .execute([.integer(base.global), .integer(base.client)])
    if rebuild { try rematerializeInPlace() }
    return removed
  }

  /// How many inverse changesets one apply combines: applying compiles each table's
  /// statements once per call, which cost more than the rows of a small event; a bound
  /// keeps the combined changeset's memory flat however many events are undone.
  static let undoBatch = 2_000

  /// Applies the inverse changesets of the events after `base`, newest first, combined in
  /// batches (a row changed by several events is undone once, to its oldest value). A
  /// batch that does not apply whole (a unique index between rows the net change reorders)
  /// is undone one changeset at a time, which names the event that cannot be rolled back.
  private func undoChangesets(after base: SeqNum) throws {
    let connection = replica.connection
    let changesets = try connection.prepare(
      "SELECT seqNumGlobal, seqNumClient, changeset FROM main.__livestore_session_changeset WHERE (seqNumGlobal, seqNumClient) > (?, ?) ORDER BY seqNumGlobal DESC, seqNumClient DESC")
    var batch: [(SeqNum, [UInt8])] = []
    func flush() throws {
      defer { batch.removeAll(keepingCapacity: true) }
      if batch.count > 1 {
        let group = try ChangesetGroup()
        for (_, inverse) in batch { try group.add(inverse) }
        // A failed apply rolls itself back, so the batch can be retried event by event.
        if (try? Changeset.apply(try group.changeset(), to: connection)) != nil { return }
      }
      for (seqNum, inverse) in batch {
        do {
          try Changeset.apply(inverse, to: connection)
        } catch let error as SQLiteError {
          throw SyncError.cannotRollBack(seqNum, error.message)
        }
      }
    }
    try changesets.forEachRow([.integer(base.global), .integer(base.client)]) { row in
      guard let changeset = row.blob(2), !changeset.isEmpty else { return }
      batch.append((SeqNum(global: row.int64(0), client: row.int64(1)), try Changeset.invert(changeset)))
      if batch.count >= Self.undoBatch { try flush() }
    }
    try flush()
  }

  /// Rebuilds every user table from the eventlog inside the current transaction, recording
  /// changesets for pending events.
  public func rematerializeInPlace() throws {
    try bulkRows?.flush()
    let connection = replica.connection
    for table in replica.schema.tables { try connection.execute("DELETE FROM main.\(table.name.quotedIdentifier)") }
    try connection.execute("DELETE FROM main.__livestore_session_changeset")
    let backendHead = try replica.eventlog.backendHead()
    try replica.eventlog.forEach { row in
      let record = row.record
      let definition = try definition(named: record.name, at: record.seqNum)
      let args = try normalizedArgs(of: record, definition: definition)
      let pending = record.seqNum.isPending(backendHead: backendHead)
      let context = EventContext(seqNum: record.seqNum, name: record.name, clientId: record.clientId,
                                 sessionId: record.sessionId)
      let changeset = try replica.engine.apply(definition, args: args, context: context, argsJSON: record.argsJSON,
                                               recordChangeset: pending)
      if pending { try StateDatabase.insertChangeset(connection, seqNum: record.seqNum, changeset: changeset, format: replica.eventlog.format) }
      return true
    }
  }
}

extension EventRecord {
  /// This event moved to follow `head` by LiveStore's renumbering rules: a synced event
  /// becomes `head+1`, a client-only one `(g, c+1)`; its parent is the previous synced
  /// event (or the previous event, for client-only ones). A moved event is pending again,
  /// so its sync metadata is cleared unless its number did not change. The moved event
  /// gets `rebaseGeneration` when given (a rebase), the head's otherwise; its parent keeps
  /// the generation of the event it points to (LiveStore's `nextPair`).
  public func renumbered(after head: SeqNum, rebaseGeneration: Int64? = nil) -> EventRecord {
    let clientOnly = seqNum.isClientOnly
    var moved = self
    moved.seqNum = head.next(clientOnly: clientOnly, rebaseGeneration: rebaseGeneration)
    moved.parentSeqNum = head.parentForNext(clientOnly: clientOnly)
    if moved.seqNum != seqNum || moved.parentSeqNum != parentSeqNum { moved.syncMetadataJSON = EventRecord.noSyncMetadata }
    return moved
  }
}
