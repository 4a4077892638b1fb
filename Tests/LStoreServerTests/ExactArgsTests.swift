import Foundation
import LStoreKit
import LStoreSync
import XCTest
@testable import LStoreServer

/// The backend stores and returns each event's args exactly as received: a lone surrogate
/// (`"\ud800"`, which `JSON.stringify` keeps as that escape) is not changed to U+FFFD, on
/// either transport, in values or in keys (issue 12). Ids and names are not an app's data:
/// one with a lone surrogate is refused, never changed.
final class ExactArgsTests: XCTestCase {
  var server: TestServer!

  override func setUp() async throws { server = try await TestServer() }

  override func tearDown() async throws {
    await server?.stop()
    server?.removeData()
  }

  /// High without low, low alone, a reversed pair, and a valid pair (as JSON.stringify
  /// writes it: the character itself); in values and in keys.
  static let args = #"{"t":"a\ud800b","\udc00":["\ude00\ud83d","😀"],"k\udbff":{"x":"\udfff"}}"#

  static func event(_ seqNum: Int, args: String = ExactArgsTests.args, clientId: String = "c") -> String {
    #"{"name":"v1.X","args":\#(args),"seqNum":\#(seqNum),"parentSeqNum":\#(seqNum - 1),"clientId":"\#(clientId)","sessionId":"s"}"#
  }

  func raw(_ store: String) async throws -> RawFrameSocket {
    let port = server.port
    return try await offPool { try RawFrameSocket(port: port, target: "/websocket?storeId=\(store)") }
  }

  /// The text of every `"args":…` of a reply, cut from the raw bytes (no parsing).
  func argsTexts(_ text: String) -> [String] {
    text.components(separatedBy: #""args":"#).dropFirst().map { part in
      String(part[..<(part.range(of: #","seqNum":"#)?.lowerBound ?? part.endIndex)])
    }
  }

  func testALoneSurrogatePushedOverWebSocketIsPulledBackByteExact() async throws {
    let pusher = try await raw("exact")
    let ack = try await offPool { () -> String in
      try pusher.sendText(#"{"_tag":"WSMessage.PushReq","requestId":"p1","batch":[\#(Self.event(1))]}"#)
      return try pusher.readText()
    }
    XCTAssertEqual(ack, #"{"_tag":"WSMessage.PushAck","requestId":"p1"}"#)
    // Pulled back over WebSocket by another connection, and over HTTP.
    let puller = try await raw("exact")
    let page = try await offPool { () -> String in
      try puller.sendText(#"{"_tag":"WSMessage.PullReq","requestId":"r1"}"#)
      return try puller.readText()
    }
    XCTAssertEqual(argsTexts(page), [Self.args], page)
    let port = server.port
    let http = try await offPool { try RawHTTP.request(port: port, "GET", "/api/v1/stores/exact/events") }
    XCTAssertEqual(http.status, 200, http.body)
    XCTAssertEqual(argsTexts(http.body), [Self.args], http.body)
  }

  func testALoneSurrogatePushedOverHTTPIsPulledBackByteExact() async throws {
    let port = server.port
    let body = #"{"batch":[\#(Self.event(1)),\#(Self.event(2, args: #"["\ud800","\uDC00x"]"#))]}"#
    let pushed = try await offPool { try RawHTTP.request(port: port, "POST", "/api/v1/stores/viahttp/events", body: body) }
    XCTAssertEqual(pushed.status, 200, pushed.body)
    let http = try await offPool { try RawHTTP.request(port: port, "GET", "/api/v1/stores/viahttp/events") }
    // Uppercase hex is the same string; it comes back as JSON.stringify writes it.
    XCTAssertEqual(argsTexts(http.body), [Self.args, #"["\ud800","\udc00x"]"#], http.body)
    let puller = try await raw("viahttp")
    let page = try await offPool { () -> String in
      try puller.sendText(#"{"_tag":"WSMessage.PullReq","requestId":"r1"}"#)
      return try puller.readText()
    }
    XCTAssertEqual(argsTexts(page), [Self.args, #"["\ud800","\udc00x"]"#], page)
  }

  func testALoneSurrogateInAnIdIsRefusedAndNothingIsStored() async throws {
    let pusher = try await raw("ids")
    let reply = try await offPool { () -> String in
      try pusher.sendText(#"{"_tag":"WSMessage.PushReq","requestId":"p1","batch":[\#(Self.event(1, clientId: #"c\ud800"#))]}"#)
      return try pusher.readText()
    }
    XCTAssertTrue(reply.hasPrefix(#"{"_tag":"WSMessage.Error","requestId":"p1""#), reply)
    XCTAssertTrue(reply.contains("clientId holds a lone surrogate"), reply)
    // A request id with one is refused too, and the refusal carries that id exactly, so the
    // client waiting on it sees it.
    let idReplies = try await offPool { () -> [String] in
      try pusher.sendText(#"{"_tag":"WSMessage.Ping","requestId":"q\ud800"}"#)
      try pusher.sendText(#"{"_tag":"WSMessage.PushReq","batch":[\#(Self.event(1))],"requestId":"\uDC00"}"#)
      return try (0..<2).map { _ in try pusher.readText() }
    }
    XCTAssertEqual(idReplies, [
      #"{"_tag":"WSMessage.Error","requestId":"q\ud800","message":"Invalid message: message.requestId holds a lone surrogate (only args may)"}"#,
      #"{"_tag":"WSMessage.Error","requestId":"\udc00","message":"Invalid message: message.requestId holds a lone surrogate (only args may)"}"#,
    ])
    let port = server.port
    let posted = try await offPool {
      try RawHTTP.request(port: port, "POST", "/api/v1/stores/ids/events", body: #"{"batch":[\#(Self.event(1, clientId: #"\udc00"#))]}"#)
    }
    XCTAssertEqual(posted.status, 400, posted.body)
    XCTAssertTrue(posted.body.contains("clientId holds a lone surrogate"), posted.body)
    let head = try await offPool { try RawHTTP.request(port: port, "GET", "/api/v1/stores/ids/head").body }
    XCTAssertEqual(head, #"{"head":0}"#)
  }
}
