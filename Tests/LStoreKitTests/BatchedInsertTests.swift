import Foundation
import XCTest
import LStoreSQLite
@testable import LStoreKit

/// `BatchedInsert`: rows written many to a statement, and a failing row still named.
final class BatchedInsertTests: XCTestCase {
  private func event(_ global: Int64) -> EventRecord {
    EventRecord(seqNum: SeqNum(global: global), parentSeqNum: SeqNum(global: global - 1), name: "v1.TodoCreated",
                argsJSON: #"{"id":"t\#(global)","text":"x"}"#, clientId: "c", sessionId: "s", schemaHash: 1)
  }

  private func withEventlog(_ format: StorageFormat, _ body: (Eventlog) throws -> Void) throws {
    let directory = NSTemporaryDirectory() + "lstore-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/eventlog.db"
    try Eventlog.create(path: path, format: format)
    let eventlog = Eventlog(connection: try Connection(path: path, mode: .readWrite))
    try eventlog.validate()
    try body(eventlog)
  }

  /// A duplicate in the middle of a full batch fails the flush with the error that row
  /// gets alone, naming it, and the transaction it ran in can still be rolled back whole.
  func testDuplicateInAFullBatchIsNamed() throws {
    for format in [StorageFormat.v4, .v6] {
      try withEventlog(format) { eventlog in
        try eventlog.append(event(20))
        let rows = eventlog.batchedAppends()
        let globals: [Int64] = Array(100..<110) + [20] + Array(110..<131)
        XCTAssertEqual(globals.count, BatchedInsert<EventRecord>.rowsPerStatement)
        XCTAssertThrowsError(try eventlog.connection.transaction {
          for global in globals { try rows.add(event(global)) }
        }) { error in
          guard case EventlogError.duplicateSeqNum(let seqNum) = error else { return XCTFail("\(error)") }
          XCTAssertEqual(seqNum, SeqNum(global: 20))
        }
        XCTAssertEqual(try eventlog.count(), 1, "format \(format)")
      }
    }
  }

  /// A full batch and a partial one write every row, in order, with every column.
  func testFullAndPartialBatchesWriteEveryRow() throws {
    for format in [StorageFormat.v4, .v6] {
      try withEventlog(format) { eventlog in
        let rows = eventlog.batchedAppends()
        try eventlog.connection.transaction {
          for global in Int64(1)...45 { try rows.add(event(global)) }
          try rows.flush()
        }
        var read: [EventRecord] = []
        try eventlog.forEach { row in read.append(row.record); return true }
        XCTAssertEqual(read, (Int64(1)...45).map(event), "format \(format)")
      }
    }
  }

  private func commit(_ id: String, at global: Int64) -> Commit {
    Commit(id: id, first: SeqNum(global: global), last: SeqNum(global: global), message: "m\(global)",
           author: Author(name: "A", email: "a@example.com"), time: "2026-01-01T00:00:00.000Z")
  }

  /// Commits gathered into packed runs (`CommitRunBuilder`, as an import does) are every
  /// commit, exactly, each run in the order of the id index's first eight bytes, and written
  /// they are every row with every column, however many runs and batches they make.
  func testCommitRunsAreWrittenWhole() throws {
    try withEventlog(.v4) { eventlog in
      // 8,192 to a run: two full runs and a partial one, with a short id, an empty message,
      // and texts beyond ASCII.
      var made = (1...20_000).map { commit(Identifiers.commitID(), at: Int64($0)) }
      made[7] = commit("ab", at: 8)
      made[9_000] = Commit(id: "c9001", first: SeqNum(global: 9_001), last: SeqNum(global: 9_001, client: 2), message: "",
                           author: Author(name: "Zoë", email: ""), time: "2026-01-01T00:00:00.000Z")
      var builder = CommitRunBuilder(runLength: 8_192)
      var runs: [CommitRun] = made.compactMap { builder.add($0) }
      runs.append(try XCTUnwrap(builder.takeRun()))
      XCTAssertNil(builder.takeRun())
      XCTAssertEqual(runs.map(\.count), [8_192, 8_192, 3_616])
      var unpacked: [Commit] = []
      for run in runs {
        let commits = run.offsets.map { run.commit(at: $0) }
        let keys = commits.map { CommitRunBuilder.indexKey($0.id) }
        XCTAssertEqual(keys, keys.sorted())
        unpacked += commits
      }
      XCTAssertEqual(unpacked.sorted { $0.first < $1.first }, made)
      XCTAssertEqual(CommitRunBuilder.indexKey("ab"), 0x6162_0000_0000_0000)
      XCTAssertEqual(CommitRunBuilder.indexKey(""), 0)
      XCTAssertEqual(CommitRunBuilder.indexKey("0123456789abcdef"), 0x3031_3233_3435_3637)

      let rows = eventlog.batchedCommits()
      try eventlog.connection.transaction {
        for run in runs { for offset in run.offsets { try rows.add(PackedCommit(run: run, offset: offset)) } }
        try rows.flush()
      }
      XCTAssertEqual(try eventlog.commitCount(), made.count)
      for probe in [made[0], made[123], made[19_999], made[7], made[9_000]] {
        XCTAssertEqual(try eventlog.commit(containing: probe.first), probe)
      }
    }
  }

  /// A run ends early at its byte bound (long messages), with every commit in some run.
  func testARunEndsAtItsByteBound() {
    var builder = CommitRunBuilder(runLength: 1_000, maxBytes: 10_000)
    let long = String(repeating: "m", count: 3_000)
    var runs: [CommitRun] = []
    for global in Int64(1)...10 {
      let made = Commit(id: "c\(global)", first: SeqNum(global: global), last: SeqNum(global: global), message: long,
                        author: Author(name: "A", email: "a@example.com"), time: "t")
      if let run = builder.add(made) { runs.append(run) }
    }
    if let rest = builder.takeRun() { runs.append(rest) }
    XCTAssertEqual(runs.map(\.count), [4, 4, 2])
    XCTAssertEqual(runs.first.map { $0.commit(at: $0.offsets[0]).message }, long)
  }

  /// A commit id that is already there fails the flush, naming the id, and the transaction
  /// rolls back whole.
  func testADuplicateCommitIdIsNamed() throws {
    try withEventlog(.v4) { eventlog in
      try eventlog.insert(commit("0123456789abcdef", at: 1))
      var builder = CommitRunBuilder()
      for global in Int64(2)...40 { _ = builder.add(commit(String(format: "%016llx", global * 7_919), at: global)) }
      _ = builder.add(commit("0123456789abcdef", at: 41))
      let run = try XCTUnwrap(builder.takeRun())
      let rows = eventlog.batchedCommits()
      XCTAssertThrowsError(try eventlog.connection.transaction {
        for offset in run.offsets { try rows.add(PackedCommit(run: run, offset: offset)) }
        try rows.flush()
      }) { error in
        XCTAssertEqual(error as? EventlogError, .duplicateCommit(id: "0123456789abcdef"), "\(error)")
      }
      XCTAssertEqual(try eventlog.commitCount(), 1)
    }
  }
}
