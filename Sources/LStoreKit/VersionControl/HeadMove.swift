import LStoreSQLite

/// What a head move is, for its reflog entry.
public struct HeadMoveNote: Sendable {
  public var action: String
  public var message: String
  public var time: String
  public init(action: String, message: String, time: String) {
    self.action = action
    self.message = message
    self.time = time
  }
}

/// Appends events after the head during a head move: renumbers each after the current
/// head by LiveStore's rules, applies it as a pending event, and records commits.
public final class HeadAppender {
  let replica: Replica
  /// The reflog entry of the move, which holds the events it removed.
  public let entryId: Int64
  public private(set) var head: SeqNum
  public private(set) var appended = 0
  /// Set by a rebase: the rebase generation every event it renumbers gets (LiveStore's
  /// `rebaseEvents`: the new base's generation + 1). Nil for every other move: an appended
  /// event keeps the generation of the head it follows (LiveStore's `nextPair`).
  public var rebaseGeneration: Int64?

  init(replica: Replica, head: SeqNum, entryId: Int64) {
    self.replica = replica
    self.head = head
    self.entryId = entryId
  }

  /// Appends `record` after the head (renumbered) and returns the event as appended, with
  /// the changeset it recorded.
  @discardableResult
  public func append(_ record: EventRecord) throws -> (record: EventRecord, changeset: [UInt8]?) {
    let moved = record.renumbered(after: head, rebaseGeneration: rebaseGeneration)
    let changeset = try replica.replayer.apply(moved, pending: true)
    head = moved.seqNum
    appended += 1
    return (moved, changeset)
  }

  /// Appends `record` exactly as it is, when it already carries the next number (events
  /// copied from another branch's history keep their numbers and sync metadata).
  @discardableResult
  public func appendVerbatim(_ record: EventRecord, pending: Bool) throws -> [UInt8]? {
    guard record.seqNum == head.next(clientOnly: record.seqNum.isClientOnly) else { return try append(record).changeset }
    let changeset = try replica.replayer.apply(record, pending: pending)
    head = record.seqNum
    appended += 1
    return changeset
  }

  /// Records a commit over appended events. A commit whose id is already in use (the kept
  /// part of a commit that a reset cut) is widened instead.
  public func record(_ commit: Commit) throws {
    guard commit.first <= commit.last else { return }
    try replica.connection.cached("""
      INSERT INTO log.lstore_commit (\(Eventlog.commitColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET
        firstGlobal = min(firstGlobal, excluded.firstGlobal),
        firstClient = CASE WHEN (excluded.firstGlobal, excluded.firstClient) < (firstGlobal, firstClient) THEN excluded.firstClient ELSE firstClient END,
        lastGlobal = excluded.lastGlobal, lastClient = excluded.lastClient,
        message = excluded.message
      """).execute([
        .text(commit.id), .integer(commit.first.global), .integer(commit.first.client),
        .integer(commit.last.global), .integer(commit.last.client), .text(commit.message),
        .text(commit.author.name), .text(commit.author.email), .text(commit.time),
      ])
  }
}

/// Why a head move was refused.
public enum HeadMoveError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The move would remove events the backend has confirmed.
  case wouldDropConfirmed(base: SeqNum, backendHead: Int64, count: Int)

  public var description: String {
    switch self {
    case .wouldDropConfirmed(let base, let backendHead, let count):
      return "that would remove \(count) event\(count == 1 ? "" : "s") after \(base) that the backend has confirmed (through e\(backendHead)); confirmed events stay in history: use 'lstore revert' to undo their effect with new events"
    }
  }
}

extension Replica {
  /// The result of a head move.
  public struct MoveResult: Sendable {
    public var entry: ReflogEntry
    public var removed: Int
    public var appended: Int
  }

