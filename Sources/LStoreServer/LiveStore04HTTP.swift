import Hummingbird
import LStoreKit
import LStoreSync
import Logging
import NIOCore

/// Requests of LiveStore 0.4 clients (`?storeId=…&transport=ws|http` on any path and, for
/// HTTP, any method), answered before the router so that no lstore route (`GET /`, the
/// HTTP API) shadows them. Upgraded WebSockets never get here (`WebSocketEndpoint`);
/// everything else goes to `inner` unchanged, 0.3 requests included.
struct LiveStore04Responder<Inner: HTTPResponder>: HTTPResponder {
  let inner: Inner
  let endpoint: WebSocketEndpoint
  let http: LiveStore04HTTP

  func respond(to request: Request, context: Inner.Context) async throws -> Response {
    let query = request.uri.query ?? ""
    // lstore's HTTP API keeps its paths whatever the query says (a GET there was served by
    // the API while a POST went to the RPC and was answered 200 with a Defect).
    if request.uri.path.hasPrefix(HTTPAPI.pathPrefix) { return try await inner.respond(to: request, context: context) }
    switch SyncURL.transport04(inQuery: query) {
    case .webSocket?:
      // Not upgraded: LiveStore's answers (400 for a refused payload, 426 without `Upgrade: websocket`).
      return await endpoint.refusal(for: query, hasUpgrade: false)
    case .http?:
      let response = await http.respond(to: request, query: query)
      // As RequestLogMiddleware logs the router's requests: never the query (it holds the payload).
      http.logger.info("http", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)",
                                          "status": "\(response.status.code)", "protocol": "livestore-0.4-http"])
      return response
    case nil:
      return try await inner.respond(to: request, context: context)
    }
  }
}

/// The response body's writer, handed to the exchange's `write` closure (called one frame
/// at a time, in order, from one task).
final class UncheckedWriter: @unchecked Sendable {
  private var writer: any ResponseBodyWriter
  init(_ writer: any ResponseBodyWriter) { self.writer = writer }
  func write(_ buffer: ByteBuffer) async throws { try await writer.write(buffer) }
  func finish() async throws { try await writer.finish(nil) }
}

/// `makeHttpSync`'s transport (`SyncHttpRpc`): the body is one Effect RPC `Request`, the
/// answer a JSON array of every frame it produced (`Chunk`s, then the `Exit`), HTTP 200,
/// as Effect's `RpcServer.toHttpApp` with `RpcSerialization.layerJson` answers it.
struct LiveStore04HTTP: Sendable {
  let backend: SyncBackend
  let authenticator: PayloadAuthenticator
  let logger: Logger

  func respond(to request: Request, query: String) async -> Response {
    let storeId: String
    let payload: JSONValue?
    do {
      (storeId, payload) = try SyncURL.parseConnectQuery(query)
    } catch {
      return textResponse(.internalServerError, "Invalid search params: \(error)")
    }
    guard Identifiers.isValidStoreID(storeId) else { return textResponse(.badRequest, InvalidStoreID(storeId).description) }
    do {
      try await authenticator.check(payload: payload, storeId: storeId)
    } catch {
      logger.notice("connection refused", metadata: ["storeId": "\(storeId)", "status": "400", "reason": "\(error)"])
      return textResponse(.badRequest, "\(error)")
    }
    let body: ByteBuffer
    do {
      body = try await RequestBody.collect(request)
    } catch {
      return textResponse(error == .tooLarge ? .contentTooLarge : .badRequest, error.message)
    }
    var logger = logger
    logger[metadataKey: "storeId"] = "\(storeId)"
    logger[metadataKey: "protocol"] = "livestore-0.4-http"
    let text = String(decoding: body.readableBytesView, as: UTF8.self)
    let backend = backend
    // Streamed: the JSON array is written frame by frame as the pull's pages are read.
    return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { [logger] writer in
      let output = UncheckedWriter(writer)
      try await output.write(ByteBuffer(string: "["))
      let first = Locked(true)
      try await RPC04ServerSession.exchange(body: text, backend: backend, storeId: storeId, onEvent: { event in
        WebSocketEndpoint.log(event, logger)
      }, write: { frame in
        let comma = first.withLock { isFirst in
          defer { isFirst = false }
          return !isFirst
        }
        try await output.write(ByteBuffer(string: (comma ? "," : "") + frame))
      })
      try await output.write(ByteBuffer(string: "]"))
      try await output.finish()
    })
  }
}
