import XCTest
import LStoreSQLite
@testable import LStoreKit

/// `SchemaReplay` (lstore replay) and the rebuild capability under it (`ReplayObserver`):
/// counts per event name, failures captured without stopping the replay and without leaving
/// writes behind, unknown events, bad args, rows written per table, the diff against a state.
final class SchemaReplayTests: XCTestCase {
  var directory: TemporaryDirectory!
  var store: Store!

  static let schema = """
    tables:
      todos:
        columns:
          id: { type: text, primaryKey: true }
          text: { type: text, default: "" }
          n: { type: integer, default: 0 }
      log:
        columns:
          seq: { type: text, primaryKey: true }
    events:
      v1.Created:
        args: { id: string, text: string }
        materializer:
          - INSERT INTO todos (id, text) VALUES ($id, $text)
          - INSERT INTO log (seq) VALUES ($_seqNum)
      v1.Bumped:
        args: { id: string }
        materializer: UPDATE todos SET n = n + 1 WHERE id = $id
      v1.Removed:
        args: { id: string }
        materializer: DELETE FROM todos WHERE id = $id
      v1.Reset:
        args: {}
        materializer: UPDATE todos SET n = 0
    """

  /// e1 Created t1, e2 Created t2, e3 Bumped t1, e4 Bumped t2, e5 Removed t2, e6 Reset,
  /// e7 Created t3, e8 Bumped t1. Its state: todos t1 (n 1), t3; log e1, e2, e7.
  override func setUpWithError() throws {
    directory = try TemporaryDirectory()
    let path = try directory.write("schema.yaml", Self.schema)
    store = try Fixtures.makeStore(in: directory, schemaPath: path)
    let replica = try Fixtures.openReplica(store)
    try Fixtures.commit(replica, [("v1.Created", ["id": "t1", "text": "one"]), ("v1.Created", ["id": "t2", "text": "two"])])
    try Fixtures.commit(replica, [("v1.Bumped", ["id": "t1"]), ("v1.Bumped", ["id": "t2"]), ("v1.Removed", ["id": "t2"])])
    try Fixtures.commit(replica, [("v1.Reset", [:]), ("v1.Created", ["id": "t3", "text": "three"]), ("v1.Bumped", ["id": "t1"])])
  }

  override func tearDown() {
    store = nil
    directory = nil
  }

  /// A variant of the schema: `edit` applied to its text.
  private func schema(_ name: String, _ edit: (String) -> String) throws -> Schema {
    let text = edit(Self.schema)
    XCTAssertNotEqual(text, Self.schema, "the edit changed nothing")
    return try SchemaLoader.load(path: try directory.write(name, text))
  }

  /// v1.Created fails in its second statement for t3 (after the first inserted the todo);
  /// v1.Reset is gone.
  private func strictSchema() throws -> Schema {
    try schema("strict.yaml") {
      $0.replacingOccurrences(of: "- INSERT INTO log (seq) VALUES ($_seqNum)",
                              with: "- INSERT INTO log (seq) SELECT CASE WHEN $id = 't3' THEN NULL ELSE $_seqNum END")
        .replacingOccurrences(of: "  v1.Reset:\n    args: {}\n    materializer: UPDATE todos SET n = 0", with: "")
    }
  }

  /// Appends an event row to the store's eventlog by plain SQL, as a damaged or foreign log has it.
  private func appendRaw(_ global: Int64, name: String, args: String) throws {
    let connection = try Connection(path: store.eventlogPath, mode: .readWrite)
    try connection.execute("INSERT INTO eventlog VALUES (?, 0, ?, 0, ?, ?, 'client1', 'session1', 0, '{\"_tag\":\"None\"}')",
                           [.integer(global), .integer(global - 1), .text(name), .text(args)])
  }

  private func run(_ schema: Schema, against: String? = nil, sampleLimit: Int = 10) throws -> SchemaReplay.Report {
    try SchemaReplay.run(eventlogPath: store.eventlogPath, schema: schema, againstPath: against, sampleLimit: sampleLimit,
                         now: Fixtures.now)
  }