  /// Moves the branch head: keeps the events through `base`, saves the ones after it in a
  /// new reflog entry and rolls them back, then lets `body` append new events. Runs in the
  /// caller's transaction when there is one, in its own otherwise.
  ///
  /// Refuses to remove events the backend has confirmed unless `allowConfirmed` (only an
  /// abort of a stopped pull, which restores the backend head with them).
  @discardableResult
  public func moveHead(to base: SeqNum, note: HeadMoveNote, allowConfirmed: Bool = false,
                       restoreBackendHead: Int64? = nil,
                       _ body: (HeadAppender) throws -> Void = { _ in }) throws -> MoveResult {
    let run = { () throws -> MoveResult in
      let oldHead = try self.eventlog.head()
      let stateHead = try self.stateHead()
      guard stateHead == oldHead else { throw StoreError.stateBehind(state: stateHead, eventlog: oldHead) }
      let oldBackendHead = try self.eventlog.backendHead()
      let base = min(base, oldHead)
      let removed = try self.eventlog.count(after: base)
      if removed > 0, !allowConfirmed, !(base >= SeqNum.confirmedBoundary(backendHead: oldBackendHead)) {
        let confirmed = try self.eventlog.count(after: base, through: SeqNum.confirmedBoundary(backendHead: oldBackendHead))
        throw HeadMoveError.wouldDropConfirmed(base: base, backendHead: oldBackendHead, count: confirmed)
      }
      let entryId = try self.openReflogEntry(note: note, base: base, oldHead: oldHead, oldBackendHead: oldBackendHead)
      if removed > 0 {
        try self.saveEvents(after: base, entry: entryId)
        try self.cutCommits(after: base)
        try self.replayer.rollBack(after: base)
      }
      if let restoreBackendHead {
        try self.eventlog.setBackendHead(restoreBackendHead)
        // Commit records received for the removed events come again with the next pull
        // (receiving is idempotent).
        if self.eventlog.hasLStoreRecords {
          try self.connection.cached("DELETE FROM log.lstore_meta WHERE key = ?").execute([.text(CommitRecordSync.headKey)])
        }
      }
      let appender = HeadAppender(replica: self, head: try self.eventlog.head(), entryId: entryId)
      try body(appender)
      let newHead = try self.eventlog.head()
      let newBackendHead = try self.eventlog.backendHead()
      try StateDatabase.writeHead(self.connection, head: newHead)
      try self.connection.cached("""
        UPDATE log.lstore_reflog SET newHeadGlobal = ?, newHeadClient = ?, newBackendHead = ?, removed = ? WHERE id = ?
        """).execute([.integer(newHead.global), .integer(newHead.client), .integer(newBackendHead), .integer(Int64(removed)),
                      .integer(entryId)])
      let entry = try self.eventlog.reflogEntry(id: entryId)!
      return MoveResult(entry: entry, removed: removed, appended: appender.appended)
    }
    if connection.isInTransaction { return try connection.savepoint("head_move", run) }
    return try connection.transaction(.immediate, run)
  }

  func journalAppend(note: HeadMoveNote, from oldHead: SeqNum, to newHead: SeqNum) throws {
    try eventlog.journalAppend(note: note, from: oldHead, to: newHead)
  }

  func openReflogEntry(note: HeadMoveNote, base: SeqNum, oldHead: SeqNum, oldBackendHead: Int64) throws -> Int64 {
    try eventlog.openReflogEntry(note: note, base: base, oldHead: oldHead, oldBackendHead: oldBackendHead)
  }

  /// Copies the events after `base` (with their changesets) and the commits that hold any
  /// of them into the reflog entry.
  func saveEvents(after base: SeqNum, entry: Int64) throws {
    let generations = eventlog.format.hasRebaseGenerations
    try connection.cached("""
      INSERT INTO log.lstore_reflog_event (entry, seqNumGlobal, seqNumClient, parentSeqNumGlobal, parentSeqNumClient,
        name, argsJson, clientId, sessionId, schemaHash, syncMetadataJson, changeset\(generations ? ", seqNumRebaseGeneration, parentSeqNumRebaseGeneration" : ""))
      SELECT ?, e.seqNumGlobal, e.seqNumClient, e.parentSeqNumGlobal, e.parentSeqNumClient, e.name, e.argsJson,
             e.clientId, e.sessionId, e.schemaHash, e.syncMetadataJson, c.changeset\(generations ? ", e.seqNumRebaseGeneration, e.parentSeqNumRebaseGeneration" : "")
      FROM log.eventlog e LEFT JOIN main.__livestore_session_changeset c
        ON c.seqNumGlobal = e.seqNumGlobal AND c.seqNumClient = e.seqNumClient
      WHERE (e.seqNumGlobal, e.seqNumClient) > (?, ?)
      """).execute([.integer(entry), .integer(base.global), .integer(base.client)])
    guard eventlog.hasLStoreRecords else { return }
    try connection.cached("""
      INSERT INTO log.lstore_reflog_commit
      SELECT ?, \(Eventlog.commitColumns) FROM log.lstore_commit WHERE (lastGlobal, lastClient) > (?, ?)
      """).execute([.integer(entry), .integer(base.global), .integer(base.client)])
  }

