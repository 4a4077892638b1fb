import LStoreSQLite

/// Rows of one table written many to an INSERT statement.
///
/// Bulk appends (a commit of many events, an import, a rebuild) wrote one row per
/// statement, and the statement's own run cost more than the row: in a C measurement of
/// 1M events with lstore's settings, a session changeset row took 1.3 µs as its own
/// statement and 0.5 µs as one of 32, and an eventlog row 0.5–0.9 µs less batched.
/// Rows wait here until `rowsPerStatement` are buffered (or `maxBufferedBytes`), so whoever
/// writes through this must `flush()` before anything reads the table or the transaction
/// ends; `EventReplayer.bulk` and the rebuild are the scopes that do.
///
/// The many-row statement must be `INSERT OR FAIL`: with the default ABORT, SQLite keeps a
/// statement journal to undo the statement's earlier rows, and a 32-row insert into the
/// eventlog's four B-trees spills it to a temporary file (measured: 97,000 writes for 200,000
/// events instead of 6,000). FAIL keeps the rows before a failing one, which is what lets
/// this find the failing row and write it alone, so its error is the one it always got.
final class BatchedInsert<Row> {
  static var rowsPerStatement: Int { 32 }
  static var maxBufferedBytes: Int { 1 << 20 }

  private let connection: Connection
  private let sql: (Int) -> String
  private let bind: (Statement, Int, Row) -> Void
  private let insertOne: (Row) throws -> Void
  private let bytes: (Row) -> Int
  private var buffered: [Row] = []
  private var bufferedBytes = 0
  private var manyRows: Statement?

  /// `sql(n)` is the INSERT of n rows (`INSERT OR FAIL` when n > 1), whose row `i`
  /// `bind(statement, i, row)` binds;
  /// `insertOne` writes a single row the usual way (a partial batch, and the rows of a
  /// batch that failed, so its error names the row); `bytes` is a row's rough size.
  init(connection: Connection, sql: @escaping (Int) -> String, bind: @escaping (Statement, Int, Row) -> Void,
       insertOne: @escaping (Row) throws -> Void, bytes: @escaping (Row) -> Int) {
    self.connection = connection
    self.sql = sql
    self.bind = bind
    self.insertOne = insertOne
    self.bytes = bytes
    buffered.reserveCapacity(Self.rowsPerStatement)
  }

  func add(_ row: Row) throws {
    buffered.append(row)
    bufferedBytes += bytes(row)
    if buffered.count == Self.rowsPerStatement || bufferedBytes >= Self.maxBufferedBytes { try flush() }
  }

  /// Writes every buffered row.
  func flush() throws {
    guard !buffered.isEmpty else { return }
    defer {
      buffered.removeAll(keepingCapacity: true)
      bufferedBytes = 0
    }
    if buffered.count == Self.rowsPerStatement {
      let statement: Statement
      if let manyRows {
        statement = manyRows
      } else {
        statement = try connection.prepare(sql(Self.rowsPerStatement))
        manyRows = statement
      }
      for (position, row) in buffered.enumerated() { bind(statement, position, row) }
      do {
        defer { statement.reset() }
        try statement.step()
        return
      } catch {
        // The rows before the failing one are in: write the rest alone, from the failing
        // one, which fails again with the error of a row of its own.
        for row in buffered[min(max(connection.changes, 0), buffered.count - 1)...] { try insertOne(row) }
        throw error
      }
    }
    for row in buffered { try insertOne(row) }
  }
}

/// Rows gathered into runs sorted by a key, to be written through a `BatchedInsert` into a
/// table with a unique index on a key that arrives in random order.
///
/// An import brings its commits in history order, each with a random 16-hex-digit id, and
/// `lstore_commit`'s index on the id then took a random B-tree path per row: at 1M events
/// (257,000 commits) the commit rows were a sixth of the writing thread's samples, most of
/// them in `sqlite3BtreeIndexMoveto` and in spilling and re-reading the index's pages once it
/// outgrew the eventlog's page cache. Sorted runs walk the index once per run, left to
/// right, on pages just touched (82,000 page writes and 46,000 reads became 50,000 and
/// 14,000), and the other index (the commit's last event) still gets its rows near its right
/// edge, since a run is a stretch of consecutive commits.
///
/// The order only has to be near the index's for that, so rows are sorted by a 64-bit key
/// (for commits, the id's first eight bytes), not by comparing rows: comparing two commits
/// retained and released their strings, and took more time than the sorting saved.
struct SortedRuns<Row> {
  let runLength: Int
  private let key: (Row) -> UInt64
  private var rows: [Row] = []
  /// Each waiting row's key and its place in `rows`.
  private var order: [(key: UInt64, index: Int)] = []

  init(runLength: Int = 8_192, key: @escaping (Row) -> UInt64) {
    self.runLength = runLength
    self.key = key
  }

  /// Adds `row`; returns the run it completes, sorted.
  mutating func add(_ row: Row) -> [Row]? {
    order.append((key(row), rows.count))
    rows.append(row)
    return rows.count == runLength ? takeRun() : nil
  }

  /// The rows waiting, sorted (empty when none wait).
  mutating func takeRun() -> [Row] {
    order.sort { $0.key < $1.key }
    defer {
      rows.removeAll(keepingCapacity: true)
      order.removeAll(keepingCapacity: true)
    }
    return order.map { rows[$0.index] }
  }
}
