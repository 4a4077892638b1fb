import CSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Counts the rows a connection inserts, updates and deletes in its `main` database, per
/// table, from SQLite's pre-update hook: one call per row written, triggers' rows included.
///
/// Why not changesets: a changeset per event costs about 3 µs per event (docs/benchmarks.md),
/// as much as the rest of a replay; counting in the hook costs about 0.2 µs. It counts rows
/// written, not rows changed: an UPDATE that sets a column to the value it had counts (a
/// changeset would omit it).
///
/// Counts are kept per unit of work (an event): `keep()` adds the unit's counts to the
/// totals, `discard()` drops them, for a unit that failed and whose writes were rolled back.
///
/// While counting, the counter owns the connection's pre-update hook: do not record a
/// changeset (`ChangesetRecorder`) or use a `Session` on the same connection meanwhile.
public final class RowWriteCounter {
  public struct Counts: Sendable, Equatable {
    public var inserted = 0
    public var updated = 0
    public var deleted = 0
    public init(inserted: Int = 0, updated: Int = 0, deleted: Int = 0) {
      self.inserted = inserted
      self.updated = updated
      self.deleted = deleted
    }
  }

  public let connection: Connection
  /// Everything the hook changes, in one value it mutates in place: each access to a class's
  /// stored array from the hook was a dynamic exclusivity check of its own (as in
  /// `ChangesetRecording`), several per row written.
  private var state = Tally()
  private var counting = false

  public init(connection: Connection) {
    self.connection = connection
  }

  deinit { stop() }

  /// Installs the hook. Rows written before are not counted.
  public func start() {
    guard !counting else { return }
    counting = true
    sqlite3_preupdate_hook(connection.handle, { context, _, op, zDb, zName, _, _ in
      guard let context, let zDb, let zName else { return }
      Unmanaged<RowWriteCounter>.fromOpaque(context).takeUnretainedValue().state.count(op: op, zDb: zDb, zName: zName)
    }, Unmanaged.passUnretained(self).toOpaque())
  }

  /// Removes the hook; the counts stay readable.
  public func stop() {
    guard counting else { return }
    sqlite3_preupdate_hook(connection.handle, nil, nil)
    counting = false
  }

  /// Adds the current unit's rows to the totals.
  public func keep() { state.keep() }

  /// Forgets the current unit's rows (its writes were rolled back).
  public func discard() { state.discard() }

  /// The kept totals, per table, in the order tables were first written.
  public var counts: [(table: String, counts: Counts)] {
    state.names.indices.map { (state.names[$0], state.totals[$0]) }
  }

  private struct Tally {
    /// Tables in the order they were first written.
    var names: [String] = []
    var cNames: [[CChar]] = []
    var totals: [Counts] = []
    var unit: [Counts] = []
    var touched: [Int] = []
    var lastPointer: UnsafePointer<CChar>?
    var lastIndex = 0

    mutating func count(op: Int32, zDb: UnsafePointer<CChar>, zName: UnsafePointer<CChar>) {
      guard strcmp(zDb, "main") == 0 else { return }
      let index = tableIndex(zName)
      // A table's unit counts are zero exactly when it is not in `touched` yet.
      if unit[index] == Counts() { touched.append(index) }
      switch op {
      case SQLITE_INSERT: unit[index].inserted += 1
      case SQLITE_UPDATE: unit[index].updated += 1
      case SQLITE_DELETE: unit[index].deleted += 1
      default: break
      }
    }

    mutating func keep() {
      for index in touched {
        totals[index].inserted += unit[index].inserted
        totals[index].updated += unit[index].updated
        totals[index].deleted += unit[index].deleted
        unit[index] = Counts()
      }
      touched.removeAll(keepingCapacity: true)
    }

    mutating func discard() {
      for index in touched { unit[index] = Counts() }
      touched.removeAll(keepingCapacity: true)
    }

    /// The hook passes the table's own name string: the pointer of the last table written is
    /// tried first, then the text (a freed schema's address can be reused).
    private mutating func tableIndex(_ zName: UnsafePointer<CChar>) -> Int {
      if zName == lastPointer, strcmp(cNames[lastIndex], zName) == 0 { return lastIndex }
      lastPointer = zName
      for index in cNames.indices where strcmp(cNames[index], zName) == 0 {
        lastIndex = index
        return index
      }
      let name = String(cString: zName)
      names.append(name)
      cNames.append(Array(name.utf8CString))
      totals.append(Counts())
      unit.append(Counts())
      lastIndex = names.count - 1
      return lastIndex
    }
  }
}