  private func stats(_ report: SchemaReplay.Report, _ name: String) throws -> SchemaReplay.EventStats {
    try XCTUnwrap(report.names.first { $0.name == name }, "no stats for \(name): \(report.names.map(\.name))")
  }

  private func writes(_ report: SchemaReplay.Report) -> [String] {
    report.tables.map { "\($0.table) +\($0.inserted) ~\($0.updated) -\($0.deleted)" }
  }

  // MARK: - The report

  func testCleanReplayCountsEventsPerNameAndRowsPerTable() throws {
    let before = try StoreSnapshot.take(try Fixtures.openReplica(store))
    let schema = try store.loadSchema()
    let report = try run(schema, against: store.statePath(for: schema))
    XCTAssertEqual(report.outcome, .clean)
    XCTAssertEqual(report.events, 8)
    XCTAssertEqual(report.head, SeqNum(global: 8))
    XCTAssertEqual(report.applied, 8)
    XCTAssertEqual(report.failed, 0)
    XCTAssertEqual(report.names.map { "\($0.name) \($0.count) \($0.applied)" },
                   ["v1.Bumped 3 3", "v1.Created 3 3", "v1.Removed 1 1", "v1.Reset 1 1"])
    // Bumped t2 and Reset wrote rows even where values did not change: rows written, not changed.
    XCTAssertEqual(writes(report), ["todos +3 ~4 -1", "log +3 ~0 -0"])
    let against = try XCTUnwrap(report.against)
    XCTAssertFalse(against.differs)
    XCTAssertEqual(against.tables.map(\.status), ["same", "same"])
    XCTAssertEqual(try StoreSnapshot.take(try Fixtures.openReplica(store)), before, "replay changes nothing")
  }

