import LStoreSQLite

/// Pending events' changeset rows, written many to a statement.
///
/// One INSERT per event cost more than the row itself: in a C measurement (1M events,
/// the rebuild's settings) the row took 1.3 µs as its own statement and 0.5 µs as one of 32
/// in a statement, and it was the largest single cost of recording a pending event. Rows
/// wait here until 32 are buffered (or 1 MiB of changesets), so whoever writes through this
/// must `flush()` before anything reads `__livestore_session_changeset` or the transaction
/// ends; `EventReplayer.bulk` and the rebuild are the two scopes that do.
final class ChangesetRows {
  static let rowsPerStatement = 32
  static let maxBufferedBytes = 1 << 20

  private let connection: Connection
  private let format: StorageFormat
  private var buffered: [(SeqNum, [UInt8]?)] = []
  private var bufferedBytes = 0
  private var manyRows: Statement?

  init(connection: Connection, format: StorageFormat) {
    self.connection = connection
    self.format = format
    buffered.reserveCapacity(Self.rowsPerStatement)
  }

  func add(seqNum: SeqNum, changeset: [UInt8]?) throws {
    buffered.append((seqNum, changeset))
    bufferedBytes += changeset?.count ?? 0
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
        statement = try connection.prepare(StateDatabase.changesetInsertSQL(format: format, rows: Self.rowsPerStatement))
        manyRows = statement
      }
      defer { statement.reset() }
      for (row, (seqNum, changeset)) in buffered.enumerated() {
        StateDatabase.bindChangesetRow(statement, row: row, seqNum: seqNum, changeset: changeset, format: format)
      }
      try statement.step()
    } else {
      for (seqNum, changeset) in buffered {
        try StateDatabase.insertChangeset(connection, seqNum: seqNum, changeset: changeset, format: format)
      }
    }
  }
}
