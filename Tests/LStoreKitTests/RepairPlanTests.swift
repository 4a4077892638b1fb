import Foundation
import LStoreSQLite
import XCTest
@testable import LStoreKit

/// The plan is a value worked out before anything changes; applying it changes only what
/// it says.
final class RepairPlanTests: XCTestCase {
  /// Kept for the test's length: the directory is removed when it goes.
  private var directories: [TemporaryDirectory] = []

  private func store(events: Int) throws -> (TemporaryDirectory, Store) {
    let directory = try TemporaryDirectory()
    directories.append(directory)
    let store = try Fixtures.makeStore(in: directory)
    let replica = try Fixtures.openReplica(store)
    for i in 1...events {
      try Fixtures.commit(replica, [("v1.TodoCreated", ["id": .string("t\(i)"), "text": "x"])], message: "c\(i)")
    }
    return (directory, store)
  }

  private func sql(_ path: String, _ statement: String) throws {
    try Connection(path: path, mode: .readWrite).execute(statement)
  }

  func testACleanStoreHasAnEmptyPlan() throws {
    let (_, store) = try store(events: 2)
    let plan = try Repair.plan(store: store, schema: try store.loadSchema(), now: Fixtures.now)
    XCTAssertTrue(plan.isEmpty)
    XCTAssertEqual(plan.actions, [])
    let result = try Repair.run(store: store, schema: try store.loadSchema(), now: Fixtures.now)
    XCTAssertNil(result.backup, "nothing to change, nothing backed up")
    XCTAssertEqual(result.after.errors, 0)
  }

  func testAGapPlansRenumberingAfterTheLastGoodEvent() throws {
    let (_, store) = try store(events: 3)
    try sql(store.eventlogPath, "UPDATE eventlog SET seqNumGlobal = 5, parentSeqNumGlobal = 4 WHERE seqNumGlobal = 3; UPDATE lstore_commit SET firstGlobal = 5, lastGlobal = 5 WHERE lastGlobal = 3")
    let plan = try Repair.plan(store: store, schema: try store.loadSchema(), now: Fixtures.now)
    XCTAssertEqual(plan.renumberAfter, SeqNum(global: 2))
    XCTAssertEqual(plan.actions.map(\.kind), [.renumber, .rebuildState])
    XCTAssertFalse(plan.needsForce)
    XCTAssertEqual(plan.actions[0].change, "e5 (parent e4) becomes e3 (parent e2); its changeset and commit move with it")
    let result = try Repair.run(store: store, schema: try store.loadSchema(), now: Fixtures.now)
    XCTAssertEqual(result.after.errors, 0, "\(result.after.findings)")
    let eventlog = try store.openEventlog()
    XCTAssertEqual(try eventlog.commit(containing: SeqNum(global: 3))?.message, "c3", "the commit moved with its event")
    XCTAssertEqual(try eventlog.reflog(limit: 1).first?.action, "repair")
  }

  func testConfirmedEventsNeedForce() throws {
    let (_, store) = try store(events: 3)
    try sql(store.eventlogPath, "UPDATE __livestore_sync_status SET head = 3; UPDATE eventlog SET name = 'v9.Nope' WHERE seqNumGlobal = 2")
    let plan = try Repair.plan(store: store, schema: try store.loadSchema(), now: Fixtures.now)
    XCTAssertTrue(plan.needsForce)
    XCTAssertEqual(plan.actions.filter(\.confirmed).map(\.subject), ["e2", "e3", "sync status"])
    let before = try Data(contentsOf: URL(fileURLWithPath: store.eventlogPath))
    assertThrows(try Repair.run(store: store, schema: try store.loadSchema(), now: Fixtures.now),
                 contains: ["would rewrite events the backend has confirmed (e2, e3, sync status)", "nothing was changed"])
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: store.eventlogPath)), before)
  }

  /// A backup lists a file that did not exist; restoring it removes the file again, and
  /// removes what the repair created.
  func testRestoreRemovesFilesThatDidNotExist() throws {
    let directory = try TemporaryDirectory()
    let storeDirectory = directory.file(".lstore")
    try FileManager.default.createDirectory(atPath: storeDirectory + "/branches/main", withIntermediateDirectories: true)
    let kept = try directory.write(".lstore/branches/main/a.db", "original")
    let backup = try RepairBackup.write(storeDirectory: storeDirectory, files: [kept, storeDirectory + "/branches/main/b.db"],
                                        created: [storeDirectory + "/quarantine/q.ndjson"], now: Fixtures.now)
    XCTAssertEqual(backup.entries.map(\.size), [8, nil])
    try "changed".write(toFile: kept, atomically: true, encoding: .utf8)
    try "new".write(toFile: storeDirectory + "/branches/main/b.db", atomically: true, encoding: .utf8)
    try FileManager.default.createDirectory(atPath: storeDirectory + "/quarantine", withIntermediateDirectories: true)
    try "q".write(toFile: storeDirectory + "/quarantine/q.ndjson", atomically: true, encoding: .utf8)
    XCTAssertEqual(try RepairBackup.read(directory: backup.directory), backup)
    try RepairBackup.read(directory: backup.directory).restore(into: storeDirectory)
    XCTAssertEqual(try String(contentsOfFile: kept, encoding: .utf8), "original")
    XCTAssertFalse(FileManager.default.fileExists(atPath: storeDirectory + "/branches/main/b.db"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: storeDirectory + "/quarantine/q.ndjson"))
  }
}
