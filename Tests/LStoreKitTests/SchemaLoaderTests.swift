import XCTest
import LStoreSQLite
@testable import LStoreKit

/// Schema files: what they accept, and that every error names the file, the table or
/// event, and the field.
final class SchemaLoaderTests: XCTestCase {
  var directory: TemporaryDirectory!

  override func setUpWithError() throws { directory = try TemporaryDirectory() }
  override func tearDown() { directory = nil }

  private func load(_ yaml: String, name: String = "s.yaml") throws -> Schema {
    try SchemaLoader.load(path: try directory.write(name, yaml))
  }

  /// Loads `yaml`, expects a SchemaError and checks its parts.
  private func assertSchemaError(_ yaml: String, location: String, reason: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
    let path = directory.file("broken.yaml")
    XCTAssertNoThrow(try directory.write("broken.yaml", yaml), file: file, line: line)
    XCTAssertThrowsError(try SchemaLoader.load(path: path), file: file, line: line) { error in
      guard let error = error as? SchemaError else { return XCTFail("not a SchemaError: \(error)", file: file, line: line) }
      XCTAssertEqual(error.file, path, file: file, line: line)
      XCTAssertEqual(error.location, location, "\(error)", file: file, line: line)
      XCTAssertTrue(error.reason.contains(reason), "reason \"\(error.reason)\" lacks \"\(reason)\"", file: file, line: line)
      XCTAssertTrue(error.description.hasPrefix("\(path): \(location): "), error.description, file: file, line: line)
    }
  }

  private let okTable = """
    tables:
      todos:
        columns:
          id: { type: text, primaryKey: true }
          n: { type: integer, default: 0 }

    """

  // MARK: - Errors

  func testUnknownArgTypeNamesEventAndField() {
    assertSchemaError(okTable + """
      events:
        v1.Made:
          args: { id: string, count: strng }
          materializer: []
      """, location: "event 'v1.Made', field 'count'", reason: "unknown type 'strng'")
  }

  func testUnknownNestedArgTypeNamesTheNestedField() {
    assertSchemaError(okTable + """
      events:
        v1.Made:
          args:
            id: string
            meta: { object: { tags: "wat[]" } }
          materializer: []
      """, location: "event 'v1.Made', field 'meta', field 'tags'", reason: "unknown type 'wat'")
  }

  func testUnknownColumnTypeNamesTableAndColumn() {
    assertSchemaError("""
      tables:
        todos:
          columns:
            id: { type: text, primaryKey: true }
            done: { type: bool }
      """, location: "table 'todos', column 'done'", reason: "unknown column type 'bool'")
    assertSchemaError("""
      tables:
        todos:
          columns:
            id: varchar
      """, location: "table 'todos', column 'id'", reason: "unknown column type 'varchar'")
  }

  func testBadColumnDefaultNamesTableAndColumn() {
    assertSchemaError("""
      tables:
        todos:
          columns:
            id: { type: text, primaryKey: true }
            n: { type: integer, default: "many" }
      """, location: "table 'todos', column 'n'", reason: "does not fit a integer column")
    assertSchemaError("""
      tables:
        todos:
          columns:
            id: { type: text, primaryKey: true }
            done: { type: boolean, default: 1 }
      """, location: "table 'todos', column 'done'", reason: "does not fit")
    assertSchemaError("""
      tables:
        todos:
          columns:
            id: { type: text, primaryKey: true }
            at: { type: datetime, default: "yesterday" }
      """, location: "table 'todos', column 'at'", reason: "does not fit")
    assertSchemaError("""
      tables:
        todos:
          columns:
            id: { type: text, primaryKey: true }
            at: { type: text, default: null }
      """, location: "table 'todos', column 'at'", reason: "nullable")
  }

  func testBadArgDefaultNamesEventAndField() {
    assertSchemaError(okTable + """
      events:
        v1.Made:
          args:
            id: string
            n: { type: integer, default: "x" }
          materializer: []
      """, location: "event 'v1.Made', field 'n', default", reason: "expected an integer, got a string")
    assertSchemaError(okTable + """
      events:
        v1.Made:
          args:
            kind: { literal: [a, b], default: c }
          materializer: []
      """, location: "event 'v1.Made', field 'kind', default", reason: "expected one of \"a\", \"b\"")
  }

