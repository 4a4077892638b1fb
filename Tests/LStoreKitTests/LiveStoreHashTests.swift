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
}
