import Foundation
import XCTest
@testable import LStoreKit

/// fsck's codes are an interface: scripts match on them. Renaming one must be deliberate
/// (this list changes with it), and every code must be documented.
final class FsckCodeTests: XCTestCase {
  func testCodesAreStableAndDocumented() throws {
    XCTAssertEqual(FsckFinding.Code.allCases.map(\.rawValue), [
      "chain-broken", "args-invalid-json", "sync-metadata", "client-only-mismatch", "args-schema", "unknown-event",
      "backend-head-ahead", "commit-reversed", "commit-overlap", "commit-missing-events", "state-behind", "state-ahead",
      "state-stale", "state-missing", "changeset-missing", "replay-fails", "state-differs", "state-schema-changed",
      "eventlog-damaged", "state-damaged",
    ])
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let docs = try String(contentsOf: root.appendingPathComponent("docs/fsck.md"), encoding: .utf8)
    let help = try String(contentsOf: root.appendingPathComponent("Sources/LStoreCLI/Commands/Fsck.swift"), encoding: .utf8)
    for code in FsckFinding.Code.allCases {
      XCTAssertTrue(docs.contains("| `\(code.rawValue)` |"), "docs/fsck.md has no row for \(code.rawValue)")
      XCTAssertTrue(help.contains(code.rawValue), "fsck --help does not name \(code.rawValue)")
    }
  }
}
