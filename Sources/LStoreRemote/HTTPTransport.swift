import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LStoreKit
import LStoreSync

/// lstore's plain HTTP API (docs/sync-http-api.md), the one scripts use with curl.
public final class HTTPTransport: SyncTransport {
  private let base: URL
  private let storeId: String
  private let token: String?
  private let session: URLSession
  public let description: String
  /// The backend's limit per push request (LiveStore's contract, kept by the HTTP API too).
  public var maxBatchSize: Int { PushValidation.maxBatchSize }

  public init(url: String, storeId: String, payload: JSONValue?) throws {
    guard let base = URL(string: url.hasSuffix("/") ? String(url.dropLast()) : url) else {
      throw TransportError(.unavailable, "invalid URL \(url)")
    }
    self.base = base
    self.storeId = storeId
    self.token = payload?["authToken"]?.stringValue
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = 60
    self.session = URLSession(configuration: configuration)
    self.description = "\(url) (store \(storeId))"
  }

  private func request(_ path: String, query: [URLQueryItem] = [], method: String = "GET", body: Data? = nil)
    async throws -> (Int, JSONValue)
  {
    var components = URLComponents(url: base.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
    if !query.isEmpty { components.queryItems = query }
    var request = URLRequest(url: components.url!)
    request.httpMethod = method
    request.httpBody = body
    if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
    // The token goes in a header, never in the URL (which servers and proxies log).
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    let (data, status) = try await ConnectErrors.send(request, with: session, url: base)
    if status == 401 || status == 403 {
      throw ConnectErrors.refusal(url: base.absoluteString, status: status, serverText: json(data)["error"]?.stringValue ?? "",
                                  sentToken: token != nil)
    }
    // Not an lstore backend at that address, or one that is restarting.
    if status == 404 || status >= 500 {
      throw TransportError(.unavailable, "\(base.absoluteString) answered HTTP \(status)\(json(data)["error"]?.stringValue.map { ": \($0)" } ?? "")")
    }
    return (status, (try? JSONParser.parse([UInt8](data))) ?? .null)
  }

  private func json(_ data: Data) -> JSONValue { (try? JSONParser.parse([UInt8](data))) ?? .null }

  private var storePath: String { "api/v1/stores/\(storeId)" }

  public func pull(after cursor: Int64, onPage: (PullPage) throws -> Void) async throws {
    var cursor = cursor
    while true {
      let (status, json) = try await request(
        "\(storePath)/events", query: [URLQueryItem(name: "cursor", value: String(cursor)), URLQueryItem(name: "limit", value: "5000")])
      guard status == 200, case .array(let items)? = json["batch"] else {
        throw TransportError(.protocolViolation, "pull from \(description) failed: HTTP \(status) \(json["error"]?.stringValue ?? "")")
      }
      let events = try items.map { try PullItem(json: $0).remoteEvent }
      let remaining = Int(json["remaining"]?.doubleValue ?? 0)
      try onPage(PullPage(events: events, remaining: remaining))
      if remaining == 0 || events.isEmpty { return }
      cursor = events.last!.seqNum
    }
  }

  /// Sends `batch` in requests of at most 100 events and about 900,000 bytes each (100
  /// large events would be a body no backend takes), in order; at a refusal the requests
  /// before it are stored (the next pull confirms them).
  public func push(_ batch: [RemoteEvent]) async throws -> PushOutcome {
    let events = batch.map {
      WireEvent(name: $0.name, args: $0.args, seqNum: $0.seqNum, parentSeqNum: $0.parentSeqNum,
                clientId: $0.clientId, sessionId: $0.sessionId)
    }
    var metadata: JSONValue?
    for part in PushValidation.batchesToSend(events, envelopeBytes: 16) {
      switch try await push(part: part) {
      case .accepted(let answered): metadata = answered
      case .rejected(let reason, let head): return .rejected(reason: reason, backendHead: head)
      }
    }
    return .accepted(metadata: metadata)
  }

  /// One `POST …/events`.
  private func push(part: [WireEvent]) async throws -> PushOutcome {
    var writer = JSONWriter(reservingCapacity: part.count * 160)
    writer.appendASCII(#"{"batch":["#)
    for (i, event) in part.enumerated() {
      if i > 0 { writer.appendASCII(",") }
      event.write(into: &writer)
    }
    writer.appendASCII("]}")
    let (status, json) = try await request("\(storePath)/events", method: "POST", body: Data(writer.bytes))
    switch status {
    case 200:
      // Acknowledged only by the API's own answer: the head now holds the batch. Any other
      // 200 (something else at that address) must not mark the events synced.
      guard let head = json["head"]?.doubleValue, let last = part.last, Int64(head) >= last.seqNum else {
        throw TransportError(.protocolViolation, "push to \(description) was not acknowledged: HTTP 200 without the head"
          + " holding the batch (is \(base.absoluteString) an lstore backend's HTTP API?); nothing is marked pushed")
      }
      return .accepted(metadata: json["createdAt"].map { ["createdAt": $0] })
    case 409: return .rejected(reason: json["error"]?.stringValue ?? "the backend is ahead",
                               backendHead: json["head"].flatMap { $0.doubleValue.map { Int64($0) } })
    default:
      throw TransportError(.protocolViolation, "push to \(description) failed: HTTP \(status) \(json["error"]?.stringValue ?? "")")
    }
  }

  public func backendHead() async throws -> Int64? {
    let (status, json) = try await request("\(storePath)/head")
    guard status == 200 else { return nil }
    return json["head"]?.doubleValue.map { Int64($0) }
  }

  public func close() async { session.invalidateAndCancel() }

}

