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

  /// Commits gathered into sorted runs (`SortedRuns`, as an import does) are every commit,
  /// each run in the order of the id index's first eight bytes, and written they are every row
  /// with every column, however many runs and batches they make.
  func testSortedRunsOfCommitsAreWrittenWhole() throws {
    try withEventlog(.v4) { eventlog in
      // 8,192 to a run: two full runs and a partial one, with a short id and an empty one.
      var made = (1...20_000).map { commit(Identifiers.commitID(), at: Int64($0)) }
      made[7] = commit("ab", at: 8)
      made[9_000] = commit("", at: 9_001)
      var runs = SortedRuns<Commit>(key: Eventlog.commitIndexKey)
      var sorted: [[Commit]] = made.compactMap { runs.add($0) }
      sorted.append(runs.takeRun())
      XCTAssertEqual(sorted.map(\.count), [8_192, 8_192, 3_616])
      XCTAssertTrue(runs.takeRun().isEmpty)
      for run in sorted {
        let keys = run.map(Eventlog.commitIndexKey)
        XCTAssertEqual(keys, keys.sorted())
        XCTAssertTrue(run.contains { $0.id.utf8.count == 16 })
      }
      XCTAssertEqual(Set(sorted.joined().map(\.id)), Set(made.map(\.id)))
      XCTAssertEqual(Eventlog.commitIndexKey(commit("ab", at: 1)), 0x6162_0000_0000_0000)
      XCTAssertEqual(Eventlog.commitIndexKey(commit("", at: 1)), 0)

      let rows = eventlog.batchedCommits()
      try eventlog.connection.transaction {
        for run in sorted { for commit in run { try rows.add(commit) } }
        try rows.flush()
      }
      XCTAssertEqual(try eventlog.commitCount(), made.count)
      for probe in [made[0], made[123], made[19_999], commit("ab", at: 8), commit("", at: 9_001)] {
        XCTAssertEqual(try eventlog.commit(containing: probe.first), probe)
      }
    }
  }

  /// A commit id that is already there fails the flush, naming the id, and the transaction
  /// rolls back whole.
  func testADuplicateCommitIdIsNamed() throws {
    try withEventlog(.v4) { eventlog in
      try eventlog.insert(commit("0123456789abcdef", at: 1))
      let rows = eventlog.batchedCommits()
      XCTAssertThrowsError(try eventlog.connection.transaction {
        for global in Int64(2)...40 { try rows.add(commit(String(format: "%016llx", global * 7_919), at: global)) }
        try rows.add(commit("0123456789abcdef", at: 41))
        try rows.flush()
      }) { error in
        XCTAssertEqual(error as? EventlogError, .duplicateCommit(id: "0123456789abcdef"), "\(error)")
      }
      XCTAssertEqual(try eventlog.commitCount(), 1)
    }
  }
}
