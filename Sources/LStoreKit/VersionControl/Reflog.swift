import LStoreSQLite

/// The reflog: every move of a branch's head, journaled in the branch's eventlog file
/// (`lstore_reflog*` tables, beside LiveStore's and never inside them), in the same
/// transaction as the move.
///
/// Every head move has one shape: keep the events through `base`, remove the ones after it,
/// append new ones. The removed events are saved with the entry (rows, session changesets
/// and commit records), so any earlier head can be rebuilt: undoing entry k truncates the
/// eventlog to its base and appends what it saved. Nothing else is copied, so an entry
/// costs what it removed, and a plain commit costs one row.
public struct ReflogEntry: Equatable, Sendable {
  public var id: Int64
  /// What moved the head: `commit`, `commit (amend)`, `reset`, `rebase (start)`, `pull`…
  public var action: String
  public var message: String
  public var time: String
  public var base: SeqNum
  public var oldHead: SeqNum
  public var newHead: SeqNum
  public var oldBackendHead: Int64
  public var newBackendHead: Int64
  /// How many events the move removed (and saved with the entry).
  public var removed: Int
}

public enum Reflog {
  static let ddl = [
    """
    CREATE TABLE IF NOT EXISTS log.lstore_reflog (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      action TEXT NOT NULL, message TEXT NOT NULL, time TEXT NOT NULL,
      baseGlobal INTEGER NOT NULL, baseClient INTEGER NOT NULL,
      oldHeadGlobal INTEGER NOT NULL, oldHeadClient INTEGER NOT NULL,
      newHeadGlobal INTEGER NOT NULL, newHeadClient INTEGER NOT NULL,
      oldBackendHead INTEGER NOT NULL, newBackendHead INTEGER NOT NULL,
      removed INTEGER NOT NULL
    ) STRICT
    """,
    """
    CREATE TABLE IF NOT EXISTS log.lstore_reflog_event (
      entry INTEGER NOT NULL,
      seqNumGlobal INTEGER NOT NULL, seqNumClient INTEGER NOT NULL,
      parentSeqNumGlobal INTEGER NOT NULL, parentSeqNumClient INTEGER NOT NULL,
      name TEXT NOT NULL, argsJson TEXT NOT NULL, clientId TEXT NOT NULL, sessionId TEXT NOT NULL,
      schemaHash INTEGER NOT NULL, syncMetadataJson TEXT NOT NULL, changeset BLOB,
      \(Reflog.generationColumns),
      PRIMARY KEY (entry, seqNumGlobal, seqNumClient)
    ) STRICT, WITHOUT ROWID
    """,
    """
    CREATE TABLE IF NOT EXISTS log.lstore_reflog_commit (
      entry INTEGER NOT NULL, id TEXT NOT NULL,
      firstGlobal INTEGER NOT NULL, firstClient INTEGER NOT NULL,
      lastGlobal INTEGER NOT NULL, lastClient INTEGER NOT NULL,
      message TEXT NOT NULL, authorName TEXT NOT NULL, authorEmail TEXT NOT NULL, time TEXT NOT NULL,
      PRIMARY KEY (entry, id)
    ) STRICT
    """,
  ]

  /// A saved event's rebase generations (format 6), 0 on format 4, which never reads
  /// them: a store converted to format 6 adds them to an older table (`Convert`).
  static let generationColumns = "seqNumRebaseGeneration INTEGER NOT NULL DEFAULT 0, parentSeqNumRebaseGeneration INTEGER NOT NULL DEFAULT 0"

  /// What reads of saved events select: the eventlog's columns, format 6's generations
  /// after them (where `EventRow` reads them), then the changeset.
  static func savedColumns(_ format: StorageFormat) -> (columns: String, changeset: Int32) {
    format.hasRebaseGenerations
      ? (Eventlog.columns + ", seqNumRebaseGeneration, parentSeqNumRebaseGeneration, changeset", 12)
      : (Eventlog.columns + ", changeset", 10)
  }

  static let entryColumns = "id, action, message, time, baseGlobal, baseClient, oldHeadGlobal, oldHeadClient, newHeadGlobal, newHeadClient, oldBackendHead, newBackendHead, removed"

