/// An import's commits, gathered into runs packed in one buffer each and sorted for
/// `lstore_commit`'s index on the id.
///
/// An import brings its commits in history order, each with a random 16-hex-digit id, and
/// the id's index then took a random B-tree path per row: at 1M events (257,000 commits) the
/// commit rows were a sixth of the writing thread's samples, most of them in
/// `sqlite3BtreeIndexMoveto` and in spilling and re-reading the index's pages once it
/// outgrew the eventlog's page cache. A sorted run walks the index once, left to right, on
/// pages just touched (82,000 page writes and 46,000 reads became 50,000 and 14,000 with
/// runs of 8,192), and the other index (the commit's last event) still gets its rows near its
/// right edge, since a run is a stretch of consecutive commits.
///
/// Longer runs raise the import's peak memory, and not by their own size: the TodoMVC mix's
/// all-pending import peaked at 92.7 MB unsorted, 95.0 MB with runs of 4,096, 97.9 MB with
/// 8,192 and 105.5 MB with 32,768 (the runs themselves 0.4, 0.8 and 3.3 MB); the rest is
/// SQLite's and the allocator's, and was not pinned down. Runs are 4,096 commits (or 1 MiB).
///
/// The commits of a run are packed into one byte buffer (about 100 bytes a commit), not kept
/// as `Commit` values, whose strings the reading thread made; they are sorted by a 64-bit key
/// (the id's first eight bytes): the order only has to be near the index's, and comparing ids
/// retained and released those strings.
struct CommitRunBuilder {
  /// A run ends at this many commits, or at `maxBytes` of them.
  let runLength: Int
  let maxBytes: Int
  private var bytes: [UInt8] = []
  /// Each packed commit's key and offset in `bytes`.
  private var entries: [(key: UInt64, offset: Int)] = []

  init(runLength: Int = 4_096, maxBytes: Int = 1 << 20) {
    self.runLength = runLength
    self.maxBytes = maxBytes
  }

  /// Adds `commit`; returns the run it completes.
  mutating func add(_ commit: Commit) -> CommitRun? {
    entries.append((Self.indexKey(commit.id), bytes.count))
    for number in [commit.first.global, commit.first.client, commit.last.global, commit.last.client] {
      withUnsafeBytes(of: number.littleEndian) { bytes.append(contentsOf: $0) }
    }
    for text in [commit.id, commit.message, commit.author.name, commit.author.email, commit.time] {
      withUnsafeBytes(of: UInt32(text.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
      bytes.append(contentsOf: text.utf8)
    }
    return entries.count == runLength || bytes.count >= maxBytes ? takeRun() : nil
  }

  /// The commits waiting, as a sorted run (nil when none wait).
  mutating func takeRun() -> CommitRun? {
    guard !entries.isEmpty else { return nil }
    entries.sort { $0.key < $1.key }
    defer {
      bytes.removeAll(keepingCapacity: true)
      entries.removeAll(keepingCapacity: true)
    }
    return CommitRun(bytes: bytes, offsets: entries.map(\.offset))
  }

  /// An id's place in the order of the index, nearly: its first eight bytes, big-endian
  /// (SQLite compares TEXT by its bytes).
  static func indexKey(_ id: String) -> UInt64 {
    var key: UInt64 = 0
    var taken = 0
    for byte in id.utf8.prefix(8) {
      key = key << 8 | UInt64(byte)
      taken += 1
    }
    return key << (8 * (8 - taken))
  }
}

/// A sorted run of packed commits, read by the writing thread (the reading thread made it
/// and does not touch it again).
final class CommitRun: @unchecked Sendable {
  let bytes: [UInt8]
  /// The commits' offsets in `bytes`, in index order.
  let offsets: [Int]

  init(bytes: [UInt8], offsets: [Int]) {
    self.bytes = bytes
    self.offsets = offsets
  }

  var count: Int { offsets.count }

  /// The commit at `offset`, as a value (for a row written alone: its error names it).
  func commit(at offset: Int) -> Commit {
    var numbers: [Int64] = []
    var texts: [String] = []
    visit(at: offset, number: { numbers.append($1) }, text: { texts.append(String(decoding: $1, as: UTF8.self)) })
    return Commit(id: texts[0], first: SeqNum(global: numbers[0], client: numbers[1]),
                  last: SeqNum(global: numbers[2], client: numbers[3]), message: texts[1],
                  author: Author(name: texts[2], email: texts[3]), time: texts[4])
  }

  /// Calls `number` with the four numbers of the commit at `offset` (0: first global,
  /// 1: first client, 2: last global, 3: last client) and then `text` with its five texts
  /// (0: id, 1: message, 2: author name, 3: author email, 4: time), in place.
  func visit(at offset: Int, number: (Int, Int64) -> Void, text: (Int, UnsafeBufferPointer<UInt8>) -> Void) {
    bytes.withUnsafeBufferPointer { buffer in
      let raw = UnsafeRawBufferPointer(buffer)
      var position = offset
      for index in 0..<4 {
        number(index, Int64(littleEndian: raw.loadUnaligned(fromByteOffset: position, as: Int64.self)))
        position += 8
      }
      for index in 0..<5 {
        let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
        text(index, UnsafeBufferPointer(rebasing: buffer[(position + 4)..<(position + 4 + length)]))
        position += 4 + length
      }
    }
  }
}

/// One commit of a run, as a row for `BatchedInsert`.
struct PackedCommit {
  let run: CommitRun
  let offset: Int
}
