import LStoreKit
import XCTest
@testable import LStoreSync

/// The spec's example messages (§7.2), byte for byte.
final class SyncMessageTests: XCTestCase {
  let examples = [
    #"{"_tag":"WSMessage.PullReq","requestId":"V1StGXR8_Z5jdHi6B-myT","cursor":42}"#,
    #"{"_tag":"WSMessage.PullReq","requestId":"V1StGXR8_Z5jdHi6B-myT"}"#,
    #"{"_tag":"WSMessage.PullRes","batch":[{"eventEncoded":{"name":"v1.TodoCreated","args":{"id":"t1","text":"Buy milk"},"seqNum":43,"parentSeqNum":42,"clientId":"AbC12","sessionId":"Xy12a"},"metadata":{"_tag":"Some","value":{"createdAt":"2025-06-06T10:00:00.123Z"}}}],"requestId":{"context":"pull","requestId":"V1StGXR8_Z5jdHi6B-myT"},"remaining":0}"#,
    #"{"_tag":"WSMessage.PushReq","requestId":"pq9Yk2","batch":[{"name":"v1.TodoCompleted","args":{"id":"t1"},"seqNum":44,"parentSeqNum":43,"clientId":"AbC12","sessionId":"Xy12a"}]}"#,
    #"{"_tag":"WSMessage.PushAck","requestId":"pq9Yk2"}"#,
    #"{"_tag":"WSMessage.Error","requestId":"pq9Yk2","message":"Invalid parent event number. Received e41 but expected e43"}"#,
    #"{"_tag":"WSMessage.Ping","requestId":"ping"}"#,
    #"{"_tag":"WSMessage.Pong","requestId":"ping"}"#,
    #"{"_tag":"WSMessage.AdminResetRoomReq","requestId":"r1","adminSecret":"s3cret"}"#,
    #"{"_tag":"WSMessage.AdminResetRoomRes","requestId":"r1"}"#,
    #"{"_tag":"WSMessage.AdminInfoReq","requestId":"r2","adminSecret":"s3cret"}"#,
    #"{"_tag":"WSMessage.AdminInfoRes","requestId":"r2","info":{"durableObjectId":"abc123"}}"#,
  ]

  func testSpecExamplesRoundTripByteForByte() throws {
    for text in examples {
      let message = try SyncMessage.decode(text)
      XCTAssertEqual(message.encoded(), text)
    }
  }

  func testEncodingUsesLiveStoreKeyOrderWhateverTheInputOrder() throws {
    let shuffled = #"{"remaining":3,"requestId":{"requestId":"q","context":"push"},"batch":[{"metadata":{"value":{"createdAt":"t"},"_tag":"Some"},"eventEncoded":{"sessionId":"s","clientId":"c","parentSeqNum":0,"seqNum":1,"args":null,"name":"x"}}],"_tag":"WSMessage.PullRes"}"#
    let message = try SyncMessage.decode(shuffled)
    XCTAssertEqual(message.encoded(),
      #"{"_tag":"WSMessage.PullRes","batch":[{"eventEncoded":{"name":"x","args":null,"seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"},"metadata":{"_tag":"Some","value":{"createdAt":"t"}}}],"requestId":{"context":"push","requestId":"q"},"remaining":3}"#)
  }

  func testAbsentArgsStayAbsentAndNullStaysNull() throws {
    let absent = try WireEvent(json: JSONParser.parse(#"{"name":"a","seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}"#))
    XCTAssertNil(absent.args)
    XCTAssertEqual(absent.jsonValue.compactText, #"{"name":"a","seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}"#)
    let null = try WireEvent(json: JSONParser.parse(#"{"name":"a","args":null,"seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}"#))
    XCTAssertEqual(null.args, .null)
    XCTAssertEqual(null.jsonValue.compactText, #"{"name":"a","args":null,"seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"}"#)
  }

  func testNoneMetadata() throws {
    let item = PullItem(event: WireEvent(name: "a", args: [:], seqNum: 1, parentSeqNum: 0, clientId: "c", sessionId: "s"), metadata: nil)
    XCTAssertEqual(item.jsonValue.compactText,
                   #"{"eventEncoded":{"name":"a","args":{},"seqNum":1,"parentSeqNum":0,"clientId":"c","sessionId":"s"},"metadata":{"_tag":"None"}}"#)
    XCTAssertEqual(try PullItem(json: item.jsonValue), item)
  }

  func testMalformedMessagesAreRejectedWithAReason() {
    let cases: [(String, String)] = [
      ("not json", "not valid JSON"),
      (#"{"requestId":"x"}"#, "missing \"_tag\""),
      (#"{"_tag":"WSMessage.Nope","requestId":"x"}"#, "unknown message _tag"),
      (#"{"_tag":"WSMessage.PullReq","requestId":"x","cursor":"5"}"#, "cursor must be an integer"),
      (#"{"_tag":"WSMessage.PushReq","requestId":"x","batch":[{"name":"a"}]}"#, "missing \"seqNum\""),
      (#"{"_tag":"WSMessage.PushReq","requestId":"x","batch":[{"name":"a","seqNum":1.5,"parentSeqNum":0,"clientId":"c","sessionId":"s"}]}"#, "seqNum must be an integer"),
    ]
    for (text, expected) in cases {
      XCTAssertThrowsError(try SyncMessage.decode(text), text) { error in
        XCTAssertTrue("\(error)".contains(expected), "\(text): \(error)")
      }
    }
  }

  func testConnectURLIsDoubleEncodedLikeLiveStore() throws {
    // The spec's example (§7.1), with a storeId lstore accepts.
    let url = SyncURL.webSocketURL(base: "ws://localhost:8787", storeId: "my-store.1",
                                   payload: ["authToken": "insecure-token-change-me"])
    XCTAssertEqual(url, "ws://localhost:8787/websocket?storeId=my-store.1&payload=%257B%2522authToken%2522%253A%2522insecure-token-change-me%2522%257D")
    let query = String(url.split(separator: "?", maxSplits: 1)[1])
    let (storeId, payload) = try SyncURL.parseConnectQuery(query)
    XCTAssertEqual(storeId, "my-store.1")
    XCTAssertEqual(payload, ["authToken": "insecure-token-change-me"])
    // URLSearchParams turns spaces into '+': "my store/1" as in the spec.
    XCTAssertEqual(try SyncURL.parseConnectQuery("storeId=my+store%2F1").storeId, "my store/1")
    XCTAssertThrowsError(try SyncURL.parseConnectQuery("payload=%7B%7D"))
    XCTAssertThrowsError(try SyncURL.parseConnectQuery("storeId=a&payload=%25ZZ"))
  }
}
