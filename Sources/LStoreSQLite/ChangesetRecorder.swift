import CSQLite

/// Records the row changes a connection makes to its `main` database between `begin()` and
/// `finish()`, and returns them as a changeset: the bytes `sqlite3session_changeset` returns
/// for a session created at `begin()` and attached to every table (`sqlite3session_attach(s, NULL)`),
/// without creating one.
///
/// Why: a new session prepares `PRAGMA table_info` for every table it meets, and every
/// `sqlite3session_changeset` call runs a SAVEPOINT, the pragma again and a SELECT it compiles
/// for each table. With one session per event (LiveStore keeps a changeset per pending event)
/// that SQL compilation cost about 25 µs per event, several times the event itself. This
/// recorder keeps the table layouts between events, listens on the pre-update hook itself and
/// writes the changeset format directly (measured in a 1M-event commit: about 0.7 µs of the
/// writing thread per event, hook, encoding, begin and finish together; see docs/benchmarks.md).
///
/// It follows the session extension of SQLite 3.40 step for step, so the output is the same
/// byte for byte (checked by tests over random workloads): the same first-change-wins record
/// of old values, the same per-table hash table of changed rows (whose bucket order is the
/// order of the output), the same rules for turning a row's first operation and its final
/// state into an INSERT, UPDATE or DELETE, tables in the order they were first changed,
/// `sqlite_stat1`'s NULL `idx` as an empty blob, rows with a NULL in their key and tables
/// without a primary key ignored, and an error for tables the session cannot record either
/// (generated columns). The final values of a row are the ones the last pre-update call
/// reported, read as a SELECT reads them (an integral REAL stored as an integer reads back as
/// REAL); tables with a REAL primary-key column, where the session can hold one row under two
/// keys, read the final rows with a SELECT, as the session does.
///
/// While recording, the recorder owns the connection's pre-update hook: do not use a
/// `Session` on the same connection between `begin()` and `finish()`.
public final class ChangesetRecorder {
  public let connection: Connection
  /// The table layouts and the recording in progress (`ChangesetRecording`), in memory of
  /// its own: the hook reaches it through this pointer. Through a stored property of the
  /// class, each hook call retained the recorder and checked exclusive access at run time
  /// (a third of the hook's own time in a profile of a pending commit).
  private let state: UnsafeMutablePointer<ChangesetRecording>
  private var recording = false
  private var schemaVersionStatement: Statement?
  private var schemaVersion: Int64 = .min

  public init(connection: Connection) {
    self.connection = connection
    state = .allocate(capacity: 1)
    state.initialize(to: ChangesetRecording(connection: connection))
  }

  deinit {
    if recording { sqlite3_preupdate_hook(connection.handle, nil, nil) }
    sqlite3_value_free(state.pointee.zeroBlob)
    state.deinitialize(count: 1)
    state.deallocate()
  }

  /// Starts recording. Changes made before are not part of the changeset.
  public func begin() throws {
    precondition(!recording, "ChangesetRecorder.begin() while recording")
    try checkSchemaVersion()
    state.pointee.startRecording()
    recording = true
    sqlite3_preupdate_hook(connection.handle, { context, db, op, zDb, zName, _, _ in
      guard let context, let db, let zDb, let zName else { return }
      context.assumingMemoryBound(to: ChangesetRecording.self).pointee.preupdate(db: db, op: op, zDb: zDb, zName: zName)
    }, UnsafeMutableRawPointer(state))
  }

  /// Stops recording and returns the changeset, or nil when nothing changed.
  public func finish() throws -> [UInt8]? {
    stop()
    return try state.pointee.changeset()
  }

  /// Stops recording and drops what was recorded.
  public func cancel() {
    stop()
    state.pointee.dropFailure()
  }

  private func stop() {
    if recording {
      sqlite3_preupdate_hook(connection.handle, nil, nil)
      recording = false
    }
  }

  /// Table layouts are kept between recordings; a schema change (a materializer's DDL)
  /// drops them.
  private func checkSchemaVersion() throws {
    let statement: Statement
    if let cached = schemaVersionStatement {
      statement = cached
    } else {
      statement = try connection.prepare("PRAGMA main.schema_version")
      schemaVersionStatement = statement
    }
    defer { statement.reset() }
    guard try statement.step() else { return }
    let version = sqlite3_column_int64(statement.handle, 0)
    if version != schemaVersion {
      state.pointee.forgetLayouts()
      schemaVersion = version
    }
  }
}

@available(*, unavailable)
extension ChangesetRecorder: Sendable {}
