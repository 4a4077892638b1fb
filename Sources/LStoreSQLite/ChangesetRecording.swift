import CSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything a `ChangesetRecorder` keeps: the layouts of the tables it has met (kept
/// between recordings) and the row changes of the recording in progress, with the
/// session extension's algorithms on them (see `ChangesetRecorder` for what they follow).
///
/// Why a value: the pre-update hook runs once per row written, and mutates all of this. As
/// a class's stored properties, every buffer append was a dynamic exclusivity check and
/// every table a retained reference (measured: a third of the recorder's time); mutated in
/// place as one value, the hook pays one check per call.
struct ChangesetRecording {
  let connection: Connection

  /// A table's layout, and its part of the recording in progress.
  struct Layout {
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

    /// An empty hash table of the session's first size (256 buckets, as sessionGrowHash
    /// makes on the first change), reusing the last one's storage when it did not grow.
    mutating func startRecording(_ id: Int) {
      recordingID = id
      entryCount = 0
      if buckets.count == ChangesetRecording.firstSize {
        for slot in usedSlots { buckets[Int(slot)] = -1 }
      } else {
        buckets = [Int32](repeating: -1, count: ChangesetRecording.firstSize)
      }
      usedSlots.removeAll(keepingCapacity: true)
      entryIndices.removeAll(keepingCapacity: true)
    }
  }

  struct Entry {
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

  private var layouts: [Layout] = []
  private var layoutByName: [String: Int] = [:]
  /// The layouts last met, by the name pointer the hook passed.
  private var recent: [(pointer: UnsafePointer<CChar>, layout: Int)] = []

  private var recordingID = 0
  private var touched: [Int] = []
  private var entries: [Entry] = []
  private var bytes: [UInt8] = []
  private var keys: [UInt8] = []
  private var scratchKey: [UInt8] = []
  private var newPart: [UInt8] = []
  private(set) var failure: SQLiteError?
  /// sqlite_stat1's NULL idx is recorded as X'' (the session's pZeroBlob); made when that
  /// table is first met.
  private(set) var zeroBlob: OpaquePointer?

  init(connection: Connection) {
    self.connection = connection
  }

  /// After a schema change: the layouts are read again when next met.
  mutating func forgetLayouts() {
    layouts.removeAll()
    layoutByName.removeAll()
    recent.removeAll()
  }

  mutating func startRecording() {
    recordingID &+= 1
    touched.removeAll(keepingCapacity: true)
    entries.removeAll(keepingCapacity: true)
    bytes.removeAll(keepingCapacity: true)
    keys.removeAll(keepingCapacity: true)
    failure = nil
  }

  mutating func dropFailure() { failure = nil }

  // MARK: - Table layouts

  private mutating func layout(named zName: UnsafePointer<CChar>) -> Int? {
    // The hook passes the table's own name string: compare pointers first, then the text
    // (a freed schema's address can be reused).
    for item in recent where item.pointer == zName {
      if strcmp(layouts[item.layout].cName, zName) == 0 { return item.layout }
    }
    let name = String(cString: zName)
    let index: Int
    if let known = layoutByName[name] {
      index = known
    } else {
      do {
        layouts.append(try load(name))
      } catch let error as SQLiteError {
        failure = error
        return nil
      } catch {
        failure = SQLiteError(code: SQLITE_ERROR, message: "\(error)")
        return nil
      }
      index = layouts.count - 1
      layoutByName[name] = index
    }
    if recent.count >= 8 { recent.removeFirst() }
    recent.append((zName, index))
    return index
  }

  private mutating func load(_ name: String) throws -> Layout {
    var layout = Layout(name: name)
    if name.lowercased() == "sqlite_stat1" {
      // The session pretends (tbl, idx) is the primary key of sqlite_stat1.
      layout.isStat1 = true
      layout.columnCount = 3
      layout.keyPositions = [1, 2, 0]
      layout.realAffinity = [false, false, false]
      layout.hasKey = true
      if zeroBlob == nil {
        let statement = try connection.prepare("SELECT X''")
        if try statement.step() { zeroBlob = sqlite3_value_dup(sqlite3_column_value(statement.handle, 0)) }
      }
      return layout
    }
    var positions: [UInt8] = []
    var real: [Bool] = []
    let info = try connection.prepare("PRAGMA main.table_info(\(name.quotedLiteral))")
    while try info.step() {
      positions.append(UInt8(truncatingIfNeeded: sqlite3_column_int(info.handle, 5)))
      let type = sqlite3_column_text(info.handle, 2).map { String(cString: $0) } ?? ""
      real.append(Self.hasRealAffinity(declaredType: type))
    }
    layout.columnCount = positions.count
    layout.keyPositions = positions
    layout.realAffinity = real
    layout.anyReal = real.contains(true)
    layout.hasKey = positions.contains { $0 != 0 }
    layout.selectFinalRows = zip(positions, real).contains { $0 != 0 && $1 }
    return layout
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

  mutating func preupdate(db: OpaquePointer, op: Int32, zDb: UnsafePointer<CChar>, zName: UnsafePointer<CChar>) {
    guard failure == nil, sqlite3_stricmp(zDb, "main") == 0, let t = layout(named: zName) else { return }
    if layouts[t].recordingID != recordingID {
      layouts[t].startRecording(recordingID)
      touched.append(t)
    }
    guard layouts[t].hasKey else { return }
    if Int(sqlite3_preupdate_count(db)) != layouts[t].columnCount || layouts[t].unsupported {
      // The session fails the whole changeset here (SQLITE_SCHEMA); so do we, at finish.
      layouts[t].unsupported = true
      if layouts[t].entryCount == 0 { layouts[t].entryCount = 1 }
      return
    }
    let depth = sqlite3_preupdate_depth(db)
    let first = change(op: op, useNew: op == SQLITE_INSERT, layout: t, db: db, depth: depth)
    if op == SQLITE_UPDATE {
      // As the session does: the row under its old key, then under its new key.
      let second = change(op: SQLITE_INSERT, useNew: true, layout: t, db: db, depth: depth)
      if first >= 0 { entries[first].currentStart = -1 }
      if second >= 0 { recordCurrent(second, layout: t, db: db) }
    } else if op == SQLITE_INSERT {
      if first >= 0 { recordCurrent(first, layout: t, db: db) }
    } else if first >= 0 {
      entries[first].currentStart = -1
    }
  }

  /// `sessionPreupdateOneChange`: finds or adds the entry of the row the hook reports, by its
  /// old key (`useNew` false) or new key. Returns its index, or -1 when the key holds a NULL.
  private mutating func change(op: Int32, useNew: Bool, layout t: Int, db: OpaquePointer, depth: Int32) -> Int {
    // Grow the hash table (sessionGrowHash): 256 buckets at first (set up when the table is
    // first touched), doubled when half full.
    if layouts[t].entryCount >= layouts[t].buckets.count / 2 { growBuckets(of: t) }
    let columnCount = layouts[t].columnCount
    let keyPositions = layouts[t].keyPositions
    let isStat1 = layouts[t].isStat1

    // The key and its hash (sessionPreupdateHash).
    scratchKey.removeAll(keepingCapacity: true)
    var hash: UInt32 = 0
    for column in 0..<columnCount where keyPositions[column] != 0 {
      let value = Self.value(db: db, column: column, new: useNew, isStat1: isStat1, zeroBlob: zeroBlob)
      let type = value.map { sqlite3_value_type($0) } ?? SQLITE_NULL
      if type == SQLITE_NULL { return -1 }  // the session ignores rows with a NULL in their key
      hash = Self.hashAppend(hash, UInt32(bitPattern: type))
      let start = scratchKey.count
      Self.serialize(value, to: &scratchKey)
      switch type {
      case SQLITE_INTEGER, SQLITE_FLOAT:
        let bits = Self.readBigEndian(scratchKey, at: start + 1)
        hash = Self.hashAppend(hash, UInt32(truncatingIfNeeded: bits))
        hash = Self.hashAppend(hash, UInt32(truncatingIfNeeded: bits >> 32))
      default:
        let (length, header) = Self.readVarint(scratchKey, at: start + 1)
        for offset in 0..<length { hash = Self.hashAppend(hash, UInt32(scratchKey[start + 1 + header + offset])) }
      }
    }

    let slot = Int(hash % UInt32(layouts[t].buckets.count))
    var index = layouts[t].buckets[slot]
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
    for column in 0..<columnCount {
      if op != SQLITE_INSERT {
        Self.serialize(Self.value(db: db, column: column, new: false, isStat1: isStat1, zeroBlob: zeroBlob), to: &bytes)
      } else if keyPositions[column] != 0 {
        Self.serialize(Self.value(db: db, column: column, new: true, isStat1: isStat1, zeroBlob: zeroBlob), to: &bytes)
      } else {
        bytes.append(0)
      }
    }
    let added = Int32(entries.count)
    entries.append(Entry(next: layouts[t].buckets[slot], op: op, indirect: depth > 0 ? 1 : 0,
                         keyStart: keyStart, keyEnd: Int32(keys.count), hash: hash,
                         oldStart: oldStart, oldEnd: Int32(bytes.count), currentStart: -1, currentEnd: -1))
    layouts[t].buckets[slot] = added
    if layouts[t].buckets.count == Self.firstSize { layouts[t].usedSlots.append(Int32(slot)) }
    layouts[t].entryIndices.append(added)
    layouts[t].entryCount += 1
    return Int(added)
  }

  private mutating func growBuckets(of t: Int) {
    let oldBuckets = layouts[t].buckets
    let newCount = 2 * oldBuckets.count
    var newBuckets = [Int32](repeating: -1, count: newCount)
    for bucket in 0..<oldBuckets.count {
      var index = oldBuckets[bucket]
      while index >= 0 {
        let next = entries[Int(index)].next
        let slot = Int(entries[Int(index)].hash % UInt32(newCount))
        entries[Int(index)].next = newBuckets[slot]
        newBuckets[slot] = index
        index = next
      }
    }
    layouts[t].buckets = newBuckets
  }

  /// The row's values after this change, as a SELECT would read them.
  private mutating func recordCurrent(_ index: Int, layout t: Int, db: OpaquePointer) {
    if layouts[t].selectFinalRows { return }
    let columnCount = layouts[t].columnCount
    let anyReal = layouts[t].anyReal
    let isStat1 = layouts[t].isStat1
    let start = Int32(bytes.count)
    for column in 0..<columnCount {
      let value = Self.value(db: db, column: column, new: true, isStat1: isStat1, zeroBlob: zeroBlob)
      if anyReal && layouts[t].realAffinity[column], let value, sqlite3_value_type(value) == SQLITE_INTEGER {
        // Stored as an integer, read as REAL (the column's REAL affinity).
        bytes.append(UInt8(SQLITE_FLOAT))
        Self.appendBigEndian(Double(sqlite3_value_int64(value)).bitPattern, to: &bytes)
      } else {
        Self.serialize(value, to: &bytes)
      }
    }
    entries[index].currentStart = start
    entries[index].currentEnd = Int32(bytes.count)
  }

  @inline(__always)
  private static func value(db: OpaquePointer, column: Int, new: Bool, isStat1: Bool, zeroBlob: OpaquePointer?) -> OpaquePointer? {
    var value: OpaquePointer?
    if new { sqlite3_preupdate_new(db, Int32(column), &value) } else { sqlite3_preupdate_old(db, Int32(column), &value) }
    if isStat1 && column == 1 && (value == nil || sqlite3_value_type(value) == SQLITE_NULL) { return zeroBlob }
    return value
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

  // MARK: - Writing the changeset

  /// The recording's changeset, or nil when nothing changed.
  mutating func changeset() throws -> [UInt8]? {
    if let failure { throw failure }
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count + 64)
    for t in touched where layouts[t].entryCount > 0 {
      if layouts[t].unsupported {
        throw SQLiteError(code: SQLITE_SCHEMA, message: "cannot record changes to table \(layouts[t].name) (generated columns)")
      }
      let headerStart = output.count
      if layouts[t].header.isEmpty {
        // 'T', the column count, the key positions, the name with its NUL.
        var header: [UInt8] = [0x54]
        Self.appendVarint(UInt32(layouts[t].columnCount), to: &header)
        header.append(contentsOf: layouts[t].keyPositions)
        header.append(contentsOf: layouts[t].cName.map { UInt8(bitPattern: $0) })
        layouts[t].header = header
      }
      output.append(contentsOf: layouts[t].header)
      let afterHeader = output.count
      if layouts[t].selectFinalRows { try readFinalRows(t) }
      if layouts[t].buckets.count == Self.firstSize {
        // Not rehashed: the buckets in order, each one's chain newest first. Sorting the few
        // entries gives that order without walking all 256 buckets.
        let size = UInt32(Self.firstSize)
        let indices = layouts[t].entryIndices
        let ordered = indices.count == 1 ? indices : indices.sorted { a, b in
          let slotA = entries[Int(a)].hash % size, slotB = entries[Int(b)].hash % size
          return slotA != slotB ? slotA < slotB : a > b
        }
        for index in ordered { emit(entries[Int(index)], layout: t, to: &output) }
      } else {
        let buckets = layouts[t].buckets
        for bucket in 0..<buckets.count {
          var index = buckets[bucket]
          while index >= 0 {
            emit(entries[Int(index)], layout: t, to: &output)
            index = entries[Int(index)].next
          }
        }
      }
      if output.count == afterHeader { output.removeSubrange(headerStart...) }
    }
    return output.isEmpty ? nil : output
  }

  private mutating func emit(_ entry: Entry, layout t: Int, to output: inout [UInt8]) {
    if entry.currentStart >= 0 {
      if entry.op == SQLITE_INSERT {
        output.append(UInt8(SQLITE_INSERT))
        output.append(entry.indirect)
        output.append(contentsOf: bytes[Int(entry.currentStart)..<Int(entry.currentEnd)])
      } else {
        emitUpdate(entry, layout: t, to: &output)
      }
    } else if entry.op != SQLITE_INSERT {
      output.append(UInt8(SQLITE_DELETE))
      output.append(entry.indirect)
      output.append(contentsOf: bytes[Int(entry.oldStart)..<Int(entry.oldEnd)])
    }
  }

  /// `sessionAppendUpdate`: old values of the key and of changed columns, new values of
  /// changed columns; nothing when no column changed.
  private mutating func emitUpdate(_ entry: Entry, layout t: Int, to output: inout [UInt8]) {
    let rewind = output.count
    output.append(UInt8(SQLITE_UPDATE))
    output.append(entry.indirect)
    newPart.removeAll(keepingCapacity: true)
    var changedAny = false
    var old = Int(entry.oldStart)
    var current = Int(entry.currentStart)
    let keyPositions = layouts[t].keyPositions
    for column in 0..<layouts[t].columnCount {
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
      if changed || keyPositions[column] != 0 {
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

  // MARK: - Reading final rows with a SELECT (tables with a REAL key column)

  private mutating func readFinalRows(_ t: Int) throws {
    let statement: Statement
    if let cached = layouts[t].select {
      statement = cached
    } else {
      // What the session's SELECT reads: every column of the row with that key.
      var sql = "SELECT * FROM \"main\".\(layouts[t].name.quotedIdentifier) WHERE "
      var first = true
      let info = try connection.prepare("PRAGMA main.table_info(\(layouts[t].name.quotedLiteral))")
      var column = 0
      while try info.step() {
        if layouts[t].keyPositions[column] != 0 {
          let name = sqlite3_column_text(info.handle, 1).map { String(cString: $0) } ?? ""
          sql += (first ? "" : " AND ") + name.quotedIdentifier + " IS ?\(column + 1)"
          first = false
        }
        column += 1
      }
      statement = try connection.prepare(sql)
      layouts[t].select = statement
    }
    let columnCount = layouts[t].columnCount
    let keyPositions = layouts[t].keyPositions
    for index in layouts[t].entryIndices {
      let entry = entries[Int(index)]
      statement.reset()
      sqlite3_clear_bindings(statement.handle)
      var offset = Int(entry.keyStart)
      for column in 0..<columnCount where keyPositions[column] != 0 {
        let length = Self.fieldLength(keys, at: offset)
        Self.bindField(keys, at: offset, to: statement, index: Int32(column + 1))
        offset += length
      }
      if try statement.step() {
        let start = Int32(bytes.count)
        for column in 0..<columnCount {
          Self.serialize(sqlite3_column_value(statement.handle, Int32(column)), to: &bytes)
        }
        entries[Int(index)].currentStart = start
        entries[Int(index)].currentEnd = Int32(bytes.count)
      } else {
        entries[Int(index)].currentStart = -1
      }
    }
    statement.reset()
  }

  private static func bindField(_ buffer: [UInt8], at offset: Int, to statement: Statement, index: Int32) {
    switch Int32(buffer[offset]) {
    case SQLITE_INTEGER:
      statement.bind(Int64(bitPattern: readBigEndian(buffer, at: offset + 1)), at: index)
    case SQLITE_FLOAT:
      statement.bind(Double(bitPattern: readBigEndian(buffer, at: offset + 1)), at: index)
    case SQLITE_TEXT:
      let (length, header) = readVarint(buffer, at: offset + 1)
      buffer.withUnsafeBufferPointer { all in
        statement.bind(utf8: UnsafeBufferPointer(rebasing: all[(offset + 1 + header)..<(offset + 1 + header + length)]), at: index)
      }
    case SQLITE_BLOB:
      let (length, header) = readVarint(buffer, at: offset + 1)
      statement.bind(blob: Array(buffer[(offset + 1 + header)..<(offset + 1 + header + length)]), at: index)
    default:
      statement.bindNull(at: index)
    }
  }

  // MARK: - The record format

  /// Appends one field: a type byte, then 8 big-endian bytes (INTEGER, REAL) or a varint
  /// length and the bytes (TEXT, BLOB); 0x00 for an undefined value.
  @inline(__always)
  static func serialize(_ value: OpaquePointer?, to output: inout [UInt8]) {
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
  static func appendBigEndian(_ value: UInt64, to output: inout [UInt8]) {
    withUnsafeBytes(of: value.bigEndian) { output.append(contentsOf: $0) }
  }

  /// SQLite's varint (putVarint32): big-endian groups of 7 bits, the high bit set on all but the last.
  static func appendVarint(_ value: UInt32, to output: inout [UInt8]) {
    if value < 0x80 { output.append(UInt8(value)); return }
    var shift: UInt32 = 28
    while value >> shift == 0 { shift -= 7 }
    while shift > 0 {
      output.append(UInt8(truncatingIfNeeded: (value >> shift) & 0x7F) | 0x80)
      shift -= 7
    }
    output.append(UInt8(value & 0x7F))
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

  /// The session's first hash table size.
  static let firstSize = 256

  @inline(__always)
  static func hashAppend(_ hash: UInt32, _ add: UInt32) -> UInt32 { (hash &<< 3) ^ hash ^ add }
}
