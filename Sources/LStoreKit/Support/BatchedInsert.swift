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
