import LStoreSQLite

/// lstore's own records, kept in `lstore_*` tables of the eventlog file so that they are
/// written in the same transaction as the events they describe. LiveStore ignores them.
public enum LStoreRecords {
  public static let ddl = [
    """
    CREATE TABLE IF NOT EXISTS lstore_commit (
      id TEXT NOT NULL PRIMARY KEY,
      firstGlobal INTEGER NOT NULL, firstClient INTEGER NOT NULL,
      lastGlobal INTEGER NOT NULL, lastClient INTEGER NOT NULL,
      message TEXT NOT NULL, authorName TEXT NOT NULL, authorEmail TEXT NOT NULL, time TEXT NOT NULL
    ) STRICT
    """,
    "CREATE UNIQUE INDEX IF NOT EXISTS lstore_commit_last ON lstore_commit (lastGlobal, lastClient)",
    "CREATE TABLE IF NOT EXISTS lstore_meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) STRICT",
  ]
}

extension Eventlog {
  private var commitTable: String { "\(schemaName.quotedIdentifier).lstore_commit" }

  static let commitColumns = "id, firstGlobal, firstClient, lastGlobal, lastClient, message, authorName, authorEmail, time"

  /// The commit in `commitColumns`' order, from column `c` on.
  static func readCommit(_ s: Statement, from c: Int32 = 0) -> Commit {
    Commit(id: s.string(c), first: SeqNum(global: s.int64(c + 1), client: s.int64(c + 2)),
           last: SeqNum(global: s.int64(c + 3), client: s.int64(c + 4)), message: s.string(c + 5),
           author: Author(name: s.string(c + 6), email: s.string(c + 7)), time: s.string(c + 8))
  }

  public func insert(_ commit: Commit) throws {
    try connection.cached("INSERT INTO \(commitTable) (\(Self.commitColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)").execute([
      .text(commit.id), .integer(commit.first.global), .integer(commit.first.client),
      .integer(commit.last.global), .integer(commit.last.client), .text(commit.message),
      .text(commit.author.name), .text(commit.author.email), .text(commit.time),
    ])
  }

  /// The commit that holds `seqNum`, if any.
  public func commit(containing seqNum: SeqNum) throws -> Commit? {
    guard hasLStoreRecords else { return nil }
    let commit = try connection.cached("SELECT \(Self.commitColumns) FROM \(commitTable) WHERE (lastGlobal, lastClient) >= (?, ?) ORDER BY lastGlobal, lastClient LIMIT 1")
      .first([.integer(seqNum.global), .integer(seqNum.client)], { Self.readCommit($0) })
    guard let commit, commit.contains(seqNum) else { return nil }
    return commit
  }

  /// Commits whose id starts with `prefix` (git-style abbreviated ids), oldest first: the
  /// table's own order is not history's, since an import writes commits in runs sorted by id.
  public func commits(withIDPrefix prefix: String) throws -> [Commit] {
    guard hasLStoreRecords else { return [] }
    var result: [Commit] = []
    try connection.prepare("SELECT \(Self.commitColumns) FROM \(commitTable) WHERE id LIKE ? ESCAPE '\\' ORDER BY lastGlobal, lastClient LIMIT 10")
      .forEachRow([.text(Self.likePattern(prefix: prefix))]) { result.append(Self.readCommit($0)) }
    return result
  }

  /// A `LIKE … ESCAPE '\\'` pattern matching every text that starts with `prefix`.
  static func likePattern(prefix: String) -> String {
    prefix.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
      .replacingOccurrences(of: "_", with: "\\_") + "%"
  }

  /// Whether a commit holds any event from `first` through `last`.
  func hasCommit(overlapping first: SeqNum, through last: SeqNum) throws -> Bool {
    var overlaps = false
    try forEachCommit(after: try lastEvent(before: first) ?? .root, through: last) { _ in
      overlaps = true
      return false
    }
    return overlaps
  }