  /// Removes the commit records of events after `base`; a commit that started at or
  /// before it keeps its first part.
  func cutCommits(after base: SeqNum) throws {
    guard eventlog.hasLStoreRecords else { return }
    try connection.cached("DELETE FROM log.lstore_commit WHERE (firstGlobal, firstClient) > (?, ?)")
      .execute([.integer(base.global), .integer(base.client)])
    if let lastKept = try eventlog.lastEvent(before: base.next(clientOnly: true)) {
      try connection.cached("UPDATE log.lstore_commit SET lastGlobal = ?, lastClient = ? WHERE (lastGlobal, lastClient) > (?, ?)")
        .execute([.integer(lastKept.global), .integer(lastKept.client), .integer(base.global), .integer(base.client)])
    }
  }
}

/// The journal itself, on an eventlog attached as `log` (a replica's, or one opened alone by
/// `journal(eventlogPath:note:)`).
extension Eventlog {
  /// Journals an append-only head move (a commit, an import) that removed nothing.
  func journalAppend(note: HeadMoveNote, from oldHead: SeqNum, to newHead: SeqNum) throws {
    let backendHead = try backendHead()
    let id = try openReflogEntry(note: note, base: oldHead, oldHead: oldHead, oldBackendHead: backendHead)
    try connection.cached("UPDATE log.lstore_reflog SET newHeadGlobal = ?, newHeadClient = ? WHERE id = ?")
      .execute([.integer(newHead.global), .integer(newHead.client), .integer(id)])
  }

  /// Starts a reflog entry (creating the reflog tables on first use); the move fills in
  /// the new head when it is done.
  func openReflogEntry(note: HeadMoveNote, base: SeqNum, oldHead: SeqNum, oldBackendHead: Int64) throws -> Int64 {
    // Checked each time: a transaction that created the tables may have been rolled back.
    if !hasReflog {
      for statement in Reflog.ddl { try connection.execute(statement) }
    }
    try connection.cached("""
      INSERT INTO log.lstore_reflog (action, message, time, baseGlobal, baseClient, oldHeadGlobal, oldHeadClient,
        newHeadGlobal, newHeadClient, oldBackendHead, newBackendHead, removed)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
      """).execute([
        .text(note.action), .text(note.message), .text(note.time), .integer(base.global), .integer(base.client),
        .integer(oldHead.global), .integer(oldHead.client), .integer(oldHead.global), .integer(oldHead.client),
        .integer(oldBackendHead), .integer(oldBackendHead),
      ])
    // The entry just inserted (last_insert_rowid() is refused by the materializer sandbox).
    return try connection.cached("SELECT max(id) FROM log.lstore_reflog").first { $0.int64(0) } ?? 0
  }

  /// Journals a head move that changed no event (a branch created or switched to) in the
  /// branch eventlog at `path`.
  static func journal(eventlogPath path: String, note: HeadMoveNote) throws {
    let connection = try Connection(path: ":memory:", mode: .create)
    try connection.attach(path: path, as: "log")
    let eventlog = Eventlog(connection: connection, schemaName: "log")
    try connection.transaction(.immediate) {
      let head = try eventlog.head()
      try eventlog.journalAppend(note: note, from: head, to: head)
    }
  }
}