  static func readEntry(_ s: Statement) -> ReflogEntry {
    ReflogEntry(id: s.int64(0), action: s.string(1), message: s.string(2), time: s.string(3),
                base: SeqNum(global: s.int64(4), client: s.int64(5)),
                oldHead: SeqNum(global: s.int64(6), client: s.int64(7)),
                newHead: SeqNum(global: s.int64(8), client: s.int64(9)),
                oldBackendHead: s.int64(10), newBackendHead: s.int64(11), removed: Int(s.int64(12)))
  }
}

extension Eventlog {
  var hasReflog: Bool { (try? connection.tableExists("lstore_reflog", schema: schemaName)) ?? false }

  /// Reflog entries, newest first.
  public func reflog(limit: Int? = nil) throws -> [ReflogEntry] {
    guard hasReflog else { return [] }
    var entries: [ReflogEntry] = []
    let sql = "SELECT \(Reflog.entryColumns) FROM \(schemaName.quotedIdentifier).lstore_reflog ORDER BY id DESC" + (limit.map { " LIMIT \($0)" } ?? "")
    try connection.prepare(sql).forEachRow { entries.append(Reflog.readEntry($0)) }
    return entries
  }

  public func reflogEntry(id: Int64) throws -> ReflogEntry? {
    guard hasReflog else { return nil }
    return try connection.cached("SELECT \(Reflog.entryColumns) FROM \(schemaName.quotedIdentifier).lstore_reflog WHERE id = ?")
      .first([.integer(id)], Reflog.readEntry)
  }

  /// The events an entry removed (and saved), in order, with their changesets.
  func forEachSavedEvent(entry: Int64, from: SeqNum = .root, through: SeqNum? = nil,
                         _ body: (EventRecord, [UInt8]?) throws -> Void) throws {
    let through = through ?? SeqNum(global: .max, client: .max)
    // Bounded on both sides: a rebase reads one step's events per step, and reading from the
    // entry's start each time would make a long rebase quadratic.
    let (columns, changeset) = Reflog.savedColumns(format)
    let generations = format.hasRebaseGenerations
    let statement = try connection.cached("""
      SELECT \(columns) FROM \(schemaName.quotedIdentifier).lstore_reflog_event
      WHERE entry = ? AND (seqNumGlobal, seqNumClient) >= (?, ?) AND (seqNumGlobal, seqNumClient) <= (?, ?)
      ORDER BY seqNumGlobal, seqNumClient
      """)
    try statement.forEachRow([.integer(entry), .integer(from.global), .integer(from.client),
                              .integer(through.global), .integer(through.client)]) { row in
      try body(EventRow(statement: row, generations: generations).record, row.blob(changeset))
    }
  }

  /// One saved event of an entry.
  func savedEvent(entry: Int64, at seqNum: SeqNum) throws -> (EventRecord, [UInt8]?)? {
    let (columns, changeset) = Reflog.savedColumns(format)
    let generations = format.hasRebaseGenerations
    return try connection.cached("""
      SELECT \(columns) FROM \(schemaName.quotedIdentifier).lstore_reflog_event
      WHERE entry = ? AND seqNumGlobal = ? AND seqNumClient = ?
      """).first([.integer(entry), .integer(seqNum.global), .integer(seqNum.client)]) {
      (EventRow(statement: $0, generations: generations).record, $0.blob(changeset))
    }
  }

  /// Commits the reflog saved (events a rewrite removed) whose id starts with `prefix`, each
  /// once, with the newest entry that saved it: what `cherry-pick` can bring back.
  func savedCommits(withIDPrefix prefix: String) throws -> [(entry: Int64, commit: Commit)] {
    guard try connection.tableExists("lstore_reflog_commit", schema: schemaName) else { return [] }
    var found: [(entry: Int64, commit: Commit)] = []
    try connection.prepare("""
      SELECT entry, \(Eventlog.commitColumns) FROM \(schemaName.quotedIdentifier).lstore_reflog_commit
      WHERE id LIKE ? ESCAPE '\\' ORDER BY entry DESC LIMIT 100
      """).forEachRow([.text(Eventlog.likePattern(prefix: prefix))]) { row in
      let commit = Eventlog.readCommit(row, from: 1)
      if !found.contains(where: { $0.commit.id == commit.id }) { found.append((row.int64(0), commit)) }
    }
    return found
  }

