import Hummingbird
import LStoreKit
import LStoreSync
import Logging
import NIOCore

/// lstore's plain HTTP API for scripts (documented in docs/sync-http-api.md):
///
///     GET  /api/v1/stores/{storeId}/head                     → {"head":N}
///     GET  /api/v1/stores/{storeId}/events?cursor=N&limit=M  → {"batch":[…],"remaining":R,"head":H}
///     POST /api/v1/stores/{storeId}/events  {"batch":[…]}    → {"head":H} | 409 {"error","head"} | 400 {"error"}
///
/// Same backend, same validation and broadcasts as the WebSocket protocol; auth is
/// `Authorization: Bearer <token>`, checked like the connect payload's `authToken`.
struct HTTPAPI: Sendable {
  /// Every route of the API is under it.
  static let pathPrefix = "/api/v1/"
  static let defaultLimit = 100
  static let maxLimit = 10_000

  let backend: SyncBackend
  let authenticator: PayloadAuthenticator
  let logger: Logger

  func register(on router: Router<BasicRequestContext>) {
    let api = self
    router.get("/api/v1/stores/:storeId/head") { request, context in
      await api.guarded(request, context) { storeId in
        jsonResponse(.ok, ["head": .integer(try await api.backend.head(storeId: storeId))])
      }
    }
    router.get("/api/v1/stores/:storeId/events") { request, context in
      await api.guarded(request, context) { storeId in try await api.pull(request, storeId: storeId) }
    }
    router.post("/api/v1/stores/:storeId/events") { request, context in
      await api.guarded(request, context) { storeId in try await api.push(request, storeId: storeId) }
    }
  }

  struct BadRequest: Error { let message: String }

  /// Resolves and checks the storeId and the bearer token, and turns errors into JSON.
  private func guarded(_ request: Request, _ context: BasicRequestContext,
                       _ body: (String) async throws -> Response) async -> Response {
    let storeId = context.parameters.get("storeId") ?? ""
    guard Identifiers.isValidStoreID(storeId) else {
      return jsonResponse(.badRequest, ["error": .string(InvalidStoreID(storeId).description)])
    }
    if !authenticator.isOpen {
      let header = request.headers[.authorization] ?? ""
      // Refusals are logged as the WebSocket endpoint logs them: the reason, never the token.
      // The scheme is case-insensitive (RFC 9110 §11.1): `bearer x` is the same credential.
      let scheme = "Bearer "
      guard header.utf8.count > scheme.utf8.count, header.prefix(scheme.count).lowercased() == scheme.lowercased() else {
        logger.notice("connection refused", metadata: ["storeId": "\(storeId)", "status": "401", "path": "\(request.uri.path)",
                                                        "reason": "Missing auth token"])
        return jsonResponse(.unauthorized, ["error": "Missing auth token: send Authorization: Bearer <token>"])
      }
      do {
        try await authenticator.check(token: String(header.dropFirst(scheme.count)), storeId: storeId)
      } catch {
        logger.notice("connection refused", metadata: ["storeId": "\(storeId)", "status": "401", "path": "\(request.uri.path)",
                                                        "reason": "\(error)"])
        return jsonResponse(.unauthorized, ["error": .string("\(error)")])
      }
    }
    do {
      return try await body(storeId)
    } catch let error as BadRequest {
      return jsonResponse(.badRequest, ["error": .string(error.message)])
    } catch let refusal as RequestBody.Refusal {
      return jsonResponse(refusal == .tooLarge ? .contentTooLarge : .badRequest, ["error": .string(refusal.message)])
    } catch let error as any ClientFacingError {
      return jsonResponse(.badRequest, ["error": .string(error.description)])
    } catch {
      // Storage and I/O errors may carry SQL or paths: logged here, never sent.
      logger.error("request failed", metadata: ["storeId": "\(storeId)", "path": "\(request.uri.path)", "error": "\(error)"])
      return jsonResponse(.internalServerError, ["error": .string(ClientErrorText.internalError)])
    }
  }

  private func pull(_ request: Request, storeId: String) async throws -> Response {
    let query = request.uri.queryParameters
    let cursor = try query.get("cursor").map { try Self.integer($0, "cursor") } ?? 0
    let limit = try query.get("limit").map { try Self.integer($0, "limit") } ?? Int64(Self.defaultLimit)
    guard cursor >= 0 else { throw BadRequest(message: "cursor must be 0 or more") }
    guard (1...Int64(Self.maxLimit)).contains(limit) else {
      throw BadRequest(message: "limit must be between 1 and \(Self.maxLimit)")
    }
    let snapshot = try await backend.pullSnapshot(storeId: storeId, cursor: cursor)
    var iterator = backend.pages(of: snapshot, pageSize: Int(limit)).makeAsyncIterator()
    let page = try await iterator.next() ?? BackendPullPage(items: [], remaining: 0)
    // Written by hand: a page can hold thousands of events, and key order must be exact.
    var writer = JSONWriter(reservingCapacity: 256 + page.items.count * 200)
    writer.appendASCII("{\"batch\":[")
    for (index, item) in page.items.enumerated() {
      if index > 0 { writer.appendASCII(",") }
      item.write(into: &writer)
    }
    writer.appendASCII("],\"remaining\":")
    writer.writeInteger(page.remaining)
    writer.appendASCII(",\"head\":")
    writer.writeInteger(snapshot.head)
    writer.appendASCII("}")
    return Response(status: .ok, headers: [.contentType: "application/json"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: writer.bytes)))
  }

  private func push(_ request: Request, storeId: String) async throws -> Response {
    let body = try await RequestBody.collect(request)
    let batch: [WireEvent]
    do {
      let json = try JSONParser.parse(Array(buffer: body))
      guard let items = json["batch"]?.arrayValue else { throw SyncProtocolError("the body must be {\"batch\": [events…]}") }
      batch = try items.map(WireEvent.init(json:))
    } catch {
      throw BadRequest(message: "Invalid push body: \(error)")
    }
    do {
      let head = try await backend.push(storeId: storeId, batch: batch, requestId: Identifiers.nanoid(length: 21))
      // The batch's createdAt, so an HTTP client can record the confirmation as LiveStore
      // does (syncMetadata Some({createdAt})), as a WebSocket client learns it from the echo.
      var response = JSONObject([("head", .integer(head))])
      let snapshot = try await backend.pullSnapshot(storeId: storeId, cursor: head - 1)
      var pages = backend.pages(of: snapshot, pageSize: 1).makeAsyncIterator()
      if let item = try await pages.next()?.items.first, item.event.seqNum == head, let createdAt = item.createdAt {
        response["createdAt"] = .string(createdAt)
      }
      return jsonResponse(.ok, .object(response))
    } catch let mismatch as StorageHeadMismatch {
      return jsonResponse(.conflict, ["error": .string(mismatch.description), "head": .integer(mismatch.storedHead)])
    } catch let rejection as PushRejection {
      switch rejection.kind {
      case .notAtHead(let head):
        return jsonResponse(.conflict, ["error": .string(rejection.message), "head": .integer(head)])
      case .malformed:
        return jsonResponse(.badRequest, ["error": .string(rejection.message)])
      }
    }
  }

  private static func integer(_ text: String, _ name: String) throws -> Int64 {
    guard let value = Int64(text) else { throw BadRequest(message: "\(name) must be an integer") }
    return value
  }
}
