import CSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
/// writes the changeset format directly (measured: about 0.3 µs per event; see docs/benchmarks.md).
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

  public init(connection: Connection) {
    self.connection = connection
  }

  deinit {
    if recording { sqlite3_preupdate_hook(connection.handle, nil, nil) }
    sqlite3_value_free(zeroBlob)
  }

  // MARK: - Table layouts (kept between recordings)

  private final class Table {
    let name: String
    let cName: [CChar]
    var columnCount = 0
    /// Per column: its position in the primary key (1-based), 0 when not part of it. Written
    /// as is into the changeset's table header, as the session does.
    var keyPositions: [UInt8] = []
    var hasKey = false
    /// Per column: REAL affinity, where a value stored as an integer reads back as REAL.
    var realAffinity: [Bool] = []
    var anyReal = false
    /// A primary-key column has REAL affinity: read the final rows with a SELECT.
    var selectFinalRows = false
    var isStat1 = false
    /// Set when the table cannot be recorded (its column count differs from what the hook
    /// reports: generated columns). The session fails such a changeset with SQLITE_SCHEMA.
    var unsupported = false
    var select: Statement?
    /// The changeset's table header, built on first use.
    var header: [UInt8] = []

    // Per recording.
    var recordingID = -1
    var buckets: [Int32] = []
    var entryCount = 0
    /// This recording's entries of the table, in the order they were added.
    var entryIndices: [Int32] = []
    /// The buckets this recording filled while the table had its first size.
    var usedSlots: [Int32] = []

    init(name: String) {
      self.name = name
      cName = Array(name.utf8CString)
    }
  }

  private struct Entry {
    var next: Int32
    var op: Int32
    var indirect: UInt8
    /// The serialized primary-key fields, in column order, in `keys`.
    var keyStart: Int32
    var keyEnd: Int32
    /// The full hash of the key (the bucket is `hash % buckets.count`).
    var hash: UInt32
    /// The old record (full for UPDATE/DELETE; key fields only, others undefined, for INSERT) in `bytes`.
    var oldStart: Int32
    var oldEnd: Int32
    /// The row's current record in `bytes`; `currentStart < 0` when the row does not exist now.
    var currentStart: Int32
    var currentEnd: Int32
  }

  private var tables: [String: Table] = [:]
  private var recent: [(pointer: UnsafePointer<CChar>, table: Table)] = []
  private var schemaVersionStatement: Statement?
  private var schemaVersion: Int64 = .min

  // MARK: - Recording state

  private var recording = false
  private var recordingID = 0
  private var touched: [Table] = []
  private var entries: [Entry] = []
  private var bytes: [UInt8] = []
  private var keys: [UInt8] = []
  private var scratchKey: [UInt8] = []
  private var failure: SQLiteError?

  /// Starts recording. Changes made before are not part of the changeset.
  public func begin() throws {
    precondition(!recording, "ChangesetRecorder.begin() while recording")
    try checkSchemaVersion()
    recordingID &+= 1
    touched.removeAll(keepingCapacity: true)
    entries.removeAll(keepingCapacity: true)
    bytes.removeAll(keepingCapacity: true)
    keys.removeAll(keepingCapacity: true)
    failure = nil
    recording = true
    sqlite3_preupdate_hook(connection.handle, { context, db, op, zDb, zName, _, _ in
      guard let context, let db, let zDb, let zName else { return }
      Unmanaged<ChangesetRecorder>.fromOpaque(context).takeUnretainedValue()
        .preupdate(db: db, op: op, zDb: zDb, zName: zName)
    }, Unmanaged.passUnretained(self).toOpaque())
  }

  /// Stops recording and returns the changeset, or nil when nothing changed.
  public func finish() throws -> [UInt8]? {
    stop()
    if let failure { throw failure }
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count + 64)
    for table in touched where table.entryCount > 0 {
      if table.unsupported {
        throw SQLiteError(code: SQLITE_SCHEMA, message: "cannot record changes to table \(table.name) (generated columns)")
      }
      let headerStart = output.count
      if table.header.isEmpty {
        // 'T', the column count, the key positions, the name with its NUL.
        table.header.append(0x54)
        appendVarint(UInt32(table.columnCount), to: &table.header)
        table.header.append(contentsOf: table.keyPositions)
        table.header.append(contentsOf: table.cName.map { UInt8(bitPattern: $0) })
      }
      output.append(contentsOf: table.header)
      let afterHeader = output.count
      if table.selectFinalRows { try readFinalRows(table) }
      if table.buckets.count == Self.firstSize {
        // Not rehashed: the buckets in order, each one's chain newest first. Sorting the few
        // entries gives that order without walking all 256 buckets.
        let size = UInt32(Self.firstSize)
        let ordered = table.entryIndices.count == 1 ? table.entryIndices : table.entryIndices.sorted { a, b in
          let slotA = entries[Int(a)].hash % size, slotB = entries[Int(b)].hash % size
          return slotA != slotB ? slotA < slotB : a > b
        }
        for index in ordered { emit(entries[Int(index)], table: table, to: &output) }
      } else {
        for bucket in 0..<table.buckets.count {
          var index = table.buckets[bucket]
          while index >= 0 {
            emit(entries[Int(index)], table: table, to: &output)
            index = entries[Int(index)].next
          }
        }
      }
      if output.count == afterHeader { output.removeSubrange(headerStart...) }
    }
    return output.isEmpty ? nil : output
  }

  /// Stops recording and drops what was recorded.
  public func cancel() {
    stop()
    failure = nil
  }

  private func stop() {
    if recording {
      sqlite3_preupdate_hook(connection.handle, nil, nil)
      recording = false
    }
  }

  // MARK: - Table layouts

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
      tables.removeAll()
      recent.removeAll()
      schemaVersion = version
    }
  }

  private func table(named zName: UnsafePointer<CChar>) -> Table? {
    // The hook passes the table's own name string: compare pointers first, then the text
    // (a freed schema's address can be reused).
    for item in recent where item.pointer == zName {
      if strcmp(item.table.cName, zName) == 0 { return item.table }
    }
    let name = String(cString: zName)
    let table: Table
    if let known = tables[name] {
      table = known
    } else {
      table = Table(name: name)
      do {
        try load(table)
      } catch let error as SQLiteError {
        failure = error
        return nil
      } catch {
        failure = SQLiteError(code: SQLITE_ERROR, message: "\(error)")
        return nil
      }
      tables[name] = table
    }
    if recent.count >= 8 { recent.removeFirst() }
    recent.append((zName, table))
    return table
  }

  private func load(_ table: Table) throws {
    table.select = nil
    table.header = []
    if table.name.lowercased() == "sqlite_stat1" {
      // The session pretends (tbl, idx) is the primary key of sqlite_stat1.
      table.isStat1 = true
      table.columnCount = 3
      table.keyPositions = [1, 2, 0]
      table.realAffinity = [false, false, false]
      table.hasKey = true
      return
    }
    var positions: [UInt8] = []
    var real: [Bool] = []
    let info = try connection.prepare("PRAGMA main.table_info(\(table.name.quotedLiteral))")
    while try info.step() {
      positions.append(UInt8(truncatingIfNeeded: sqlite3_column_int(info.handle, 5)))
      let type = sqlite3_column_text(info.handle, 2).map { String(cString: $0) } ?? ""
      real.append(Self.hasRealAffinity(declaredType: type))
    }
    table.columnCount = positions.count
    table.keyPositions = positions
    table.realAffinity = real
    table.anyReal = real.contains(true)
    table.hasKey = positions.contains { $0 != 0 }
    table.selectFinalRows = zip(positions, real).contains { $0 != 0 && $1 }
  }

  /// SQLite's affinity rules (section 3.1 of "Datatypes In SQLite"): REAL affinity when the
  /// declared type has none of INT, CHAR/CLOB/TEXT, BLOB and one of REAL, FLOA, DOUB.
  static func hasRealAffinity(declaredType: String) -> Bool {
    let type = declaredType.uppercased()
    if type.contains("INT") || type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT") || type.contains("BLOB") {
      return false
    }
    return type.contains("REAL") || type.contains("FLOA") || type.contains("DOUB")
  }

  // MARK: - The pre-update hook

  private func preupdate(db: OpaquePointer, op: Int32, zDb: UnsafePointer<CChar>, zName: UnsafePointer<CChar>) {
    guard failure == nil, sqlite3_stricmp(zDb, "main") == 0, let table = table(named: zName) else { return }
    if table.recordingID != recordingID {
      table.recordingID = recordingID
      table.entryCount = 0
      // An empty hash table of the session's first size (256 buckets, as sessionGrowHash
      // makes on the first change), reusing the last one's storage when it did not grow.
      if table.buckets.count == Self.firstSize {
        for slot in table.usedSlots { table.buckets[Int(slot)] = -1 }
      } else {
        table.buckets = [Int32](repeating: -1, count: Self.firstSize)
      }
      table.usedSlots.removeAll(keepingCapacity: true)
      table.entryIndices.removeAll(keepingCapacity: true)
      touched.append(table)
    }
    guard table.hasKey else { return }
    if Int(sqlite3_preupdate_count(db)) != table.columnCount || table.unsupported {
      // The session fails the whole changeset here (SQLITE_SCHEMA); so do we, at finish.
      table.unsupported = true
      if table.entryCount == 0 { table.entryCount = 1 }
      return
    }
    let depth = sqlite3_preupdate_depth(db)
    let first = change(op: op, useNew: op == SQLITE_INSERT, table: table, db: db, depth: depth)
    if op == SQLITE_UPDATE {
      // As the session does: the row under its old key, then under its new key.
      let second = change(op: SQLITE_INSERT, useNew: true, table: table, db: db, depth: depth)
      if first >= 0 { entries[first].currentStart = -1 }
      if second >= 0 { recordCurrent(second, table: table, db: db) }
    } else if op == SQLITE_INSERT {
      if first >= 0 { recordCurrent(first, table: table, db: db) }
    } else if first >= 0 {
      entries[first].currentStart = -1
    }
  }

  /// `sessionPreupdateOneChange`: finds or adds the entry of the row the hook reports, by its
  /// old key (`useNew` false) or new key. Returns its index, or -1 when the key holds a NULL.
  private func change(op: Int32, useNew: Bool, table: Table, db: OpaquePointer, depth: Int32) -> Int {
    // Grow the hash table (sessionGrowHash): 256 buckets at first (set up when the table is
    // first touched), doubled when half full.
    if table.entryCount >= table.buckets.count / 2 {
      let newCount = 2 * table.buckets.count
      var newBuckets = [Int32](repeating: -1, count: newCount)
      for bucket in 0..<table.buckets.count {
        var index = table.buckets[bucket]
        while index >= 0 {
          let next = entries[Int(index)].next
          let slot = Int(entries[Int(index)].hash % UInt32(newCount))
          entries[Int(index)].next = newBuckets[slot]
          newBuckets[slot] = index
          index = next
        }
      }
      table.buckets = newBuckets
    }

    // The key and its hash (sessionPreupdateHash).
    scratchKey.removeAll(keepingCapacity: true)
    var hash: UInt32 = 0
    for column in 0..<table.columnCount where table.keyPositions[column] != 0 {
      let value = self.value(db: db, column: column, new: useNew, table: table)
      let type = value.map { sqlite3_value_type($0) } ?? SQLITE_NULL
      if type == SQLITE_NULL { return -1 }  // the session ignores rows with a NULL in their key
      hash = Self.hashAppend(hash, UInt32(bitPattern: type))
      let start = scratchKey.count
      serialize(value, to: &scratchKey)
      switch type {
      case SQLITE_INTEGER, SQLITE_FLOAT:
        var bits: UInt64 = 0
        for offset in 1...8 { bits = bits << 8 | UInt64(scratchKey[start + offset]) }
        hash = Self.hashAppend(hash, UInt32(truncatingIfNeeded: bits))
        hash = Self.hashAppend(hash, UInt32(truncatingIfNeeded: bits >> 32))
      default:
        let (length, header) = Self.readVarint(scratchKey, at: start + 1)
        for offset in 0..<length { hash = Self.hashAppend(hash, UInt32(scratchKey[start + 1 + header + offset])) }
      }
    }

    let slot = Int(hash % UInt32(table.buckets.count))
    var index = table.buckets[slot]
    while index >= 0 {
      let entry = entries[Int(index)]
      if keysEqual(entry) {
        if entry.indirect != 0 && depth == 0 { entries[Int(index)].indirect = 0 }
        return Int(index)
      }
      index = entry.next
    }

    // A new entry: the old values (UPDATE, DELETE) or the key alone (INSERT).
    let keyStart = Int32(keys.count)
    keys.append(contentsOf: scratchKey)
    let oldStart = Int32(bytes.count)
    for column in 0..<table.columnCount {
      if op != SQLITE_INSERT {
        serialize(value(db: db, column: column, new: false, table: table), to: &bytes)
      } else if table.keyPositions[column] != 0 {
        serialize(value(db: db, column: column, new: true, table: table), to: &bytes)
      } else {
        bytes.append(0)
      }
    }
    entries.append(Entry(next: table.buckets[slot], op: op, indirect: depth > 0 ? 1 : 0,
                         keyStart: keyStart, keyEnd: Int32(keys.count), hash: hash,
                         oldStart: oldStart, oldEnd: Int32(bytes.count), currentStart: -1, currentEnd: -1))
    table.buckets[slot] = Int32(entries.count - 1)
    if table.buckets.count == Self.firstSize { table.usedSlots.append(Int32(slot)) }
    table.entryIndices.append(Int32(entries.count - 1))
    table.entryCount += 1
    return entries.count - 1
  }

  /// The row's values after this change, as a SELECT would read them.
  private func recordCurrent(_ index: Int, table: Table, db: OpaquePointer) {
    if table.selectFinalRows { return }
    let start = Int32(bytes.count)
    for column in 0..<table.columnCount {
      let value = self.value(db: db, column: column, new: true, table: table)
      if table.anyReal && table.realAffinity[column], let value, sqlite3_value_type(value) == SQLITE_INTEGER {
        // Stored as an integer, read as REAL (the column's REAL affinity).
        bytes.append(UInt8(SQLITE_FLOAT))
        appendBigEndian(Double(sqlite3_value_int64(value)).bitPattern, to: &bytes)
      } else {
        serialize(value, to: &bytes)
      }
    }
    entries[index].currentStart = start
    entries[index].currentEnd = Int32(bytes.count)
  }

  private var zeroBlob: OpaquePointer? = nil

  @inline(__always)
  private func value(db: OpaquePointer, column: Int, new: Bool, table: Table) -> OpaquePointer? {
    var value: OpaquePointer?
    if new { sqlite3_preupdate_new(db, Int32(column), &value) } else { sqlite3_preupdate_old(db, Int32(column), &value) }
    if table.isStat1 && column == 1 && (value == nil || sqlite3_value_type(value) == SQLITE_NULL) {
      return stat1ZeroBlob()
    }
    return value
  }

  /// sqlite_stat1's NULL idx is recorded as X'' (the session's pZeroBlob).
  private func stat1ZeroBlob() -> OpaquePointer? {
    if zeroBlob == nil {
      let statement = try? connection.prepare("SELECT X''")
      if let statement, (try? statement.step()) == true {
        zeroBlob = sqlite3_value_dup(sqlite3_column_value(statement.handle, 0))
      }
    }
    return zeroBlob
  }

  // MARK: - Reading final rows with a SELECT (tables with a REAL key column)

  private func readFinalRows(_ table: Table) throws {
    let statement: Statement
    if let cached = table.select {
      statement = cached
    } else {
      // What the session's SELECT reads: every column of the row with that key.
      var sql = "SELECT * FROM \"main\".\(table.name.quotedIdentifier) WHERE "
      var first = true
      let info = try connection.prepare("PRAGMA main.table_info(\(table.name.quotedLiteral))")
      var column = 0
      while try info.step() {
        if table.keyPositions[column] != 0 {
          let name = sqlite3_column_text(info.handle, 1).map { String(cString: $0) } ?? ""
          sql += (first ? "" : " AND ") + name.quotedIdentifier + " IS ?\(column + 1)"
          first = false
        }
        column += 1
      }
      statement = try connection.prepare(sql)
      table.select = statement
    }
    for index in table.entryIndices {
      do {
        let entry = entries[Int(index)]
        statement.reset()
        sqlite3_clear_bindings(statement.handle)
        var offset = Int(entry.keyStart)
        for column in 0..<table.columnCount where table.keyPositions[column] != 0 {
          let length = Self.fieldLength(keys, at: offset)
          bindField(keys, at: offset, to: statement, index: Int32(column + 1))
          offset += length
        }
        if try statement.step() {
          let start = Int32(bytes.count)
          for column in 0..<table.columnCount {
            serialize(sqlite3_column_value(statement.handle, Int32(column)), to: &bytes)
          }
          entries[Int(index)].currentStart = start
          entries[Int(index)].currentEnd = Int32(bytes.count)
        } else {
          entries[Int(index)].currentStart = -1
        }
      }
    }
    statement.reset()
  }

  private func bindField(_ buffer: [UInt8], at offset: Int, to statement: Statement, index: Int32) {
    switch Int32(buffer[offset]) {
    case SQLITE_INTEGER:
      statement.bind(Int64(bitPattern: Self.readBigEndian(buffer, at: offset + 1)), at: index)
    case SQLITE_FLOAT:
      statement.bind(Double(bitPattern: Self.readBigEndian(buffer, at: offset + 1)), at: index)
    case SQLITE_TEXT:
      let (length, header) = Self.readVarint(buffer, at: offset + 1)
      buffer.withUnsafeBufferPointer { all in
        statement.bind(utf8: UnsafeBufferPointer(rebasing: all[(offset + 1 + header)..<(offset + 1 + header + length)]), at: index)
      }
    case SQLITE_BLOB:
      let (length, header) = Self.readVarint(buffer, at: offset + 1)
      statement.bind(blob: Array(buffer[(offset + 1 + header)..<(offset + 1 + header + length)]), at: index)
    default:
      statement.bindNull(at: index)
    }
  }

  // MARK: - Writing the changeset

  private func emit(_ entry: Entry, table: Table, to output: inout [UInt8]) {
    if entry.currentStart >= 0 {
      if entry.op == SQLITE_INSERT {
        output.append(UInt8(SQLITE_INSERT))
        output.append(entry.indirect)
        output.append(contentsOf: bytes[Int(entry.currentStart)..<Int(entry.currentEnd)])
      } else {
        emitUpdate(entry, table: table, to: &output)
      }
    } else if entry.op != SQLITE_INSERT {
      output.append(UInt8(SQLITE_DELETE))
      output.append(entry.indirect)
      output.append(contentsOf: bytes[Int(entry.oldStart)..<Int(entry.oldEnd)])
    }
  }

  private var newPart: [UInt8] = []

  /// `sessionAppendUpdate`: old values of the key and of changed columns, new values of
  /// changed columns; nothing when no column changed.
  private func emitUpdate(_ entry: Entry, table: Table, to output: inout [UInt8]) {
    let rewind = output.count
    output.append(UInt8(SQLITE_UPDATE))
    output.append(entry.indirect)
    newPart.removeAll(keepingCapacity: true)
    var changedAny = false
    var old = Int(entry.oldStart)
    var current = Int(entry.currentStart)
    for column in 0..<table.columnCount {
      let oldLength = Self.fieldLength(bytes, at: old)
      let currentLength = Self.fieldLength(bytes, at: current)
      let oldType = Int32(bytes[old])
      let currentType = Int32(bytes[current])
      var changed: Bool
      switch oldType {
      case SQLITE_NULL:
        changed = currentType != SQLITE_NULL
      case SQLITE_INTEGER:
        changed = currentType != SQLITE_INTEGER
          || Self.readBigEndian(bytes, at: old + 1) != Self.readBigEndian(bytes, at: current + 1)
      case SQLITE_FLOAT:
        changed = currentType != SQLITE_FLOAT
          || Double(bitPattern: Self.readBigEndian(bytes, at: old + 1)) != Double(bitPattern: Self.readBigEndian(bytes, at: current + 1))
      default:
        changed = oldType != currentType || oldLength != currentLength
          || !bytes[old..<(old + oldLength)].elementsEqual(bytes[current..<(current + currentLength)])
      }
      if changed { changedAny = true }
      if changed || table.keyPositions[column] != 0 {
        output.append(contentsOf: bytes[old..<(old + oldLength)])
      } else {
        output.append(0)
      }
      if changed {
        newPart.append(contentsOf: bytes[current..<(current + currentLength)])
      } else {
        newPart.append(0)
      }
      old += oldLength
      current += currentLength
    }
    if changedAny {
      output.append(contentsOf: newPart)
    } else {
      output.removeSubrange(rewind...)
    }
  }

  // MARK: - The record format

  /// Appends one field: a type byte, then 8 big-endian bytes (INTEGER, REAL) or a varint
  /// length and the bytes (TEXT, BLOB); 0x00 for an undefined value.
  @inline(__always)
  private func serialize(_ value: OpaquePointer?, to output: inout [UInt8]) {
    guard let value else { output.append(0); return }
    let type = sqlite3_value_type(value)
    output.append(UInt8(type))
    switch type {
    case SQLITE_INTEGER:
      appendBigEndian(UInt64(bitPattern: sqlite3_value_int64(value)), to: &output)
    case SQLITE_FLOAT:
      appendBigEndian(sqlite3_value_double(value).bitPattern, to: &output)
    case SQLITE_TEXT, SQLITE_BLOB:
      let pointer: UnsafeRawPointer? = type == SQLITE_TEXT ? sqlite3_value_text(value).map { UnsafeRawPointer($0) } : sqlite3_value_blob(value)
      let count = Int(sqlite3_value_bytes(value))
      appendVarint(UInt32(count), to: &output)
      if count > 0, let pointer {
        output.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: count))
      }
    default:
      break
    }
  }

  @inline(__always)
  private func appendBigEndian(_ value: UInt64, to output: inout [UInt8]) {
    for shift in stride(from: 56, through: 0, by: -8) { output.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
  }

  /// SQLite's varint (putVarint32): big-endian groups of 7 bits, the high bit set on all but the last.
  private func appendVarint(_ value: UInt32, to output: inout [UInt8]) {
    if value < 0x80 { output.append(UInt8(value)); return }
    var groups: [UInt8] = []
    var rest = value
    while rest > 0 {
      groups.append(UInt8(rest & 0x7F))
      rest >>= 7
    }
    for (offset, group) in groups.reversed().enumerated() {
      output.append(offset == groups.count - 1 ? group : group | 0x80)
    }
  }

  static func readVarint(_ buffer: [UInt8], at offset: Int) -> (value: Int, length: Int) {
    var value = 0
    var index = offset
    while true {
      let byte = buffer[index]
      value = value << 7 | Int(byte & 0x7F)
      index += 1
      if byte & 0x80 == 0 || index - offset == 9 { break }
    }
    return (value, index - offset)
  }

  static func readBigEndian(_ buffer: [UInt8], at offset: Int) -> UInt64 {
    var value: UInt64 = 0
    for index in offset..<(offset + 8) { value = value << 8 | UInt64(buffer[index]) }
    return value
  }

  static func fieldLength(_ buffer: [UInt8], at offset: Int) -> Int {
    switch Int32(buffer[offset]) {
    case SQLITE_INTEGER, SQLITE_FLOAT: return 9
    case SQLITE_TEXT, SQLITE_BLOB:
      let (length, header) = readVarint(buffer, at: offset + 1)
      return 1 + header + length
    default: return 1
    }
  }

  /// `sessionPreupdateEqual`: same types, equal integers, equal doubles (so 0.0 = -0.0),
  /// same bytes.
  private func keysEqual(_ entry: Entry) -> Bool {
    var a = Int(entry.keyStart)
    let end = Int(entry.keyEnd)
    var b = 0
    while a < end {
      guard b < scratchKey.count, keys[a] == scratchKey[b] else { return false }
      let type = Int32(keys[a])
      let length = Self.fieldLength(keys, at: a)
      if type == SQLITE_FLOAT {
        if Double(bitPattern: Self.readBigEndian(keys, at: a + 1)) != Double(bitPattern: Self.readBigEndian(scratchKey, at: b + 1)) {
          return false
        }
      } else {
        guard Self.fieldLength(scratchKey, at: b) == length,
              keys[a..<(a + length)].elementsEqual(scratchKey[b..<(b + length)]) else { return false }
      }
      a += length
      b += length
    }
    return b == scratchKey.count
  }

  /// The session's first hash table size.
  static let firstSize = 256

  @inline(__always)
  static func hashAppend(_ hash: UInt32, _ add: UInt32) -> UInt32 { (hash &<< 3) ^ hash ^ add }
}

@available(*, unavailable)
extension ChangesetRecorder: Sendable {}
