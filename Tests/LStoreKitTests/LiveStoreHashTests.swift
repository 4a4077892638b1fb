import XCTest
@testable import LStoreKit

/// Vectors from the format spec (§2.2, §2.4), computed from LiveStore's own algorithms.
final class LiveStoreHashTests: XCTestCase {
  func testHashCodeVectors() {
    XCTAssertEqual(LiveStoreHash.hashCode(""), 0)
    XCTAssertEqual(LiveStoreHash.hashCode("a"), 97)
    XCTAssertEqual(LiveStoreHash.hashCode("hello world"), 1_794_106_052)
    XCTAssertEqual(LiveStoreHash.hashCode(String(repeating: "x", count: 100_000)), 94_798_065_664)
  }

  func testEffectStringHashVectors() {
    XCTAssertEqual(LiveStoreHash.effectStringHash(""), 5381)
    XCTAssertEqual(LiveStoreHash.effectStringHash("a"), 177_604)
    XCTAssertEqual(LiveStoreHash.effectStringHash("hello world"), -604_333_243)
  }

  static let todos = TableDefinition(name: "todos", columns: [
    ColumnDefinition(name: "id", type: .text, primaryKey: true),
    ColumnDefinition(name: "text", type: .text, defaultValue: .value("")),
    ColumnDefinition(name: "completed", type: .boolean, defaultValue: .value(false)),
    ColumnDefinition(name: "deletedAt", type: .integer, nullable: true),
  ])
  static let uiState = TableDefinition(name: "uiState", columns: [
    ColumnDefinition(name: "id", type: .text, primaryKey: true),
    ColumnDefinition(name: "value", type: .json),
  ])

  func testSystemTableHashes() {
    let hashes = LiveStoreTables.stateSystemTables(.v4).map { LiveStoreHash.tableHash($0, format: .v4) }
    XCTAssertEqual(hashes, [-15_021_194_450, 26_909_580_836, 4_532_718_861, 21_329_867_995])
  }

  func testTodoMVCTableAndStateHashes() {
    XCTAssertEqual(LiveStoreHash.tableHash(Self.todos, format: .v4), -10_353_225_530)
    XCTAssertEqual(LiveStoreHash.tableHash(Self.uiState, format: .v4), 6_916_480_189)
    XCTAssertEqual(LiveStoreHash.stateHash(userTables: [Self.todos, Self.uiState], format: .v4), -48_884_714_638)
    XCTAssertEqual(LiveStoreHash.stateHash(userTables: [Self.todos], format: .v4), -65_582_509_911)
    XCTAssertEqual(LiveStoreHash.stateHash(userTables: [], format: .v4), 32_397_767_619)
  }

  func testDDLMatchesLiveStore() {
    XCTAssertEqual(
      LiveStoreTables.createTableSQL(Self.todos, format: .v4),
      "create table if not exists 'todos' ('id' text not null , 'text' text not null default '', 'completed' integer not null default 0, 'deletedAt' integer  , PRIMARY KEY ('id')) strict")
    XCTAssertEqual(
      LiveStoreTables.createTableSQL(Self.uiState, format: .v4),
      "create table if not exists 'uiState' ('id' text not null , 'value' text not null , PRIMARY KEY ('id')) strict")
    XCTAssertEqual(LiveStoreTables.stateSystemDDL(.v4), [
      "create table if not exists '__livestore_schema' ('tableName' text not null , 'schemaHash' integer not null , 'updatedAt' text not null , PRIMARY KEY ('tableName')) strict",
      "create table if not exists '__livestore_schema_event_defs' ('eventName' text not null , 'schemaHash' integer not null , 'updatedAt' text not null , PRIMARY KEY ('eventName')) strict",
      "create table if not exists '__livestore_session_changeset' ('seqNumGlobal' integer not null , 'seqNumClient' integer not null , 'changeset' blob  , 'debug' text  ) strict",
      "create  index if not exists 'idx_session_changeset_id' on '__livestore_session_changeset' (seqNumGlobal, seqNumClient)",
      "create table if not exists '__livestore_leader_merge_counter' ('id' integer not null , 'mergeCounter' integer not null , PRIMARY KEY ('id', 'mergeCounter')) strict",
    ])
  }

