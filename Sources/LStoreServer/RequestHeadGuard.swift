import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// The longest request line plus headers the server reads (NIO's and Hummingbird's
/// default, set explicitly): 80 KiB. A longer one is answered `431` and the connection closed.
let maxRequestHeadBytes = 80 * 1024

/// Wraps the HTTP/WebSocket child channel so a request the HTTP decoder refuses (a request
/// line or headers over `maxRequestHeadBytes`, malformed HTTP) gets an answer and a closed
/// connection. Without it, a decoder error before the upgrade negotiation ends reaches no
/// handler that answers: the client waits until it gives up.
///
/// It also keeps the connection cap: a connection over it is closed before anything is read.
struct GuardedChildChannel<Inner: ServerChildChannel>: ServerChildChannel {
  typealias Value = Inner.Value
  let inner: Inner
  let cap: ConnectionCap

  /// Why a connection was closed at accept (Hummingbird drops a channel whose setup failed).
  struct OverConnectionCap: Error {}

  func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
    guard cap.admit() else {
      return channel.close().flatMapThrowing { throw OverConnectionCap() }
    }
    let cap = cap
    channel.closeFuture.whenComplete { _ in cap.release() }
    return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
      try channel.pipeline.syncOperations.addHandler(RequestHeadGuard())
      return value
    }
  }

  func handle(value: Value, logger: Logger) async { await inner.handle(value: value, logger: logger) }
}

/// How long a new connection may take to send its first request head. A peer that sends
/// nothing, or a head a byte at a time, otherwise holds a socket (and a file descriptor)
/// for as long as it likes; enough of them and the server stops accepting anyone.
let requestHeadTimeout: TimeAmount = .seconds(15)

/// How long a plain HTTP connection may stay silent with no request in progress (between
/// keep-alive requests, or inside a request body that stopped arriving) before it is
/// closed: the same cheap hold as above, one request later. Hummingbird's connection state
/// handler keeps it, from the first request head on; a response being written is never
/// cut. WebSocket connections are kept by the socket library's pings instead (every 30 s;
/// one unanswered closes).
let idleConnectionTimeout: TimeAmount = .seconds(15)

/// Inbound only (writes of any type pass by untouched, before and after an upgrade). On an
/// HTTP parser error before any request went through, writes `431` (head too large) or
/// `400` with a one-line reason, and closes. A connection through which nothing has come
/// `requestHeadTimeout` after it opened is closed: a plain request's head reaches this
/// handler once parsed; a WebSocket upgrade's is taken by the upgrade, and its first frame
/// (every client sends its pull or push at once) comes through here instead.
final class RequestHeadGuard: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  private var sawRequest = false
  private var headTimeout: Scheduled<Void>?

  func handlerAdded(context: ChannelHandlerContext) {
    let channel = context.channel
    let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
    headTimeout = context.eventLoop.scheduleTask(in: requestHeadTimeout) {
      guard !handler.value.sawRequest else { return }
      channel.close(promise: nil)
    }
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    headTimeout?.cancel()
    headTimeout = nil
  }

  func channelInactive(context: ChannelHandlerContext) {
    headTimeout?.cancel()
    headTimeout = nil
    context.fireChannelInactive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    if !sawRequest {
      sawRequest = true
      headTimeout?.cancel()
      headTimeout = nil
    }
    context.fireChannelRead(data)
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    guard let parserError = error as? HTTPParserError, !sawRequest else {
      context.fireErrorCaught(error)
      return
    }
    sawRequest = true
    let (status, text): (HTTPResponseStatus, String) = parserError == .headerOverflow
      ? (.requestHeaderFieldsTooLarge, "Request refused: the request line and headers exceed \(maxRequestHeadBytes / 1024) KiB")
      : (.badRequest, "Request refused: malformed HTTP request")
    var body = context.channel.allocator.buffer(capacity: text.utf8.count)
    body.writeString(text)
    let headers = HTTPHeaders([("Connection", "close"), ("Content-Type", "text/plain; charset=utf-8"),
                               ("Content-Length", "\(body.readableBytes)")])
    let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
    context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
    context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil)
    context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in
      context.close(promise: nil)
    }
  }
}

extension HTTPServerBuilder {
  /// `http1WebSocketUpgrade` with `RequestHeadGuard` in every connection's pipeline, within `cap`.
  static func guardedHTTP1WebSocketUpgrade(
    configuration: HTTP1WebSocketUpgradeChannel.Configuration, cap: ConnectionCap,
    shouldUpgrade: @escaping @Sendable (HTTPRequest, any Channel, Logger) async throws
      -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>>
  ) -> HTTPServerBuilder {
    .init { responder in
      GuardedChildChannel(inner: HTTP1WebSocketUpgradeChannel(responder: responder, configuration: configuration,
                                                              shouldUpgrade: shouldUpgrade), cap: cap)
    }
  }
}
