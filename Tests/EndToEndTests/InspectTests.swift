import Foundation
import XCTest

/// `lstore sql` and `lstore diff`, through the binary.
final class InspectTests: XCTestCase {
  /// Three todos, t1 completed, t2 renamed, t3 purged (e1..e6), one commit each.
  func makeStore() throws -> VCStore {
    let store = try VCStore()
    try store.create("t1", "c1", text: "one")
    try store.create("t2", "c2", text: "two, too")
    try store.create("t3", "c3", text: "three")
    try store.event("v1.TodoCompleted", #"{"id":"t1"}"#, "c4")
    try store.event("v1.TodoRenamed", #"{"id":"t2","text":"deux"}"#, "c5")
    try store.event("v1.TodoPurged", #"{"id":"t3"}"#, "c6")
    return store
  }

  // MARK: - sql

  func testSQLTableJSONAndCSV() throws {
    let store = try makeStore()
    let table = try store.ok("sql", "select id, completed, text, deletedAt, 1.5 as r from todos order by id")
    XCTAssertEqual(table.lines, [
      "id  completed  text  deletedAt    r",
      "--  ---------  ----  ---------  ---",
      "t1          1  one        NULL  1.5",
      "t2          0  deux       NULL  1.5",
    ], table.stdout)

    // A line break stays on its line in the table; in JSON and CSV it is kept.
    XCTAssertEqual(try store.ok("sql", "select 'a' || char(10) || 'b' as v").lines, ["v", "----", #"a\nb"#])
    XCTAssertEqual(try store.ok("sql", "--json", "select 'a' || char(10) || 'b' as v").lines, [#"{"v":"a\nb"}"#])
    XCTAssertEqual(try store.ok("sql", "--csv", "select 'a' || char(10) || 'b' as v").stdout, "v\r\n\"a\nb\"\r\n")

    let json = try store.ok("sql", "--json", "select id, completed, deletedAt, 1.5 as r, x'00ff' as b from todos order by id")
    XCTAssertEqual(json.lines, [
      #"{"id":"t1","completed":1,"deletedAt":null,"r":1.5,"b":"x'00ff'"}"#,
      #"{"id":"t2","completed":0,"deletedAt":null,"r":1.5,"b":"x'00ff'"}"#,
    ])

    let csv = try store.ok("sql", "--csv", "select 'a,b' as id, 'say \"hi\"' as text, null as n")
    XCTAssertEqual(csv.stdout, "id,text,n\r\n\"a,b\",\"say \"\"hi\"\"\",\r\n")
  }

  func testSQLSeesTheEventlogAttached() throws {
    let store = try makeStore()
    XCTAssertEqual(try store.ok("sql", "--csv", "select count(*) as n from eventlog").stdout, "n\r\n6\r\n")
    XCTAssertEqual(try store.ok("sql", "--csv", "select name from eventlog.eventlog where seqNumGlobal = 6").stdout, "name\r\nv1.TodoPurged\r\n")
    // A join of state and events: which todos were created by which event.
    let joined = try store.ok("sql", "--csv", """
      select t.id, e.seqNumGlobal from todos t join eventlog e on e.name = 'v1.TodoCreated' and json_extract(e.argsJson, '$.id') = t.id order by t.id
      """)
    XCTAssertEqual(joined.stdout, "id,seqNumGlobal\r\nt1,1\r\nt2,2\r\n")
  }

  func testSQLOnABareEventlog() throws {
    let store = try makeStore()
    let bare = try store.ok("--eventlog", store.eventlogPath(), "sql", "--json", "select seqNumGlobal as n, name from eventlog where seqNumGlobal <= 2")
    XCTAssertEqual(bare.lines, [#"{"n":1,"name":"v1.TodoCreated"}"#, #"{"n":2,"name":"v1.TodoCreated"}"#])
    // No state there.
    let noState = try store.run("--eventlog", store.eventlogPath(), "sql", "select * from todos")
    XCTAssertEqual(noState.status, 65, noState.description)
    XCTAssertEqual(noState.stderrLines, ["lstore: error: SQL: no such table: todos"])
    let missing = try store.run("--eventlog", store.sandbox.path("nope.db"), "sql", "select 1")
    XCTAssertEqual(missing.status, 66, missing.description)
  }

  func testSQLRefusesWritesAndBadQueries() throws {
    let store = try makeStore()
    let before = try store.dump()
    for write in [
      "delete from todos", "update todos set text = 'x'", "insert into todos (id) values ('z')", "drop table todos",
      "create table x (a)", "delete from eventlog", "attach database '\(store.sandbox.path("other.db"))' as other",
      "pragma query_only = off", "create temp table x (a)", "begin",
    ] {
      let result = try store.run("sql", write)
      XCTAssertEqual(result.status, 65, "\(write): \(result)")
      XCTAssertEqual(result.stderrLines.count, 1, "\(write): \(result)")
      XCTAssertTrue(result.stderrLines.first?.hasPrefix("lstore: error: ") == true, "\(write): \(result)")
      XCTAssertEqual(result.stdout, "", write)
    }
    XCTAssertEqual(try store.dump(), before, "nothing changed")
    XCTAssertFalse(store.sandbox.exists("other.db"))

    let malformed = try store.run("sql", "selec * from todos")
    XCTAssertEqual(malformed.status, 65)
    XCTAssertEqual(malformed.stderrLines, [#"lstore: error: SQL: near "selec": syntax error"#])
    let unknownTable = try store.run("sql", "select * from nope")
    XCTAssertEqual(unknownTable.status, 65)
    XCTAssertEqual(unknownTable.stderrLines, ["lstore: error: SQL: no such table: nope"])
    let two = try store.run("sql", "select 1; select 2")
    XCTAssertEqual(two.status, 65)
    XCTAssertEqual(two.stderrLines, ["lstore: error: give one SQL statement, not 2"])
    XCTAssertEqual(try store.run("sql", "--json", "--csv", "select 1").status, 64)
  }

  // MARK: - diff

  func testDiffBetweenEvents() throws {
    let store = try makeStore()
    // e3: t1, t2, t3 created. e6: t1 completed, t2 renamed, t3 gone.
    let text = try store.ok("diff", "e3", "e6", "--table", "todos")
    XCTAssertEqual(text.lines, [
      "todos: +0 -1 ~2",
      #"- {"id":"t3","text":"three","completed":0,"deletedAt":null}"#,
      "~ t1 completed: 0 -> 1",
      "~ t2 text: two, too -> deux",
    ], text.stdout)

    let json = try store.ok("diff", "e1", "e3", "--json", "--table", "todos")
    XCTAssertEqual(json.lines, [
      #"{"table":"todos","added":[{"id":"t2","text":"two, too","completed":0,"deletedAt":null},{"id":"t3","text":"three","completed":0,"deletedAt":null}],"removed":[],"changed":[]}"#,
    ])

    // Reversed, from the start (e0), and with the default <to> (HEAD).
    XCTAssertEqual(try store.ok("diff", "e6", "e3", "--table", "todos").lines.first, "todos: +1 -0 ~2")
    XCTAssertEqual(try store.ok("diff", "e0", "--table", "todos").lines.first, "todos: +2 -0 ~0")
    XCTAssertEqual(try store.ok("diff", "e4", "e4", "--table", "todos").lines, ["todos: +0 -0 ~0"])
    // Every table without --table, the client document's too.
    let all = try store.ok("diff", "e5", "e6")
    XCTAssertEqual(all.lines.filter { !$0.hasPrefix("-") && !$0.hasPrefix("+") && !$0.hasPrefix("~") }, ["todos: +0 -1 ~0", "uiState: +0 -0 ~0"], all.stdout)
  }

  func testDiffBetweenCommitsAndBranches() throws {
    let store = try makeStore()
    let ids = try store.commitIds()
    guard let c4 = ids["c4"], let c5 = ids["c5"] else { return XCTFail("\(ids)") }
    XCTAssertEqual(try store.ok("diff", String(c4.prefix(8)), String(c5.prefix(8)), "--table", "todos").lines,
                   ["todos: +0 -0 ~1", "~ t2 text: two, too -> deux"])
    XCTAssertEqual(try store.ok("diff", "HEAD~1", "HEAD", "--table", "todos").lines.first, "todos: +0 -1 ~0")

    try store.ok("branch", "b1")
    try store.ok("switch", "b1")
    try store.create("t9", "c9")
    try store.ok("switch", "main")
    XCTAssertEqual(try store.ok("diff", "main", "b1", "--table", "todos").lines,
                   ["todos: +1 -0 ~0", #"+ {"id":"t9","text":"t9","completed":0,"deletedAt":null}"#])
    // The store is as it was.
    try store.assertSound()
  }

  /// A past head from the reflog: what a reset undid is diffed against the head now, on a
  /// scratch copy; the store is not touched.
  func testDiffAgainstAPastHeadFromTheReflog() throws {
    let store = try makeStore()
    try store.ok("reset", "--hard", "HEAD~2")  // drops c5 (t2 renamed) and c6 (t3 purged)
    let before = try store.dump()
    XCTAssertEqual(try store.ok("diff", "HEAD@{1}", "HEAD", "--table", "todos").lines, [
      "todos: +1 -0 ~1",
      #"+ {"id":"t3","text":"three","completed":0,"deletedAt":null}"#,
      "~ t2 text: deux -> two, too",
    ])
    XCTAssertEqual(try store.ok("diff", "HEAD", "@{1}", "--table", "todos").lines.first, "todos: +0 -1 ~1")
    XCTAssertEqual(try store.dump(), before, "nothing changed")
    try store.assertSound()
    let tooFar = try store.run("diff", "HEAD@{99}")
    XCTAssertEqual(tooFar.status, 66, tooFar.description)
  }

  func testDiffOnABareEventlogAndBadInput() throws {
    let store = try makeStore()
    let bare = try store.ok("--eventlog", store.eventlogPath(), "diff", "e2", "e3", "--table", "todos", "--schema", store.sandbox.path("vc-schema.yaml"))
    XCTAssertEqual(bare.lines.first, "todos: +1 -0 ~0")
    let noSchema = try store.run("--eventlog", store.eventlogPath(), "diff", "e2", "e3")
    XCTAssertEqual(noSchema.status, 64, noSchema.description)

    let unknownRevision = try store.run("diff", "e1", "e99")
    XCTAssertEqual(unknownRevision.status, 66, unknownRevision.description)
    XCTAssertEqual(unknownRevision.stderrLines, ["lstore: error: no event e99 (head is e6)"])
    let unknownName = try store.run("diff", "nosuchthing", "e2")
    XCTAssertEqual(unknownName.status, 66, unknownName.description)
    let malformed = try store.run("diff", "HEAD@{x}", "e3")
    XCTAssertEqual(malformed.status, 64, malformed.description)
    XCTAssertEqual(try store.run("diff", "e1..e2..e3").status, 66, "not a revision either side")
    // A..B is A B.
    XCTAssertEqual(try store.ok("diff", "e2..e3", "--table", "todos").lines.first, "todos: +1 -0 ~0")
    XCTAssertEqual(try store.ok("diff", "e5..", "--table", "todos").lines.first, "todos: +0 -1 ~0")
    let unknownTable = try store.run("diff", "e1", "e2", "--table", "nope")
    XCTAssertEqual(unknownTable.status, 66, unknownTable.description)
    XCTAssertEqual(unknownTable.stderrLines, ["lstore: error: no table 'nope' in the schema (tables: todos, uiState)"])
  }

  // MARK: - blame

  func testBlame() throws {
    let store = try makeStore()
    let ids = try store.commitIds()
    guard let c1 = ids["c1"], let c4 = ids["c4"] else { return XCTFail("\(ids)") }
    let json = try store.ok("blame", "todos", "t1", "--json")
    let rows = json.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    XCTAssertEqual(rows.map { "\($0["column"]!) \($0["seqNum"]!) \($0["name"]!)" }, [
      "id e1 v1.TodoCreated", "text e1 v1.TodoCreated", "completed e4 v1.TodoCompleted", "deletedAt e1 v1.TodoCreated",
    ], json.stdout)
    let commits = rows.compactMap { $0["commit"] as? String }
    XCTAssertEqual(commits.count, 4)
    XCTAssertTrue(commits[0].hasPrefix(c1) && commits[2].hasPrefix(c4), "\(commits) \(ids)")
    XCTAssertTrue(json.lines[1].contains(#""value":"one""#), json.stdout)

    let text = try store.ok("blame", "todos", "t2")
    guard text.lines.count == 4 else { return XCTFail(text.description) }
    XCTAssertTrue(text.lines[1].hasPrefix("e5 "), text.stdout)
    XCTAssertTrue(text.lines[1].hasSuffix(" v1.TodoRenamed text      = deux"), text.stdout)

    let gone = try store.run("blame", "todos", "t3")
    XCTAssertEqual(gone.status, 66, gone.description)
    XCTAssertEqual(gone.stderrLines, ["lstore: error: no row 't3' in todos (deleted by e6)"])
    let never = try store.run("blame", "todos", "zz")
    XCTAssertEqual(never.status, 66, never.description)
    XCTAssertEqual(never.stderrLines, ["lstore: error: no row 'zz' in todos"])
    let unknownTable = try store.run("blame", "nope", "t1")
    XCTAssertEqual(unknownTable.status, 66, unknownTable.description)
    XCTAssertEqual(unknownTable.stderrLines, ["lstore: error: no table 'nope' in the schema (tables: todos, uiState)"])

    // A row deleted and created again is blamed on its new insert.
    try store.create("t3", "c7", text: "again")
    let again = try store.ok("blame", "todos", "t3", "--json")
    XCTAssertTrue(again.lines.allSatisfy { $0.contains(#""seqNum":"e7""#) }, again.stdout)
  }

  /// A table without a primary key: diff shows a changed row as removed and added; blame
  /// cannot name a row; a missing state is "not found" for sql.
  func testTableWithoutAKeyAndMissingState() throws {
    let sandbox = try Sandbox()
    try sandbox.write("notes.yaml", """
      name: notes
      tables:
        notes:
          columns:
            text: { type: text }
      events:
        v1.NoteAdded:
          args: { text: string }
          materializer: INSERT INTO notes (text) VALUES ($text)
        v1.NotesUppercased:
          args: {}
          materializer: UPDATE notes SET text = upper(text)

      """)
    XCTAssertEqual(try sandbox.lstore("init", "--schema", sandbox.path("notes.yaml"), "--store-id", "notes", sandbox.root).status, 0)
    XCTAssertEqual(try sandbox.lstore("commit", "v1.NoteAdded", #"{"text":"a"}"#).status, 0)
    XCTAssertEqual(try sandbox.lstore("commit", "v1.NotesUppercased", "{}").status, 0)
    let diff = try sandbox.lstore("diff", "e1", "e2")
    XCTAssertEqual(diff.status, 0, diff.description)
    XCTAssertEqual(diff.lines, ["notes: +1 -1 ~0", #"+ {"text":"A"}"#, #"- {"text":"a"}"#])
    let blame = try sandbox.lstore("blame", "notes", "a")
    XCTAssertEqual(blame.status, 64, blame.description)
    XCTAssertEqual(blame.stderrLines, ["lstore: error: table 'notes' has no primary key: its rows cannot be named"])

    XCTAssertEqual(try sandbox.lstore("sql", "--csv", "select text from notes").stdout, "text\r\nA\r\n")
    let statePath = try sandbox.statePath()
    try FileManager.default.removeItem(atPath: statePath)
    let noState = try sandbox.lstore("sql", "select 1")
    XCTAssertEqual(noState.status, 66, noState.description)
    XCTAssertEqual(noState.stderrLines, ["lstore: error: no state for this schema yet (lstore materialize builds it)"])
    // An empty file where the state should be is no state either.
    XCTAssertTrue(FileManager.default.createFile(atPath: statePath, contents: Data()))
    let empty = try sandbox.lstore("sql", "select count(*) from notes")
    XCTAssertEqual(empty.status, 66, empty.description)
    XCTAssertEqual(empty.stderrLines, noState.stderrLines)
  }

  /// A primary key of two columns: one key value per column, in the key's order; the wrong
  /// number of values is a usage error that names the columns.
  func testBlameOfARowWithACompositeKey() throws {
    let sandbox = try Sandbox()
    try sandbox.write("seats.yaml", """
      name: seats
      tables:
        seats:
          columns:
            hall: { type: text, primaryKey: true }
            number: { type: integer, primaryKey: true }
            holder: { type: text, nullable: true }
            paid: { type: boolean, default: false }
      events:
        v1.SeatBooked:
          args: { hall: string, number: number, holder: string }
          materializer: INSERT INTO seats (hall, number, holder) VALUES ($hall, $number, $holder)
        v1.SeatPaid:
          args: { hall: string, number: number }
          materializer: UPDATE seats SET paid = 1 WHERE hall = $hall AND number = $number

      """)
    XCTAssertEqual(try sandbox.lstore("init", "--schema", sandbox.path("seats.yaml"), "--store-id", "seats", sandbox.root).status, 0)
    for (name, args) in [("v1.SeatBooked", #"{"hall":"a","number":1,"holder":"ann"}"#),
                         ("v1.SeatBooked", #"{"hall":"a","number":2,"holder":"bob"}"#),
                         ("v1.SeatBooked", #"{"hall":"b","number":1,"holder":"cy"}"#),
                         ("v1.SeatPaid", #"{"hall":"a","number":2}"#)] {
      XCTAssertEqual(try sandbox.lstore("commit", name, args).status, 0)
    }
    let blame = jsonLines(try sandbox.lstore("blame", "seats", "a", "2", "--json"))
    XCTAssertEqual(blame.map { $0["column"] as? String }, ["hall", "number", "holder", "paid"])
    XCTAssertEqual(blame.map { $0["seqNum"] as? String }, ["e2", "e2", "e2", "e4"])
    XCTAssertEqual(jsonLines(try sandbox.lstore("blame", "seats", "b", "1", "--json")).map { $0["seqNum"] as? String },
                   ["e3", "e3", "e3", "e3"])
    let one = try sandbox.lstore("blame", "seats", "a")
    XCTAssertEqual(one.status, 64, one.description)
    XCTAssertEqual(one.stderrLines, ["lstore: error: table 'seats' has a primary key of 2 columns (hall, number): give one value for each, in that order, not 1"])
    let missing = try sandbox.lstore("blame", "seats", "c", "9")
    XCTAssertEqual(missing.status, 66, missing.description)
    XCTAssertEqual(missing.stderrLines, ["lstore: error: no row 'c, 9' in seats"])
  }
}