  func testMissingMaterializerNamesTheEvent() {
    assertSchemaError(okTable + """
      events:
        v1.Made:
          args: { id: string }
      """, location: "event 'v1.Made'", reason: "missing 'materializer'")
  }

  func testMaterializerSQLErrorNamesEventAndStatement() {
    assertSchemaError(okTable + """
      events:
        v1.Made:
          args: { id: string }
          materializer:
            - INSERT INTO todos (id) VALUES ($id)
            - UPDATE nowhere SET n = 1 WHERE id = $id
      """, location: "event 'v1.Made', materializer", reason: "no such table: nowhere")
    assertSchemaError(okTable + """
      events:
        v1.Made:
          args: { id: string }
          materializer: INSERT INTO todos (id, missing) VALUES ($id, 1)
      """, location: "event 'v1.Made', materializer", reason: "no column named missing")
    assertSchemaError(okTable + """
      events:
        v1.Made:
          args: { id: string }
          materializer: INSERT INTO todos (id VALUES ($id)
      """, location: "event 'v1.Made', materializer", reason: "syntax error")
  }

  func testMaterializerWithUnknownParameterIsRejected() {
    assertSchemaError(okTable + """
      events:
        v1.Made:
          args: { id: string }
          materializer: INSERT INTO todos (id, n) VALUES ($id, $count)
      """, location: "event 'v1.Made', materializer", reason: "parameter $count is not an arg of the event")
    assertSchemaError(okTable + """
      events:
        v1.Made:
          args: { id: string }
          materializer: INSERT INTO todos (id) VALUES (?)
      """, location: "event 'v1.Made', materializer", reason: "named parameters")
  }

  func testIndexOnUnknownColumnNamesTableAndIndex() {
    assertSchemaError("""
      tables:
        todos:
          columns:
            id: { type: text, primaryKey: true }
          indexes:
            - { name: byText, columns: [text] }
      """, location: "table 'todos', index 1", reason: "unknown column 'text'")
  }

  func testReservedNamesAreRejected() {
    assertSchemaError("""
      tables:
        __livestore_mine:
          columns: { id: text }
      """, location: "table '__livestore_mine'", reason: "reserved")
    assertSchemaError("""
      tables:
        sqlite_stuff:
          columns: { id: text }
      """, location: "table 'sqlite_stuff'", reason: "reserved")
    assertSchemaError(okTable + """
      events:
        v1.Made:
          args: { id: string, _seqNum: integer }
          materializer: []
      """, location: "event 'v1.Made', field '_seqNum'", reason: "reserved")
    assertSchemaError(okTable + """
      events:
        v1.Made:
          args: { id: string, _clientId: string }
          materializer: []
      """, location: "event 'v1.Made', field '_clientId'", reason: "reserved")
  }

  func testDuplicateTableAndUnknownKeysAreRejected() {
    assertSchemaError("""
      tables:
        uiState:
          columns: { id: text }
      clientDocuments:
        uiState:
          value: { filter: string }
          default: { value: { filter: all } }
      """, location: "table 'uiState'", reason: "defined twice")
    assertSchemaError("""
      clientDocuments:
        uiState:
          value: { filter: string }
          default: { value: { filter: 3 } }
      """, location: "client document 'uiState', default.value", reason: "field 'filter': expected a string, got a number")
    assertSchemaError("""
      tables:
        todos:
          columns:
            id: { type: text, primaryKey: yes, unique: true }
      """, location: "table 'todos', column 'id'", reason: "unknown key 'unique'")
    assertSchemaError(okTable + """
      events:
        v1.Made:
          args: { id: string }
          materializer: []
          synced: true
      """, location: "event 'v1.Made'", reason: "unknown key 'synced'")
    assertSchemaError("tabels: {}\n", location: "top level", reason: "unknown key 'tabels'")
  }

  func testYAMLSyntaxErrorNamesTheFile() {
    let path = directory.file("broken.yaml")
    XCTAssertNoThrow(try directory.write("broken.yaml", "tables:\n  todos: { columns: [ \n"))
    XCTAssertThrowsError(try SchemaLoader.load(path: path)) { error in
      guard let error = error as? SchemaError else { return XCTFail("\(error)") }
      XCTAssertEqual(error.file, path)
      XCTAssertTrue(error.reason.contains("not valid YAML"), error.reason)
      XCTAssertTrue(error.description.hasPrefix(path), error.description)
    }
  }

