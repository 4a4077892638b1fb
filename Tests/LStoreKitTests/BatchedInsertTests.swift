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
}
