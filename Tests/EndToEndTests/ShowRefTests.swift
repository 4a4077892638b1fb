import Foundation
import XCTest

/// `lstore show <ref>`: events by sequence number, commits by id prefix, even when a
/// commit id starts with digits.
final class ShowRefTests: XCTestCase {
  func testNumericCommitPrefixAndBareEventNumbers() throws {
    let sandbox = try Sandbox()
    try sandbox.initStore()
    XCTAssertEqual(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t1","text":"a"}"#, "-m", "one").status, 0)
    XCTAssertEqual(try sandbox.lstore("commit", "v1.TodoCompleted", #"{"id":"t1"}"#, "-m", "two").status, 0)
    // Give the second commit an id made of digits, as a random hex id can be.
    _ = try sandbox.shell("sqlite3 .lstore/branches/main/eventlog@4.db \"UPDATE lstore_commit SET id = '1089754012345678' WHERE message = 'two'\"")
    let commit = try sandbox.lstore("show", "1089754")
    XCTAssertEqual(commit.status, 0, commit.description)
    XCTAssertTrue(commit.stdout.hasPrefix("commit 1089754012345678 (e2)"), commit.stdout)
    let event = try sandbox.lstore("show", "2")
    XCTAssertEqual(event.status, 0, event.description)
    XCTAssertTrue(event.stdout.hasPrefix("event e2 (parent e1)"), event.stdout)
    XCTAssertTrue(try sandbox.lstore("show", "e1").stdout.hasPrefix("event e1 (parent e0)"))
    XCTAssertEqual(try sandbox.lstore("show", "e9").status, 66)
    XCTAssertEqual(try sandbox.lstore("show", "ffff").status, 66)
    // --from/--to read it as the commit too (a bare number no commit starts with stays a number).
    let from = try sandbox.lstore("log", "--oneline", "--from", "10897540")
    XCTAssertEqual(from.lines.map { String($0.split(separator: " ").last ?? "") }, ["two"], from.description)
    XCTAssertEqual(try sandbox.lstore("log", "--oneline", "--to", "1").lines.count, 1)
  }
}