  func testAFailingEventIsReportedAndTheReplayGoesOn() throws {
    let report = try run(try strictSchema())
    XCTAssertEqual(report.outcome, .failures)
    XCTAssertEqual(report.events, 8, "every event was replayed")
    let created = try stats(report, "v1.Created")
    XCTAssertEqual(created.count, 3)
    XCTAssertEqual(created.applied, 2)
    XCTAssertEqual(created.materializerFailures, 1)
    let failure = try XCTUnwrap(created.failures.first)
    XCTAssertEqual(failure.seqNum, SeqNum(global: 7))
    XCTAssertEqual(failure.kind, .materializer)
    XCTAssertTrue(failure.reason.contains("NOT NULL constraint failed: log.seq"), failure.reason)
    XCTAssertEqual(failure.statement, "INSERT INTO log (seq) SELECT CASE WHEN $id = 't3' THEN NULL ELSE $_seqNum END")
    XCTAssertEqual(failure.argsJSON, #"{"id":"t3","text":"three"}"#)
    // The event after the failure applied: e8 bumped t1.
    XCTAssertEqual(try stats(report, "v1.Bumped").applied, 3)
    // The failed event's first statement (the todo t3) was undone and not counted.
    XCTAssertEqual(writes(report), ["todos +2 ~3 -1", "log +2 ~0 -0"])
  }

  func testUnknownEventsAndArgsThatDoNotDecode() throws {
    try appendRaw(9, name: "v1.Bumped", args: #"{"id":5}"#)
    try appendRaw(10, name: "v1.Bumped", args: "{not json")
    try appendRaw(11, name: "v9.Mystery", args: "{}")
    let report = try run(try strictSchema())
    XCTAssertEqual(report.events, 11)
    let reset = try stats(report, "v1.Reset")
    XCTAssertFalse(reset.inSchema)
    XCTAssertEqual(reset.unknown, 1)
    XCTAssertEqual(reset.failures.map { "\($0.seqNum) \($0.kind.rawValue)" }, ["e6 unknown-event"])
    XCTAssertEqual(try stats(report, "v9.Mystery").unknown, 1)
    let bumped = try stats(report, "v1.Bumped")
    XCTAssertEqual(bumped.count, 5)
    XCTAssertEqual(bumped.applied, 3)
    XCTAssertEqual(bumped.invalidArgs, 2)
    XCTAssertEqual(bumped.failures.map { "\($0.seqNum) \($0.kind.rawValue) \($0.argsJSON)" },
                   [#"e9 invalid-args {"id":5}"#, "e10 invalid-args {not json"])
    XCTAssertEqual(report.unknownEvents, 2)
    XCTAssertEqual(report.invalidArgs, 2)
    XCTAssertEqual(report.materializerFailures, 1)
    XCTAssertEqual(report.failed, 5)
    XCTAssertEqual(report.applied, 6)
  }

  func testFailuresKeptPerNameAreBoundedAndCounted() throws {
    for n in Int64(9)...30 { try appendRaw(n, name: "v7.Junk", args: "{}") }
    let report = try run(try store.loadSchema(), sampleLimit: 3)
    let junk = try stats(report, "v7.Junk")
    XCTAssertEqual(junk.count, 22)
    XCTAssertEqual(junk.failures.map(\.seqNum.description), ["e9", "e10", "e11"])
    XCTAssertEqual(report.failed, 22)
  }

  func testUnknownNamesPastTheLimitAreCountedTogether() throws {
    let extra = SchemaReplay.maxUnknownNames + 5
    for n in 0..<extra { try appendRaw(Int64(9 + n), name: "v0.Name\(n)", args: "{}") }
    let report = try run(try store.loadSchema(), sampleLimit: 1)
    XCTAssertEqual(report.names.filter { !$0.inSchema }.count, SchemaReplay.maxUnknownNames)
    XCTAssertEqual(report.otherUnknownEvents, 5)
    XCTAssertEqual(report.unknownEvents, extra)
    XCTAssertEqual(report.failed, extra)
  }

  // MARK: - Against a state

  func testDiffAgainstTheStoresStateWithSamples() throws {
    let schema = try store.loadSchema()
    // Reset no longer resets: t1 keeps its n; Created now uppercases.
    let changed = try self.schema("changed.yaml") {
      $0.replacingOccurrences(of: "UPDATE todos SET n = 0", with: "UPDATE todos SET n = n")
        .replacingOccurrences(of: "VALUES ($id, $text)", with: "VALUES ($id, upper($text))")
    }
    let report = try run(changed, against: store.statePath(for: schema), sampleLimit: 1)
    XCTAssertEqual(report.outcome, .differences)
    let tables = try XCTUnwrap(report.against).tables
    guard case .compared(let todos) = tables.first else { return XCTFail("\(tables)") }
    XCTAssertEqual(todos.changedCount, 2, "t1 (n, text) and t3 (text)")
    XCTAssertEqual(todos.changed.count, 1, "a sample of one")
    XCTAssertEqual(todos.changeJSON(old: todos.changed[0].old, new: todos.changed[0].new).compactText,
                   #"{"key":{"id":"t1"},"old":{"text":"one","n":1},"new":{"text":"ONE","n":2}}"#)
    XCTAssertEqual(tables.map(\.status), ["differs", "same"])

    // With the failing schema: no t3 and no log e7 (removed), t1's n differs (no Reset).
    let strict = try run(try strictSchema(), against: store.statePath(for: schema))
    XCTAssertEqual(strict.outcome, .failures, "failures win over differences")
    let strictTables = try XCTUnwrap(strict.against).tables
    guard case .compared(let log) = strictTables.last else { return XCTFail("\(strictTables)") }
    XCTAssertEqual(log.removed.map { $0.map(\.description) }, [["e7"]])
    XCTAssertEqual(log.removedCount, 1)
    XCTAssertEqual(log.addedCount, 0)
  }

  func testTablesMissingOrWithOtherColumnsAreReported() throws {
    let schema = try store.loadSchema()
    let other = try self.schema("other.yaml") {
      $0.replacingOccurrences(of: "  log:\n    columns:\n      seq: { type: text, primaryKey: true }",
                              with: "  log:\n    columns:\n      seq: { type: text, primaryKey: true }\n      at: { type: integer, default: 0 }\n  tags:\n    columns:\n      name: { type: text, primaryKey: true }")
    }
    let statePath = try store.statePath(for: schema)
    // A copy of the state with a table that no schema has.
    try FileManager.default.copyItem(atPath: statePath, toPath: directory.file("against.db"))
    try Connection(path: directory.file("against.db"), mode: .readWrite).execute("CREATE TABLE extra (x)")
    let report = try run(other, against: directory.file("against.db"))
    let tables = try XCTUnwrap(report.against).tables
    XCTAssertEqual(tables.map { "\($0.table) \($0.status)" },
                   ["todos same", "log columns-differ", "tags missing", "extra not-in-schema"])
    guard case .columnsDiffer(_, let expected, let found) = tables[1] else { return XCTFail("\(tables)") }
    XCTAssertEqual(expected, ["seq", "at"])
    XCTAssertEqual(found, ["seq"])
    XCTAssertEqual(report.outcome, .differences)
  }

  func testAgainstFilesThatAreNotThereOrNotADatabase() throws {
    let schema = try store.loadSchema()
    assertThrows(try run(schema, against: directory.file("nope.db")), contains: ["no such file", "nope.db"])
    let junk = try directory.write("junk.db", String(repeating: "not a database ", count: 100))
    assertThrows(try run(schema, against: junk), contains: ["junk.db is not a readable state database", "not a database"])
  }

  func testTheJSONReportHasItsDocumentedKeys() throws {
    let report = try run(try strictSchema(), against: store.statePath(for: try store.loadSchema()))
    guard case .object(let object) = report.json else { return XCTFail("not an object") }
    XCTAssertEqual(object.entries.map(\.key), [
      "outcome", "schema", "eventlog", "events", "head", "applied", "failed", "unknownEvents", "invalidArgs",
      "materializerFailures", "otherUnknownEvents", "seconds", "names", "tables", "against",
    ])
    XCTAssertEqual(object["outcome"], "failures")
    XCTAssertEqual(object["events"], .integer(8))
    let created = report.json["names"]?.arrayValue?.first { $0["name"] == "v1.Created" }
    XCTAssertEqual(created?["failures"]?.arrayValue?.first?.compactText,
                   #"{"seqNum":"e7","kind":"materializer","reason":"NOT NULL constraint failed: log.seq","statement":"INSERT INTO log (seq) SELECT CASE WHEN $id = 't3' THEN NULL ELSE $_seqNum END","argsJson":"{\"id\":\"t3\",\"text\":\"three\"}"}"#)
    let log = report.json["against"]?["tables"]?.arrayValue?.last
    XCTAssertEqual(log?.compactText,
                   #"{"table":"log","status":"differs","added":0,"removed":1,"changed":0,"sample":{"added":[],"removed":[{"seq":"e7"}],"changed":[]},"schemaColumns":null,"fileColumns":null}"#)
  }

  func testTheScratchStateIsRemovedAndSoAreAbandonedOnes() throws {
    let temporary = NSTemporaryDirectory()
    func scratch() throws -> Set<String> {
      Set(try FileManager.default.contentsOfDirectory(atPath: temporary).filter { $0.hasPrefix(SchemaReplay.scratchPrefix) })
    }
    // One a killed replay left (no process has that id: it is above any pid_max), and one of
    // a replay still running (this process).
    let abandoned = SchemaReplay.scratchPrefix + "\(Int32.max)-0000"
    let running = SchemaReplay.scratchPrefix + "\(getpid())-running"
    for name in [abandoned, running] {
      try FileManager.default.createDirectory(atPath: temporary + name, withIntermediateDirectories: true)
    }
    defer { try? FileManager.default.removeItem(atPath: temporary + running) }
    let before = try scratch()
    _ = try run(try store.loadSchema())
    XCTAssertEqual(try scratch(), before.subtracting([abandoned]))
  }

  // MARK: - The engine under it

  /// The rebuild itself, with its state kept: a failed event leaves no row behind, whether
  /// it failed in its first statement (SQLite undoes it) or a later one (the savepoint).
  func testARebuildThatGoesOnUndoesEachFailedEvent() throws {
    let schema = try self.schema("dup.yaml") {
      $0.replacingOccurrences(of: "UPDATE todos SET n = n + 1 WHERE id = $id",
                              with: "INSERT INTO todos (id) SELECT $id WHERE $id = 't2'")
    }
    var failed: [String] = []
    var applied: [String] = []
    let statePath = directory.file("kept.db")
    let report = try Rematerializer.rebuild(
      eventlogPath: store.eventlogPath, statePath: statePath, schema: schema, updatedAt: Fixtures.now,
      replaying: ReplayObserver(applied: { seqNum, _ in applied.append(seqNum.description) },
                                failed: { seqNum, name, _, error in failed.append("\(seqNum) \(name) \(type(of: error))") }))
    XCTAssertEqual(report.events, 8)
    // e4 inserts t2 again (UNIQUE, first statement); e1..e3, e5.. apply.
    XCTAssertEqual(failed, ["e4 v1.Bumped MaterializeError"])
    XCTAssertEqual(applied, ["e1", "e2", "e3", "e5", "e6", "e7", "e8"])
    let rows = try TableDump.userRows(statePath: statePath, schema: schema)
    XCTAssertEqual(rows["todos"], ["t1|one|0", "t3|three|0"])
    XCTAssertEqual(rows["log"], ["e1", "e2", "e7"])
    XCTAssertEqual(report.rowsWritten.map { "\($0.table) \($0.counts.inserted) \($0.counts.updated) \($0.counts.deleted)" },
                   ["todos 3 1 1", "log 3 0 0"])
    // No changesets in a replay's scratch state, though every event is pending.
    XCTAssertEqual(try Connection(path: statePath, mode: .readOnly).scalar("SELECT count(*) FROM __livestore_session_changeset"),
                   .integer(0))

    // e7 fails in its second statement, after its first inserted t3: the savepoint undoes it.
    let strict = try strictSchema()
    let strictPath = directory.file("strict.db")
    failed = []
    _ = try Rematerializer.rebuild(
      eventlogPath: store.eventlogPath, statePath: strictPath, schema: strict, updatedAt: Fixtures.now,
      replaying: ReplayObserver(applied: { _, _ in }, failed: { seqNum, _, _, _ in failed.append(seqNum.description) }))
    XCTAssertEqual(failed, ["e6", "e7"])
    let strictRows = try TableDump.userRows(statePath: strictPath, schema: strict)
    XCTAssertEqual(strictRows["todos"], ["t1|one|2"])
    XCTAssertEqual(strictRows["log"], ["e1", "e2"])
  }

  /// `OR ROLLBACK` ends the whole transaction: the replay cannot go on and says so.
  func testAMaterializerThatRollsBackEverythingStopsTheReplay() throws {
    let schema = try self.schema("rollback.yaml") {
      $0.replacingOccurrences(of: "UPDATE todos SET n = n + 1 WHERE id = $id",
                              with: "INSERT OR ROLLBACK INTO todos (id) VALUES ('t1')")
    }
    assertThrows(try run(schema), contains: ["materializer of e3 v1.Bumped", "UNIQUE constraint failed: todos.id"])
    // In the second statement of an event, inside its savepoint (which the rollback ends too).
    let second = try self.schema("rollback2.yaml") {
      $0.replacingOccurrences(of: "- INSERT INTO log (seq) VALUES ($_seqNum)", with: "- INSERT OR ROLLBACK INTO log (seq) VALUES ('e1')")
    }
    assertThrows(try run(second), contains: ["materializer of e2 v1.Created", "UNIQUE constraint failed: log.seq"])
  }

  /// Without an observer the first failure still stops a rebuild (materialize, diff, blame).
  func testAPlainRebuildStillStopsAtTheFirstFailure() throws {
    assertThrows(try Rematerializer.rebuild(eventlogPath: store.eventlogPath, statePath: directory.file("x.db"),
                                            schema: try strictSchema(), updatedAt: Fixtures.now),
                 contains: ["event e6 is 'v1.Reset', which", "strict.yaml does not define"])
  }
}
