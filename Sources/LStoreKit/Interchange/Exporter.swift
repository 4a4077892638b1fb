import Foundation

/// What an export wrote.
public struct ExportReport: Sendable {
  public var events: Int
  public var commits: Int
  public var head: SeqNum
  public var seconds: Double
}

/// Streams an eventlog to the export format. Memory stays flat: one row at a time.
public enum Exporter {
  public static func export(
    _ eventlog: Eventlog, storeId: String, to sink: ByteSink, from: SeqNum? = nil, through: SeqNum? = nil,
    exportedAt: String, progress: ProgressHandler? = nil
  ) throws -> ExportReport {
    let started = DispatchTime.now()
    // The range is (after, through]: `after` is the event just before the first one exported.
    var after = SeqNum.root
    if let from {
      var previous = SeqNum.root
      try eventlog.forEach(through: from, order: .descending) { row in
        if row.seqNum < from { previous = row.seqNum; return false }
        return true
      }
      after = previous
    }
    let head = try eventlog.head()
    let last = through.map { min($0, head) } ?? head
    // Counted from the indexes, without reading the rows.
    let eventCount = try eventlog.count(after: after, through: last)
    let commitCount = try countCommits(eventlog, after: after, through: last)
    var lastExported = after
    if eventCount > 0 {
      try eventlog.forEach(after: after, through: last, order: .descending) { row in lastExported = row.seqNum; return false }
    }
    var crc = CRC32()
    var writer = JSONWriter(reservingCapacity: 1024)
    func emit() throws {
      writer.bytes.withUnsafeBytes { crc.update($0) }
      try writer.bytes.withUnsafeBytes { try sink.write($0) }
      writer.removeAll()
    }
    var header: JSONValue = [
      "lstore": "export", "version": .integer(Int64(ExportFormat.version)), "storeId": .string(storeId),
      "firstParent": .string(after.description), "head": .string(lastExported.description),
      "events": .integer(Int64(eventCount)), "commits": .integer(Int64(commitCount)),
      "backendHead": .integer(try eventlog.backendHead()), "exportedAt": .string(exportedAt),
    ]
    // A partial export names the event it continues from, so an import can check that the
    // store's head is that very event and not just one with the same number.
    if after != .root, let parent = try eventlog.event(at: after), case .object(var object) = header {
      object["firstParentEvent"] = ExportFormat.identity(of: parent)
      header = .object(object)
    }
    // The checksum covers the header without its export time, so that exporting the same
    // events twice gives the same checksum.
    ExportFormat.checksum(header: header, into: &crc)
    writer.write(header)
    writer.bytes.append(0x0A)
    try writer.bytes.withUnsafeBytes { try sink.write($0) }
    writer.removeAll()

    // Commits are merged into the event stream: each one right before its first event.
    // Only commits wholly inside the range are exported.
    let commits = try eventlog.commitCursor(after: after, through: last)
    // The cursor's current commit range, kept as plain values so that events inside no
    // commit cost two comparisons rather than a copy of the commit.
    var commitFirst = commits.current?.first
    var commitLast = commits.current?.last ?? .root
    var written = 0
    try eventlog.forEach(after: after, through: last) { row in
      let seqNum = row.seqNum
      if commitFirst != nil {
        while commitFirst != nil, commitLast < seqNum {
          try commits.advance()
          commitFirst = commits.current?.first
          commitLast = commits.current?.last ?? .root
        }
        if let first = commitFirst, first == seqNum, commitLast <= last, let commit = commits.current {
          writeCommit(commit, into: &writer)
        }
      }
      try EventJSON.writeStoredFields(of: row, into: &writer)
      writer.appendASCII("}\n")
      if writer.bytes.count > 1 << 16 { try emit() }
      written += 1
      if let progress, written % 100_000 == 0 { progress(Progress(done: written, total: eventCount, label: "exporting")) }
      return true
    }
    try emit()
    let trailer: JSONValue = ["end": ["events": .integer(Int64(written)), "commits": .integer(Int64(commitCount)),
                                       "crc32": .string(crc.hex)]]
    writer.write(trailer)
    writer.bytes.append(0x0A)
    try writer.bytes.withUnsafeBytes { try sink.write($0) }
    try sink.finish()
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
    return ExportReport(events: written, commits: commitCount, head: lastExported, seconds: seconds)
  }

  /// Commits wholly inside `after < seqNum <= through`.
  static func countCommits(_ eventlog: Eventlog, after: SeqNum, through: SeqNum) throws -> Int {
    guard eventlog.hasLStoreRecords else { return 0 }
    let sql = "SELECT count(*) FROM \(eventlog.schemaName.quotedIdentifier).lstore_commit WHERE (lastGlobal, lastClient) > (?, ?) AND (lastGlobal, lastClient) <= (?, ?) AND (firstGlobal, firstClient) > (?, ?)"
    return Int(try eventlog.connection.cached(sql).first([
      .integer(after.global), .integer(after.client), .integer(through.global), .integer(through.client),
      .integer(after.global), .integer(after.client),
    ]) { $0.int64(0) } ?? 0)
  }

  static func writeCommit(_ commit: Commit, into writer: inout JSONWriter) {
    let value: JSONValue = ["commit": [
      "id": .string(commit.id), "first": .string(commit.first.description), "last": .string(commit.last.description),
      "message": .string(commit.message),
      "author": ["name": .string(commit.author.name), "email": .string(commit.author.email)],
      "time": .string(commit.time),
    ]]
    writer.write(value)
    writer.bytes.append(0x0A)
  }
}
