import Foundation
import LStoreKit
import XCTest
@testable import LStoreRemote

/// A push over lstore's HTTP API counts as stored only when the answer is the API's own:
/// a 200 whose `head` holds the batch. Anything else answering 200 at that address (another
/// server, a proxy's page, a LiveStore 0.4 RPC's Defect) must not mark events pushed.
final class HTTPTransportAckTests: XCTestCase {
  /// A loopback server answering every request with `body` (HTTP 200), one connection at a time.
  final class CannedServer: @unchecked Sendable {
    let port: Int
    private let fd: Int32

    init(body: String) throws {
      let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      self.fd = fd
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_addr.s_addr = inet_addr("127.0.0.1")
      address.sin_port = 0
      var length = socklen_t(MemoryLayout<sockaddr_in>.size)
      let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
      guard bound == 0, listen(fd, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
      _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
      port = Int(UInt16(bigEndian: address.sin_port))
      let listener = fd
      let response = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8)
      Thread.detachNewThread {
        while true {
          let client = accept(listener, nil, nil)
          if client < 0 { return }
          // Read the head and whatever body came with it; the answer does not depend on them.
          var buffer = [UInt8](repeating: 0, count: 65536)
          _ = recv(client, &buffer, buffer.count, 0)
          _ = response.withUnsafeBytes { send(client, $0.baseAddress, $0.count, 0) }
          close(client)
        }
      }
    }

    deinit {
      shutdown(fd, Int32(SHUT_RDWR))
      close(fd)
    }
  }

  private let event = RemoteEvent(seqNum: 1, parentSeqNum: 0, name: "v1.X", args: ["a": 1], clientId: "c", sessionId: "s")

  func testA200WithoutTheHeadIsNotAnAcknowledgment() async throws {
    for body in ["{}", #"[{"_tag":"Defect","defect":"Unknown request tag: undefined"}]"#, #"{"head":0}"#] {
      let server = try CannedServer(body: body)
      let transport = try HTTPTransport(url: "http://127.0.0.1:\(server.port)", storeId: "s", payload: nil)
      do {
        _ = try await transport.push([event])
        XCTFail("\(body): taken as acknowledged")
      } catch let error as TransportError {
        XCTAssertEqual(error.kind, .protocolViolation, body)
        XCTAssertTrue(error.message.contains("was not acknowledged"), error.message)
      }
      await transport.close()
    }
  }

  func testTheAPIsOwnAnswerIsAnAcknowledgment() async throws {
    let server = try CannedServer(body: #"{"head":1,"createdAt":"2026-12-03T00:00:00.000Z"}"#)
    let transport = try HTTPTransport(url: "http://127.0.0.1:\(server.port)", storeId: "s", payload: nil)
    let outcome = try await transport.push([event])
    guard case .accepted = outcome else { return XCTFail("\(outcome)") }
    await transport.close()
  }
}
