import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LStoreKit
import LStoreSync

/// sync-cf 0.4 over HTTP (`makeHttpSync`, `SyncHttpRpc`): every call is one
/// `POST <url>?storeId=…[&payload=…]&transport=http` whose body is one Effect RPC
/// `Request` and whose answer is a JSON array of the frames it produced (a pull's
/// `Chunk`s, then its `Exit`). Pages go through `SyncClientMachine`, as over WebSocket;
/// there are no Acks (Effect's HTTP protocol has none) and no live pull: `SyncClient`
/// polls (LiveStore's client polls every 5 s).
public final class LiveStore04HTTPTransport: BackendIdentifiedTransport {
  private let url: URL
  /// The remote's URL as given, for messages.
  private let base: URL
  private let codec: LiveStore04Codec
  private let session: URLSession
  private let machine: Locked<SyncClientMachine>
  public let description: String
  /// LiveStore's limit per push (the backend enforces none; lstore's does).
  public var maxBatchSize: Int { PushValidation.maxBatchSize }

  public init(url: String, storeId: String, payload: JSONValue?) throws {
    let codec = LiveStore04Codec(storeId: storeId, payload: payload, transport: .http)
    guard let endpoint = URL(string: codec.socketURL(base: url, storeId: storeId, payload: payload)) else {
      throw TransportError(.unavailable, "invalid URL \(url)")
    }
    self.url = endpoint
    self.base = URL(string: url) ?? endpoint
    self.codec = codec
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = 120
    self.session = URLSession(configuration: configuration)
    self.machine = Locked(SyncClientMachine(acksPages: false, makeRequestId: { codec.requestId() }))
    // The remote as given: the endpoint's query holds the payload (the auth token).
    self.description = "\(url) (store \(storeId))"
  }

  public var hasBackendIds: Bool { true }
  public var backendId: String? { machine.withLock { $0.backendId } }
  public func setBackendId(_ id: String?) { machine.withLock { $0.setBackendId(id) } }

  private func request(_ body: String) -> URLRequest {
    var request = URLRequest(url: url)
    request.httpMethod = "POST"
    request.httpBody = Data(body.utf8)
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    request.setValue(codec.storeId, forHTTPHeaderField: "x-livestore-store-id")
    return request
  }

  private func checkStatus(_ status: Int, answer: () -> Data) throws {
    guard status != 200 else { return }
    let text = String(decoding: answer().prefix(500), as: UTF8.self)
    if status == 400 || status == 401 || status == 403 {
      throw ConnectErrors.refusal(url: description, status: status, serverText: text, sentToken: codec.payload?["authToken"] != nil)
    }
    throw TransportError(.unavailable, "\(description) answered HTTP \(status)\(text.isEmpty ? "" : ": \(text)")")
  }

  private var malformedAnswer: TransportError {
    TransportError(.protocolViolation, "\(description) did not answer with a JSON array of Effect RPC frames")
  }

  /// Posts one request and calls `body` with each frame of the answer (a push's: a few).
  private func call(_ body: String, frames: (JSONValue) throws -> Void) async throws {
    let (data, status) = try await ConnectErrors.send(request(body), with: session, url: base)
    try checkStatus(status) { data }
    var sent = false
    var reader = FrameArrayReader(malformed: malformedAnswer) {
      defer { sent = true }
      return sent ? nil : data
    }
    try reader.forEachFrame(frames)
  }

  /// Posts one request whose answer may be large (a pull's holds every page) and calls
  /// `body` with each of its frames: the answer goes to a temporary file as it arrives and
  /// is read back a megabyte at a time, so memory does not grow with the pull.
  private func callLarge(_ body: String, frames: (JSONValue) throws -> Void) async throws {
    let (file, status) = try await ConnectErrors.download(request(body), with: session, url: base)
    defer { try? FileManager.default.removeItem(at: file) }
    try checkStatus(status) { (try? FileHandle(forReadingFrom: file).read(upToCount: 500)) ?? Data() }
    let handle = try FileHandle(forReadingFrom: file)
    defer { try? handle.close() }
    var reader = FrameArrayReader(malformed: malformedAnswer) { try handle.read(upToCount: 1 << 20) }
    try reader.forEachFrame(frames)
  }

