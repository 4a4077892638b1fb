import LStoreSQLite

/// The new base's events after the merge base, as a rebase looks them up to leave out
/// replayed events the base already has (git skips commits already upstream): a temporary
/// table of 64-bit fingerprints with the events' numbers, so memory stays flat however
/// long the new base is. A fingerprint match is confirmed against the event itself.
struct UpstreamIdentities {
  static let table = "lstore_upstream_identity"
  let eventlog: Eventlog
  let base: SeqNum
  let through: SeqNum

  /// Fills the table when it is missing (a rolled-back transaction drops it too) or holds
  /// another range.
  func prepare() throws {
    let connection = eventlog.connection
    let key = "\(base)..\(through)"
    if try connection.tableExists(Self.table, schema: "temp"),
       try connection.scalar("SELECT value FROM temp.lstore_upstream_range") == .text(key) { return }
    try connection.execute("DROP TABLE IF EXISTS temp.\(Self.table)")
    try connection.execute("DROP TABLE IF EXISTS temp.lstore_upstream_range")
    try connection.execute("CREATE TEMP TABLE \(Self.table) (fingerprint INTEGER NOT NULL, seqNumGlobal INTEGER NOT NULL, seqNumClient INTEGER NOT NULL)")
    try connection.execute("CREATE TEMP TABLE lstore_upstream_range (value TEXT NOT NULL)")
    try connection.execute("INSERT INTO temp.lstore_upstream_range VALUES (?)", [.text(key)])
    guard through > base else { return }
    let insert = try connection.cached("INSERT INTO temp.\(Self.table) VALUES (?, ?, ?)")
    try eventlog.forEach(after: base, through: through) { row in
      try insert.execute([.integer(Self.fingerprint(row.record)), .integer(row.seqNum.global), .integer(row.seqNum.client)])
      return true
    }
    try connection.execute("CREATE INDEX temp.\(Self.table)_fingerprint ON \(Self.table) (fingerprint)")
  }

  /// Whether the new base has an event encoded as `record` (name, args, client, session)
  /// that no earlier replayed event matched: the match is taken, so two equal events
  /// replayed over one equal upstream event leave out one, not both. (Taken inside the
  /// step's transaction: a step rolled back gives its matches back.)
  func take(_ record: EventRecord) throws -> Bool {
    let candidates = try eventlog.connection.cached("SELECT rowid, seqNumGlobal, seqNumClient FROM temp.\(Self.table) WHERE fingerprint = ? ORDER BY rowid")
    var found: [(rowid: Int64, seqNum: SeqNum)] = []
    try candidates.forEachRow([.integer(Self.fingerprint(record))]) {
      found.append(($0.int64(0), SeqNum(global: $0.int64(1), client: $0.int64(2))))
    }
    for (rowid, number) in found {
      guard let event = try eventlog.event(at: number), event.isEncoded(like: record) else { continue }
      try eventlog.connection.cached("DELETE FROM temp.\(Self.table) WHERE rowid = ?").execute([.integer(rowid)])
      return true
    }
    return false
  }

  /// FNV-1a over the four fields, each followed by a NUL (which none of them holds).
  static func fingerprint(_ record: EventRecord) -> Int64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for field in [record.name, record.argsJSON, record.clientId, record.sessionId] {
      for byte in field.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
      hash = (hash ^ 0) &* 0x0000_0100_0000_01b3
    }
    return Int64(bitPattern: hash)
  }
}
