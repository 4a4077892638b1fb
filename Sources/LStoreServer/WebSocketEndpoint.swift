import Hummingbird
import HummingbirdWebSocket
import LStoreKit
import LStoreSync
import Logging
import NIOCore

/// `/websocket?storeId=…&payload=…`: LiveStore's connect checks, in LiveStore's order and
/// with its status codes, then one `SyncSession` per upgraded socket.
struct WebSocketEndpoint: Sendable {
  /// Frames and messages up to 16 MiB: a full pull page or push batch is one text frame
  /// (browsers and Cloudflare send unfragmented frames; Hummingbird's default is 16 KiB).
  static let maxMessageSize = 16 << 20

  let backend: SyncBackend
  let authenticator: PayloadAuthenticator
  let adminSecret: String?
  let limits: ConnectionLimits
  let logger: Logger

  /// The connect checks. Nil when the connection may be upgraded, else LiveStore's answer:
  /// 500 for unreadable search params, 400 for a refused payload (or storeId), 426
  /// without `Upgrade: websocket`.
  func check(query: String, hasUpgrade: Bool) async -> (status: HTTPResponse.Status, text: String, storeId: String?)? {
    let storeId: String
    let payload: JSONValue?
    do {
      (storeId, payload) = try SyncURL.parseConnectQuery(query)
    } catch {
      return (.internalServerError, "Invalid search params: \(error)", nil)
    }
    guard Identifiers.isValidStoreID(storeId) else { return (.badRequest, InvalidStoreID(storeId).description, nil) }
    do {
      try await authenticator.check(payload: payload, storeId: storeId)
    } catch {
      return (.badRequest, "\(error)", storeId)
    }
    guard hasUpgrade else { return (.upgradeRequired, "Durable Object expected Upgrade: websocket", storeId) }
    return nil
  }

  func refusal(for query: String, hasUpgrade: Bool) async -> Response {
    guard let refusal = await check(query: query, hasUpgrade: hasUpgrade) else {
      return textResponse(.badRequest, "Invalid path")
    }
    logger.notice("connection refused", metadata: ["storeId": "\(refusal.storeId ?? "-")",
                                                    "status": "\(refusal.status.code)", "reason": "\(refusal.text)"])
    return textResponse(refusal.status, refusal.text)
  }

  func shouldUpgrade(_ request: HTTPRequest, channel: any Channel) async throws
    -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>>
  {
    let target = request.path ?? "/"
    let (path, query) = Self.split(target)
    // LiveStore 0.4 clients name their transport in the query, on any path; 0.3 clients
    // open `/websocket` without one. `transport=http` is never a socket.
    let transport = SyncURL.transport04(inQuery: query)
    guard transport == .webSocket || (transport == nil && path.hasSuffix("/websocket")) else { return .dontUpgrade }
    // Refused connects are not upgraded (the client sees 400). The upgrade handler answers
    // them without the router, so they are logged here, with the reason and never the
    // payload (which holds the token).
    if let refusal = await check(query: query, hasUpgrade: true) {
      logger.notice("connection refused", metadata: ["storeId": "\(refusal.storeId ?? "-")",
                                                      "status": "\(refusal.status.code)", "reason": "\(refusal.text)"])
      return .dontUpgrade
    }
    guard let storeId = try? SyncURL.parseConnectQuery(query).storeId else { return .dontUpgrade }
    let backend = backend, adminSecret = adminSecret, limits = limits
    var logger = logger
    logger[metadataKey: "storeId"] = "\(storeId)"
    logger[metadataKey: "connection"] = "\(Identifiers.nanoid(length: 8))"
    return .upgrade([:]) { [logger] inbound, outbound, _ in
      logger.info("connected", metadata: ["protocol": "\(transport == nil ? "livestore-0.3" : "livestore-0.4")"])
      defer { logger.info("disconnected") }
      let send: @Sendable (String) async throws -> Void = { text in try await outbound.write(.text(text)) }
      // The client does not read, so a close frame would never reach it: drop the TCP
      // connection, which fails the pending writes and ends `inbound`.
      let close: @Sendable (String) -> Void = { _ in channel.close(promise: nil) }
      do {
        if transport == .webSocket {
          let session = RPC04ServerSession(backend: backend, storeId: storeId, limits: limits) { event in
            Self.log(event, logger)
          }
          try await session.run(inbound: TextMessages(inbound: inbound), send: send, close: close)
        } else {
          let session = SyncSession(backend: backend, storeId: storeId, adminSecret: adminSecret, limits: limits) { event in
            Self.log(event, logger)
          }
          try await session.run(inbound: TextMessages(inbound: inbound), send: send, close: close)
        }
      } catch is InvalidUTF8Message {
        logger.notice("connection failed: a binary message is not UTF-8")
        try await outbound.close(.dataInconsistentWithMessage, reason: "message is not UTF-8")
      } catch {
        // A text frame that is not UTF-8 (close 1007), a frame over the size limit (1009):
        // the socket library closes with the right code.
        logger.notice("connection failed", metadata: ["error": "\(error)"])
        throw error
      }
    }
  }

  static func split(_ target: String) -> (path: String, query: String) {
    guard let mark = target.firstIndex(of: "?") else { return (target, "") }
    return (String(target[..<mark]), String(target[target.index(after: mark)...]))
  }

  static func log(_ event: SyncSession.Event, _ logger: Logger) {
    switch event {
    case .pushAccepted(let requestId, let count, let head):
      logger.info("push accepted", metadata: ["requestId": "\(requestId)", "events": "\(count)", "head": "\(head)"])
    case .pushRejected(let requestId, let count, let message):
      logger.notice("push rejected", metadata: ["requestId": "\(requestId)", "events": "\(count)", "reason": "\(message)"])
    case .pullServed(let requestId, let cursor, let events, let pages):
      logger.info("pull served", metadata: ["requestId": "\(requestId)", "cursor": "\(cursor.map(String.init) ?? "-")",
                                            "events": "\(events)", "pages": "\(pages)"])
    case .invalidMessage(let reason):
      logger.notice("invalid message", metadata: ["reason": "\(reason.prefix(200))"])
    case .adminReset:
      logger.notice("store reset by admin")
    case .adminRefused:
      logger.notice("admin message refused: invalid admin secret")
    case .failed(let requestId, let message):
      logger.error("request failed", metadata: ["requestId": "\(requestId)", "error": "\(message)"])
    case .closed(let reason):
      logger.notice("connection closed by the server", metadata: ["reason": "\(reason)"])
    }
  }
}

/// A binary message whose bytes are not UTF-8 (text frames are checked by the socket library).
struct InvalidUTF8Message: Error {}

/// The text messages of a socket. Binary messages are read as UTF-8 (LiveStore only sends
/// text); one that is not UTF-8 fails the connection, as a text frame would (RFC 6455).
struct TextMessages: AsyncSequence {
  typealias Element = String
  let inbound: WebSocketInboundStream

  struct AsyncIterator: AsyncIteratorProtocol {
    var messages: WebSocketInboundMessageStream.AsyncIterator

    mutating func next() async throws -> String? {
      while let message = try await messages.next() {
        switch message {
        case .text(let text): return text
        case .binary(let buffer):
          guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else { throw InvalidUTF8Message() }
          return text
        }
      }
      return nil
    }
  }

  func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(messages: inbound.messages(maxSize: WebSocketEndpoint.maxMessageSize).makeAsyncIterator())
  }
}