  public func pull(after cursor: Int64, onPage: (PullPage) throws -> Void) async throws {
    // One request answers every page (the machine checks them as over WebSocket).
    var next: SyncClientMachine.Request? = machine.withLock { machine in
      _ = machine.connectionOpened()
      for case .send(let request) in machine.startPull(cursor: cursor, live: false) { return request }
      return nil
    }
    while let request = next {
      next = nil
      var ended = false
      try await callLarge(codec.encode(request)) { frame in
        for inbound in codec.decode(frame) where !ended {
          for action in machine.withLock({ $0.receive(inbound) }) {
            switch action {
            case .deliver(let page, _):
              try onPage(PullPage(events: page.items.map(\.remoteEvent), remaining: Int(page.remaining)))
            case .endPull(nil):
              ended = true
            case .endPull(let failure?):
              throw Self.error(failure, description: description)
            case .send(let retry):
              // The same pull with the backend's id, learned from its refusal of none.
              next = retry
            case .answerPush, .echo:
              break
            }
          }
        }
      }
      if ended { return }
    }
    _ = machine.withLock { $0.stopPull() }
    throw TransportError(.protocolViolation, "\(description) ended the pull without its last page")
  }

  public func push(_ batch: [RemoteEvent]) async throws -> PushOutcome {
    let events = batch.map {
      WireEvent(name: $0.name, args: $0.args, seqNum: $0.seqNum, parentSeqNum: $0.parentSeqNum,
                clientId: $0.clientId, sessionId: $0.sessionId)
    }
    // Split as LiveStore's client splits a push (100 events, 900,000 bytes), sent in order;
    // at a refusal the batches before it are stored (the next pull confirms them).
    for batch in codec.pushBatches(events) {
      if case .rejected(let reason, let head) = try await push(batch: batch) { return .rejected(reason: reason, backendHead: head) }
    }
    return .accepted(metadata: nil)
  }

  /// One `SyncHttpRpc.Push`.
  private func push(batch events: [WireEvent]) async throws -> PushOutcome {
    let requestId = codec.requestId()
    let request = machine.withLock { $0.push(requestId: requestId, batch: events) }
    var frames: [JSONValue] = []
    try await call(codec.encode(request)) { frames.append($0) }
    for frame in frames {
      for inbound in codec.decode(frame) {
        switch inbound {
        case .succeeded(let id) where id == requestId:
          return .accepted(metadata: nil)
        case .failed(let id, let failure) where id == requestId:
          switch failure {
          case .serverAhead(let head, let message): return .rejected(reason: message, backendHead: head)
          case .backendIdMismatch(let expected, let received): throw SyncError.backendIdMismatch(stored: received, backend: expected)
          case .message(let text): return .rejected(reason: text, backendHead: nil)
          case .connectionLost: throw TransportError(.unavailable, "push to \(description): \(failure.message)")
          }
        case .failedAll(let failure):
          throw TransportError(.protocolViolation, "push to \(description) failed: \(failure.message)")
        default:
          continue
        }
      }
    }
    throw TransportError(.protocolViolation, "\(description) did not answer the push")
  }

  /// The protocol has no head request.
  public func backendHead() async throws -> Int64? { nil }

  public func close() async { session.invalidateAndCancel() }

  static func error(_ failure: ClientFailure, description: String) -> Error {
    switch failure {
    case .backendIdMismatch(let expected, let received): return SyncError.backendIdMismatch(stored: received, backend: expected)
    case .connectionLost: return TransportError(.unavailable, "pull from \(description): \(failure.message)")
    case .message, .serverAhead: return TransportError(.protocolViolation, "pull from \(description) failed: \(failure.message)")
    }
  }
}