  /// Commits overlapping `after < seqNum <= through`, in the given order.
  public func forEachCommit(after: SeqNum = .root, through: SeqNum? = nil, order: Order = .ascending,
                            _ body: (Commit) throws -> Bool) throws {
    guard hasLStoreRecords else { return }
    let through = through ?? SeqNum(global: .max, client: .max)
    let direction = order == .ascending ? "ASC" : "DESC"
    let statement = try connection.prepare(
      "SELECT \(Self.commitColumns) FROM \(commitTable) WHERE (lastGlobal, lastClient) > (?, ?) AND (firstGlobal, firstClient) <= (?, ?) ORDER BY lastGlobal \(direction), lastClient \(direction)")
    try statement.forEachRow([.integer(after.global), .integer(after.client), .integer(through.global), .integer(through.client)]) {
      _ = try body(Self.readCommit($0))
    }
  }

  public func commitCount() throws -> Int {
    guard hasLStoreRecords else { return 0 }
    return Int(try connection.cached("SELECT count(*) FROM \(commitTable)").first { $0.int64(0) } ?? 0)
  }

  public func meta(_ key: String) throws -> String? {
    guard hasLStoreRecords else { return nil }
    return try connection.cached("SELECT value FROM \(schemaName.quotedIdentifier).lstore_meta WHERE key = ?")
      .first([.text(key)]) { $0.string(0) }
  }

  public func setMeta(_ key: String, _ value: String) throws {
    try connection.cached("INSERT INTO \(schemaName.quotedIdentifier).lstore_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
      .execute([.text(key), .text(value)])
  }

  /// Forgets `keys` (those not set are ignored).
  public func removeMeta(_ keys: [String]) throws {
    guard !keys.isEmpty, try connection.tableExists("lstore_meta", schema: schemaName) else { return }
    try connection.execute("DELETE FROM \(schemaName.quotedIdentifier).lstore_meta WHERE key IN (\(keys.map { _ in "?" }.joined(separator: ", ")))",
                           keys.map { .text($0) })
  }
}

/// Walks commits in order alongside an event scan, holding one commit at a time.
public final class CommitCursor {
  private let statement: Statement?
  public private(set) var current: Commit?

  init(eventlog: Eventlog, after: SeqNum, through: SeqNum?, order: Eventlog.Order) throws {
    guard eventlog.hasLStoreRecords else {
      statement = nil
      return
    }
    let through = through ?? SeqNum(global: .max, client: .max)
    let direction = order == .ascending ? "ASC" : "DESC"
    let statement = try eventlog.connection.prepare(
      "SELECT \(Eventlog.commitColumns) FROM \(eventlog.schemaName.quotedIdentifier).lstore_commit WHERE (lastGlobal, lastClient) > (?, ?) AND (firstGlobal, firstClient) <= (?, ?) ORDER BY lastGlobal \(direction), lastClient \(direction)")
    statement.bind([.integer(after.global), .integer(after.client), .integer(through.global), .integer(through.client)])
    self.statement = statement
    try advance()
  }

  /// Moves to the next commit; `current` is nil past the end.
  public func advance() throws {
    guard let statement else { return }
    current = try statement.step() ? Eventlog.readCommit(statement) : nil
  }

  /// The commit holding `seqNum`, advancing past commits that are behind it in the scan
  /// direction. Events must be visited in the cursor's order.
  public func commit(for seqNum: SeqNum, ascending: Bool) throws -> Commit? {
    while let commit = current {
      if ascending ? commit.last < seqNum : commit.first > seqNum {
        try advance()
        continue
      }
      return commit.contains(seqNum) ? commit : nil
    }
    return nil
  }
}

extension Eventlog {
  public func commitCursor(after: SeqNum = .root, through: SeqNum? = nil, order: Order = .ascending) throws -> CommitCursor {
    try CommitCursor(eventlog: self, after: after, through: through, order: order)
  }
}