  func testMissingAndEmptyFilesAreClearErrors() {
    XCTAssertThrowsError(try SchemaLoader.load(path: directory.file("nope.yaml"))) { error in
      XCTAssertTrue("\(error)".contains("nope.yaml"), "\(error)")
      XCTAssertTrue("\(error)".contains("no such schema file"), "\(error)")
      // Told apart from a schema that is wrong: the CLI exits 66 for it, not 65.
      XCTAssertEqual((error as? SchemaError)?.isMissingFile, true)
    }
    XCTAssertThrowsError(try load("", name: "empty.yaml")) { error in
      XCTAssertTrue("\(error)".contains("empty.yaml"), "\(error)")
    }
  }

  // MARK: - What a schema can say

  func testAllEightColumnTypesCreateTheirSQLTypes() throws {
    let schema = try load("""
      tables:
        everything:
          columns:
            t: { type: text, primaryKey: true }
            i: { type: integer, default: 7 }
            r: { type: real, default: 1.5 }
            b: { type: blob, nullable: true }
            flag: { type: boolean, default: true }
            j: { type: json, default: { a: [1] } }
            d: { type: datetime, default: "2025-06-06T10:00:00Z" }
            di: { type: datetimeInteger, default: "2025-06-06T10:01:00Z" }
            s: { type: text, default: { sql: "('x' || 'y')" } }
            n: { type: text, nullable: true, default: null }
          indexes:
            - { name: byFlag, columns: [flag, i], unique: true }
      """)
    let table = try XCTUnwrap(schema.table(named: "everything"))
    XCTAssertEqual(table.columns.map(\.type), [.text, .integer, .real, .blob, .boolean, .json, .datetime, .datetimeInteger, .text, .text])
    XCTAssertEqual(table.columns.map(\.type.sqlType), ["text", "integer", "real", "blob", "integer", "text", "text", "integer", "text", "text"])
    XCTAssertEqual(Set(ColumnType.allCases.map(\.rawValue)), ["text", "integer", "real", "blob", "boolean", "json", "datetime", "datetimeInteger"])
    XCTAssertEqual(LiveStoreTables.createTableSQL(table, format: .v4),
                   "create table if not exists 'everything' ('t' text not null , 'i' integer not null default 7, 'r' real not null default 1.5, 'b' blob  , 'flag' integer not null default 1, 'j' text not null default '{\"a\":[1]}', 'd' text not null default '2025-06-06T10:00:00Z', 'di' integer not null default 1749204060000, 's' text not null default ('x' || 'y'), 'n' text  default null, PRIMARY KEY ('t')) strict")
    // The DDL really runs, and the defaults land in their stored forms.
    let connection = try Connection.inMemory()
    try connection.execute(LiveStoreTables.createTableSQL(table, format: .v4))
    try connection.execute(LiveStoreTables.createIndexSQL(table.indexes[0], on: table.name, format: .v4))
    try connection.execute("INSERT INTO everything (t) VALUES ('k')")
    let row = try connection.prepare("SELECT i, r, b, flag, j, d, di, s, n FROM everything").first { row in
      (0..<row.columnCount).map { row.value($0) }
    }
    XCTAssertEqual(row, [.integer(7), .real(1.5), .null, .integer(1), .text(#"{"a":[1]}"#), .text("2025-06-06T10:00:00Z"),
                         .integer(1_749_204_060_000), .text("xy"), .null])
    XCTAssertEqual(table.indexes, [IndexDefinition(name: "byFlag", columns: ["flag", "i"], unique: true)])
  }

  func testArgTypes() throws {
    let schema = try load(okTable + """
      events:
        v1.Everything:
          args:
            s: string
            n: number
            i: integer
            b: boolean
            d: date
            j: json
            maybe: string?
            tags: string[]
            grid: "integer[][]"
            kind: { literal: [a, b, 3, true] }
            level: { type: integer, default: 1 }
            note: { type: string, nullable: true }
            when: { type: date, optional: true }
            nested:
              object:
                title: string
                items: { array: { object: { id: string, done: { type: boolean, default: false } } } }
          materializer: []
      """)
    let event = try XCTUnwrap(schema.event(named: "v1.Everything"))
    XCTAssertFalse(event.clientOnly)
    XCTAssertFalse(event.derived)
    typealias F = ArgType.Field
    XCTAssertEqual(event.args, .object([
      F(name: "s", type: .string), F(name: "n", type: .number), F(name: "i", type: .integer),
      F(name: "b", type: .boolean), F(name: "d", type: .date), F(name: "j", type: .json),
      F(name: "maybe", type: .string, optional: true), F(name: "tags", type: .array(.string)),
      F(name: "grid", type: .array(.array(.integer))), F(name: "kind", type: .literal(["a", "b", 3, true])),
      F(name: "level", type: .integer, optional: true, defaultValue: 1),
      F(name: "note", type: .nullable(.string)), F(name: "when", type: .date, optional: true),
      F(name: "nested", type: .object([
        F(name: "title", type: .string),
        F(name: "items", type: .array(.object([F(name: "id", type: .string),
                                               F(name: "done", type: .boolean, optional: true, defaultValue: false)]))),
      ])),
    ]))
  }

  func testClientOnlyEventsAndSeveralStatements() throws {
    let schema = try load(okTable + """
      events:
        v1.Bumped:
          clientOnly: true
          args: { id: string }
          materializer:
            - INSERT INTO todos (id) VALUES ($id) ON CONFLICT (id) DO NOTHING
            - UPDATE todos SET n = (SELECT n FROM todos WHERE id = $id) + 1 WHERE id = $id
            - UPDATE todos SET n = n WHERE id = $_seqNum OR id = $_clientId
      """)
    let event = try XCTUnwrap(schema.event(named: "v1.Bumped"))
    XCTAssertTrue(event.clientOnly)
    XCTAssertEqual(event.materializer.statements.count, 3)
  }

  func testDerivedEventsExist() throws {
    let schema = try SchemaLoader.load(path: Fixtures.todomvcSchemaPath)
    let set = try XCTUnwrap(schema.event(named: "uiStateSet"))
    XCTAssertTrue(set.clientOnly)
    XCTAssertTrue(set.derived)
    XCTAssertEqual(set.materializer, .clientDocumentSet(table: "uiState"))
    XCTAssertEqual(set.args.fields.map(\.name), ["id", "value"])
    // The value of a partial set has every field optional.
    XCTAssertEqual(set.args.fields[1].type.fields.map(\.optional), [true, true])
    let raw = try XCTUnwrap(schema.event(named: "livestore.RawSql"))
    XCTAssertTrue(raw.clientOnly)
    XCTAssertTrue(raw.derived)
    XCTAssertEqual(raw.materializer, .rawSQL)
    XCTAssertEqual(raw.args.fields.map(\.name), ["sql", "bindValues", "writeTables"])
    XCTAssertEqual(schema.tables.map(\.name), ["todos", "uiState"])
    XCTAssertEqual(schema.events.map(\.name), ["v1.TodoCreated", "v1.TodoCompleted", "v1.TodoUncompleted", "v1.TodoDeleted",
                                               "v1.TodoClearedCompleted", "uiStateSet", "livestore.RawSql"])
    let document = try XCTUnwrap(schema.table(named: "uiState")?.clientDocument)
    XCTAssertEqual(document.defaultID, .sessionId)
    XCTAssertEqual(document.defaultValue, ["newTodoText": "", "filter": "all"])
    XCTAssertTrue(document.partialSet)
  }

  func testDerivedSetEventOfAFullSetDocumentTakesTheWholeValue() throws {
    let schema = try load("""
      clientDocuments:
        Prefs:
          value: { theme: string, fontSize: integer }
          partialSet: false
          default: { id: static, value: { theme: light, fontSize: 12 } }
      """)
    let set = try XCTUnwrap(schema.event(named: "PrefsSet"))
    XCTAssertEqual(set.args.fields[1].type.fields.map(\.optional), [false, false])
    XCTAssertEqual(schema.table(named: "Prefs")?.clientDocument?.defaultID, .fixed("static"))
    XCTAssertEqual(LiveStoreTables.createTableSQL(try XCTUnwrap(schema.table(named: "Prefs")), format: .v4),
                   "create table if not exists 'Prefs' ('id' text not null , 'value' text not null , PRIMARY KEY ('id')) strict")
  }

  func testAnEventNamedLikeADerivedOneReplacesIt() throws {
    let schema = try load("""
      clientDocuments:
        uiState:
          value: { filter: string }
          default: { value: { filter: all } }
      events:
        uiStateSet:
          args: { id: string, value: json }
          materializer: INSERT OR REPLACE INTO uiState (id, value) VALUES ($id, json($value))
      """)
    let set = try XCTUnwrap(schema.event(named: "uiStateSet"))
    XCTAssertFalse(set.derived)
    XCTAssertEqual(schema.events.filter { $0.name == "uiStateSet" }.count, 1)
  }

  func testJSONSchemaFileIsAccepted() throws {
    let yamlSchema = try SchemaLoader.load(path: Fixtures.todomvcSchemaPath)
    let json = """
      {
        "name": "todomvc",
        "tables": {
          "todos": {
            "columns": {
              "id": {"type": "text", "primaryKey": true},
              "text": {"type": "text", "default": ""},
              "completed": {"type": "boolean", "default": false},
              "deletedAt": {"type": "datetimeInteger", "nullable": true}
            }
          }
        },
        "clientDocuments": {
          "uiState": {
            "value": {"newTodoText": "string", "filter": {"literal": ["all", "active", "completed"]}},
            "default": {"id": "$sessionId", "value": {"newTodoText": "", "filter": "all"}}
          }
        },
        "events": {
          "v1.TodoCreated": {"args": {"id": "string", "text": "string"},
                             "materializer": "INSERT INTO todos (id, text, completed) VALUES ($id, $text, 0)"},
          "v1.TodoCompleted": {"args": {"id": "string"}, "materializer": "UPDATE todos SET completed = 1 WHERE id = $id"},
          "v1.TodoUncompleted": {"args": {"id": "string"}, "materializer": "UPDATE todos SET completed = 0 WHERE id = $id"},
          "v1.TodoDeleted": {"args": {"id": "string", "deletedAt": "date"},
                             "materializer": "UPDATE todos SET deletedAt = epoch_ms($deletedAt) WHERE id = $id"},
          "v1.TodoClearedCompleted": {"args": {"deletedAt": "date"},
                                      "materializer": "UPDATE todos SET deletedAt = epoch_ms($deletedAt) WHERE completed = 1"}
        }
      }
      """
    let jsonSchema = try load(json, name: "schema.json")
    XCTAssertEqual(jsonSchema.stateHash(.v4), yamlSchema.stateHash(.v4))
    XCTAssertEqual(jsonSchema.stateHash(.v4), -48_884_714_638)
    XCTAssertEqual(jsonSchema.materializationHash, yamlSchema.materializationHash)
    XCTAssertEqual(jsonSchema.events.map(\.name), yamlSchema.events.map(\.name))
    XCTAssertEqual(jsonSchema.events.map(\.schemaHash), yamlSchema.events.map(\.schemaHash))
  }

  func testHashesAreDeterministicAndFollowTheTables() throws {
    let base = okTable + """
      events:
        v1.Made:
          args: { id: string }
          materializer: INSERT INTO todos (id) VALUES ($id)
      """
    let a = try load(base, name: "a.yaml")
    let b = try load(base, name: "b.yaml")
    XCTAssertEqual(a.stateHash(.v4), b.stateHash(.v4))
    XCTAssertEqual(a.event(named: "v1.Made")?.schemaHash, b.event(named: "v1.Made")?.schemaHash)
    // A materializer change keeps the state file but changes the materialization hash.
    let changedSQL = try load(base.replacingOccurrences(of: "VALUES ($id)", with: "VALUES ($id || '!')"), name: "c.yaml")
    XCTAssertEqual(changedSQL.stateHash(.v4), a.stateHash(.v4))
    XCTAssertNotEqual(changedSQL.materializationHash, a.materializationHash)
    // A table change selects another state file.
    let changedTable = try load(base.replacingOccurrences(of: "default: 0", with: "default: 1"), name: "d.yaml")
    XCTAssertNotEqual(changedTable.stateHash(.v4), a.stateHash(.v4))
    // An args change changes the event's schema hash.
    let changedArgs = try load(base.replacingOccurrences(of: "args: { id: string }", with: "args: { id: string, x: string? }"), name: "e.yaml")
    XCTAssertNotEqual(changedArgs.event(named: "v1.Made")?.schemaHash, a.event(named: "v1.Made")?.schemaHash)
  }
}