  /// The first `limit` commits an entry saved that the history does not hold now (in
  /// order), and how many there are: what `reflog` names, so a dropped commit's id can be
  /// given to `cherry-pick`. A commit the history holds under its id is not named, whether
  /// it stayed in place (a pull keeps pending client-only commits where they are), was
  /// replayed under new numbers (a rebase's picks keep their ids) or came back since (an
  /// `--abort`, a reset to before the entry): bringing it back would make it twice.
  public func removedCommits(entry: Int64, limit: Int) throws -> (first: [Commit], count: Int) {
    guard try connection.tableExists("lstore_reflog_commit", schema: schemaName) else { return ([], 0) }
    let schema = schemaName.quotedIdentifier
    let removed = """
      FROM \(schema).lstore_reflog_commit r WHERE r.entry = ? AND NOT EXISTS (
        SELECT 1 FROM \(schema).lstore_commit c WHERE c.id = r.id)
      """
    var first: [Commit] = []
    try connection.cached("""
      SELECT \(Eventlog.commitColumns.split(separator: ",").map { "r." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", "))
      \(removed) ORDER BY r.lastGlobal, r.lastClient LIMIT ?
      """).forEachRow([.integer(entry), .integer(Int64(limit))]) { first.append(Eventlog.readCommit($0)) }
    let count = try connection.cached("SELECT count(*) \(removed)").first([.integer(entry)]) { Int($0.int64(0)) } ?? 0
    return (first, count)
  }

  /// Whether an entry saved a commit record with this id.
  func reflogSavedCommit(entry: Int64, id: String) throws -> Bool {
    try connection.cached("SELECT 1 FROM \(schemaName.quotedIdentifier).lstore_reflog_commit WHERE entry = ? AND id = ?")
      .first([.integer(entry), .text(id)]) { _ in true } ?? false
  }

  /// Saves a commit record with an entry, beside the ones its move saved.
  func saveReflogCommit(_ commit: Commit, entry: Int64) throws {
    try connection.cached("INSERT INTO \(schemaName.quotedIdentifier).lstore_reflog_commit (entry, \(Eventlog.commitColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .execute([.integer(entry), .text(commit.id), .integer(commit.first.global), .integer(commit.first.client),
                .integer(commit.last.global), .integer(commit.last.client), .text(commit.message),
                .text(commit.author.name), .text(commit.author.email), .text(commit.time)])
  }

  /// Whether an entry saved any events.
  func hasSavedEvents(entry: Int64) throws -> Bool {
    try connection.cached("SELECT 1 FROM \(schemaName.quotedIdentifier).lstore_reflog_event WHERE entry = ? LIMIT 1")
      .first([.integer(entry)]) { _ in true } ?? false
  }

  /// How many of the events an entry saved are still in the eventlog exactly as they were
  /// saved: a pull saves every pending event and keeps the client-only ones that follow its
  /// base where they are; those are not removed.
  func savedEventsKeptInPlace(entry: Int64) throws -> Int {
    try connection.cached("""
      SELECT count(*) FROM \(schemaName.quotedIdentifier).lstore_reflog_event r JOIN \(schemaName.quotedIdentifier).eventlog e
        ON e.seqNumGlobal = r.seqNumGlobal AND e.seqNumClient = r.seqNumClient
      WHERE r.entry = ? AND e.name = r.name AND e.argsJson = r.argsJson AND e.clientId = r.clientId
        AND e.sessionId = r.sessionId AND e.parentSeqNumGlobal = r.parentSeqNumGlobal
        AND e.parentSeqNumClient = r.parentSeqNumClient
      """).first([.integer(entry)]) { Int($0.int64(0)) } ?? 0
  }

  /// The commit records an entry removed, in order.
  func savedCommits(entry: Int64) throws -> [Commit] {
    var commits: [Commit] = []
    try connection.cached("""
      SELECT \(Eventlog.commitColumns) FROM \(schemaName.quotedIdentifier).lstore_reflog_commit
      WHERE entry = ? ORDER BY lastGlobal, lastClient
      """).forEachRow([.integer(entry)]) { commits.append(Eventlog.readCommit($0)) }
    return commits
  }
}
