import Foundation
import XCTest

/// A lone surrogate in an app's args (`JSON.stringify` keeps `"\ud800"` as that escape, so
/// a LiveStore app can really send one) is kept exactly on every way an event travels:
/// commit, log, show, export, import, push to `lstore serve` (WebSocket and HTTP), pull into
/// another clone, fsck. Only the SQLite state, whose TEXT must be valid UTF-8, gets U+FFFD
/// (issue 12).
final class LoneSurrogateTests: XCTestCase {
  static let schema = """
    name: notes
    tables:
      notes:
        columns:
          id: { type: text, primaryKey: true }
          text: { type: text }
          data: { type: json }
    events:
      noteSet:
        args: { id: string, text: string, data: json }
        materializer: INSERT INTO notes (id, text, data) VALUES ($id, $text, $data)
    """

  /// High without low, low alone, a reversed pair, a valid pair; in values and in keys.
  static let args = #"{"id":"n1","text":"a\ud800b","data":{"\udc00":"\ude00\ud83d","ok\ud800":["\udbff",1],"pair":"\ud83d\ude00"}}"#
  /// The same as JSON.stringify writes it: the valid pair as its character.
  static let stored = #"{"id":"n1","text":"a\ud800b","data":{"\udc00":"\ude00\ud83d","ok\ud800":["\udbff",1],"pair":"😀"}}"#

  func initStore(_ sandbox: Sandbox, _ directory: String, client: String) throws {
    let result = try sandbox.lstore(["init", "--schema", sandbox.path("notes.yaml"), "--store-id", "notes",
                                     "--client-id", client, "--session-id", "s-\(client)", directory])
    XCTAssertEqual(result.status, 0, result.description)
  }

  /// The args of every event of `log --json` in `directory`, as text.
  func loggedArgs(_ sandbox: Sandbox, _ directory: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
    let log = try sandbox.lstore(["-C", directory, "log", "--json", "--reverse"])
    XCTAssertEqual(log.status, 0, log.description, file: file, line: line)
    return log.lines.map { line in
      guard let start = line.range(of: #","args":"#), let end = line.range(of: #","clientId":"#) else { return line }
      return String(line[start.upperBound..<end.lowerBound])
    }
  }

  func testLoneSurrogatesInArgsSurviveEveryPath() throws {
    let sandbox = try Sandbox()
    try sandbox.write("notes.yaml", Self.schema)
    try initStore(sandbox, "a", client: "ca")
    let commit = try sandbox.lstore(["-C", "a", "commit", "noteSet", Self.args, "-m", "note"])
    XCTAssertEqual(commit.status, 0, commit.description)
    // The eventlog row, log --json and show --json keep each escape exactly.
    XCTAssertEqual(try sandbox.sqlite("a/.lstore/branches/main/eventlog@4.db", "SELECT argsJson FROM eventlog"), Self.stored + "\n")
    XCTAssertEqual(try loggedArgs(sandbox, "a"), [Self.stored])
    let oneline = try sandbox.lstore(["-C", "a", "log", "--oneline", "--events"])
    XCTAssertEqual(oneline.lines, ["e1 noteSet \(Self.stored)"], oneline.description)
    let show = try sandbox.lstore(["-C", "a", "show", "e1", "--json"])
    XCTAssertTrue(show.stdout.contains(#""args":"# + Self.stored), show.description)
    // The state: TEXT gets U+FFFD (it must be valid UTF-8), a JSON column the escapes.
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("a"), "SELECT text, data FROM notes"),
                   "a\u{FFFD}b|" + #"{"\udc00":"\ude00\ud83d","ok\ud800":["\udbff",1],"pair":"😀"}"# + "\n")

    // Export, then import into a new store: the same args, and the checksum holds.
    let export = try sandbox.lstore(["-C", "a", "export", "-o", sandbox.path("a.ndjson")])
    XCTAssertEqual(export.status, 0, export.description)
    let exported = String(decoding: try sandbox.read("a.ndjson"), as: UTF8.self)
    XCTAssertTrue(exported.contains(#""args":"# + Self.stored), exported)
    try initStore(sandbox, "imported", client: "ci")
    let imported = try sandbox.lstore(["-C", "imported", "import", sandbox.path("a.ndjson")])
    XCTAssertEqual(imported.status, 0, imported.description)
    XCTAssertEqual(try loggedArgs(sandbox, "imported"), [Self.stored])

    // Push over WebSocket; pull into two clones, over WebSocket and over HTTP.
    let server = try SyncEndToEndTests.Server(sandbox: sandbox)
    defer { server.kill() }
    let push = try sandbox.lstore(["-C", "a", "push", server.url])
    XCTAssertEqual(push.status, 0, push.description)
    try initStore(sandbox, "b", client: "cb")
    try initStore(sandbox, "c", client: "cc")
    let pullWS = try sandbox.lstore(["-C", "b", "pull", server.url])
    XCTAssertEqual(pullWS.status, 0, pullWS.description)
    let pullHTTP = try sandbox.lstore(["-C", "c", "pull", server.httpURL])
    XCTAssertEqual(pullHTTP.status, 0, pullHTTP.description)
    for clone in ["b", "c"] {
      XCTAssertEqual(try loggedArgs(sandbox, clone), [Self.stored], clone)
      XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath(clone), "SELECT text FROM notes"), "a\u{FFFD}b\n", clone)
      let fsck = try sandbox.lstore(["-C", clone, "fsck"])
      XCTAssertEqual(fsck.status, 0, "\(clone): \(fsck)")
    }
    // A push over HTTP (from a clone), pulled back over WebSocket.
    let second = #"{"id":"n2","text":"\udfff","data":["\ud800\ud800"]}"#
    XCTAssertEqual(try sandbox.lstore(["-C", "c", "commit", "noteSet", second]).status, 0)
    let pushHTTP = try sandbox.lstore(["-C", "c", "push", server.httpURL])
    XCTAssertEqual(pushHTTP.status, 0, pushHTTP.description)
    XCTAssertEqual(try sandbox.lstore(["-C", "a", "pull", server.url]).status, 0)
    XCTAssertEqual(try loggedArgs(sandbox, "a"), [Self.stored, second])
    // Rebuilding the state from the eventlog reads the args as stored.
    let materialize = try sandbox.lstore(["-C", "b", "materialize"])
    XCTAssertEqual(materialize.status, 0, materialize.description)
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath("b"), "SELECT text FROM notes"), "a\u{FFFD}b\n")
  }

  /// An event name is an identifier, not an app's data: one with a lone surrogate is refused
  /// (never changed to U+FFFD and then looked up).
  func testALoneSurrogateInAnEventNameIsRefused() throws {
    let sandbox = try Sandbox()
    try sandbox.write("notes.yaml", Self.schema)
    try initStore(sandbox, "a", client: "ca")
    let result = try sandbox.lstore(["-C", "a", "commit", "--file", "-"],
                                    stdin: #"{"name":"note\ud800","args":{"id":"x","text":"","data":null}}"# + "\n")
    assertError(result, 65, ["\"name\" holds a lone surrogate"])
  }
}