  /// LiveStore 0.4.0's statements, as the 0.4 document's A2 lists them (ran-sqlite).
  func testFormat6DDLMatchesLiveStore040() {
    XCTAssertEqual(LiveStoreTables.eventlogDDL(.v6), [
      #"create table if not exists "eventlog" ("seqNumGlobal" integer   not null , "seqNumClient" integer   not null , "seqNumRebaseGeneration" integer   not null , "parentSeqNumGlobal" integer   not null , "parentSeqNumClient" integer   not null , "parentSeqNumRebaseGeneration" integer   not null , "name" text   not null , "argsJson" text   not null , "clientId" text   not null , "sessionId" text   not null , "schemaHash" integer   not null , "syncMetadataJson" text   not null , PRIMARY KEY ("seqNumGlobal", "seqNumClient", "seqNumRebaseGeneration")) strict"#,
      #"create  index if not exists "idx_eventlog_seqNumGlobal" on "eventlog" ("seqNumGlobal")"#,
      #"create  index if not exists "idx_eventlog_seqNum" on "eventlog" ("seqNumGlobal", "seqNumClient", "seqNumRebaseGeneration")"#,
      #"create table if not exists "__livestore_sync_status" ("head" integer primary key   , "backendId" text    ) strict"#,
      "INSERT INTO __livestore_sync_status (head)\n          SELECT 0\n          WHERE NOT EXISTS (SELECT 1 FROM __livestore_sync_status)",
    ])
    XCTAssertEqual(LiveStoreTables.stateSystemDDL(.v6), [
      #"create table if not exists "__livestore_schema" ("tableName" text primary key   , "schemaHash" integer   not null , "updatedAt" text   not null ) strict"#,
      #"create table if not exists "__livestore_schema_event_defs" ("eventName" text primary key   , "schemaHash" integer   not null , "updatedAt" text   not null ) strict"#,
      #"create table if not exists "__livestore_session_changeset" ("seqNumGlobal" integer   not null , "seqNumClient" integer   not null , "seqNumRebaseGeneration" integer   not null , "changeset" blob    , "debug" text    ) strict"#,
      #"create  index if not exists "idx_session_changeset_id" on "__livestore_session_changeset" ("seqNumGlobal", "seqNumClient")"#,
    ])
    // A user table: the single key inlined, defaults as in format 4.
    XCTAssertEqual(
      LiveStoreTables.createTableSQL(Self.todos, format: .v6),
      #"create table if not exists "todos" ("id" text primary key   , "text" text   not null default '', "completed" integer   not null default 0, "deletedAt" integer    ) strict"#)
  }

  /// 0.4.0's column JSON adds `autoIncrement` (and the system tables differ), so the two
  /// formats never share a state hash.
  func testFormat6TableJSONAddsAutoIncrement() {
    XCTAssertTrue(LiveStoreHash.tableJSON(Self.uiState, format: .v6).contains(#""nullable":false,"autoIncrement":false,"default":{"_id":"Option","_tag":"None"}"#))
    XCTAssertFalse(LiveStoreHash.tableJSON(Self.uiState, format: .v4).contains("autoIncrement"))
    XCTAssertNotEqual(LiveStoreHash.stateHash(userTables: [Self.todos, Self.uiState], format: .v6),
                      LiveStoreHash.stateHash(userTables: [Self.todos, Self.uiState], format: .v4))
    // Derived by lstore from the v0.4.0 source (not a value LiveStore printed): pinned so a
    // change to the rule is noticed. TodoMVC's state file is state-96296379336@6.db.
    XCTAssertEqual(LiveStoreHash.stateHash(userTables: [Self.todos, Self.uiState], format: .v6), -96_296_379_336)
    XCTAssertEqual(LiveStoreTables.stateSystemTables(.v6).map(\.name),
                   ["__livestore_schema", "__livestore_schema_event_defs", "__livestore_session_changeset"])
  }
}
