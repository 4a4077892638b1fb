import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LStoreKit
import LStoreSync

/// Which LiveStore sync protocol a network remote speaks, asked once, over plain HTTP
/// (for ws:// remotes too):
/// - 0.4: `SyncHttpRpc.Ping` posted to `<url>?storeId=…&transport=http` is answered with
///   `SyncMessage.Pong` (sync-cf 0.4, `lstore serve`);
/// - 0.3: a GET of `<url>/websocket?storeId=…` without `Upgrade` is answered 426 (the
///   connect would be accepted) or refused for its auth payload (sync-cf 0.3, `lstore serve`).
/// A backend that speaks both (`lstore serve`) gets the store's own: 0.4 for a format-6
/// store, 0.3 for a format-4 one, so each store syncs as its LiveStore version's app would.
public enum ProtocolProbe {
  /// What the probe learned.
  public enum Finding: Equatable, Sendable {
    case found(SyncProtocolVersion)
    /// Nothing answered, or the backend refused the auth payload: ask again on first use.
    case unknown(reason: String)
  }

  /// Nil for a location that is not a network URL (a path remote has no protocol).
  /// - Parameter preferred: the protocol to take when the backend speaks both.
  public static func probe(location: String, storeId: String, payload: JSONValue?,
                           preferred: SyncProtocolVersion) async -> Finding? {
    let lower = location.lowercased()
    var base = location
    if lower.hasPrefix("ws://") { base = "http://" + location.dropFirst(5) }
    else if lower.hasPrefix("wss://") { base = "https://" + location.dropFirst(6) }
    else if !(lower.hasPrefix("http://") || lower.hasPrefix("https://")) { return nil }
    let session = URLSession(configuration: .ephemeral)
    defer { session.invalidateAndCancel() }
    let speaks04: Answer = await ask04(base: base, storeId: storeId, payload: payload, session: session)
    if case .unreachable(let reason) = speaks04 { return .unknown(reason: reason) }
    let speaks03: Answer = await ask03(base: base, storeId: storeId, payload: payload, session: session)
    switch (speaks04, speaks03) {
    case (.yes, .yes): return .found(preferred)
    case (.yes, _): return .found(.liveStore04)
    case (_, .yes): return .found(.liveStore03)
    case (.refusedAuth, _), (_, .refusedAuth):
      return .unknown(reason: "the backend refused the probe's auth payload")
    case (_, .unreachable(let reason)): return .unknown(reason: reason)
    default:
      // Neither answered as a sync backend: 0.3, as before lstore spoke 0.4 (a connect then
      // says what is wrong).
      return .found(.liveStore03)
    }
  }

  enum Answer: Equatable {
    case yes, no, refusedAuth
    case unreachable(String)
  }

  static func ask04(base: String, storeId: String, payload: JSONValue?, session: URLSession) async -> Answer {
    let codec = LiveStore04Codec(storeId: storeId, payload: payload, transport: .http)
    guard let url = URL(string: codec.socketURL(base: base, storeId: storeId, payload: payload)) else { return .no }
    var request = URLRequest(url: url)
    request.httpMethod = "POST"
    request.httpBody = Data(codec.pingRequest().utf8)
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    request.timeoutInterval = 10
    guard let (data, status) = await send(request, session: session) else { return .unreachable("no answer from \(base)") }
    if status == 200, case .array(let frames)? = try? JSONParser.parse([UInt8](data)),
       frames.contains(where: { frame in
         if case .exit(_, .success(let value))? = try? RPC04.ServerMessage.decode(frame) { return value == SyncRPC04.pong }
         return false
       }) {
      return .yes
    }
    return refusesAuth(status: status, data: data) ? .refusedAuth : .no
  }

  static func ask03(base: String, storeId: String, payload: JSONValue?, session: URLSession) async -> Answer {
    guard let url = URL(string: SyncURL.webSocketURL(base: base, storeId: storeId, payload: payload)) else { return .no }
    var request = URLRequest(url: url)
    request.timeoutInterval = 10
    guard let (data, status) = await send(request, session: session) else { return .unreachable("no answer from \(base)") }
    if status == 426 { return .yes }
    return refusesAuth(status: status, data: data) ? .refusedAuth : .no
  }

  /// A refusal of the auth payload: the backend speaks the protocol, but the probe cannot
  /// be sure without the right token.
  static func refusesAuth(status: Int, data: Data) -> Bool {
    let text = String(decoding: data.prefix(500), as: UTF8.self).lowercased()
    return [400, 401, 403].contains(status) && (text.contains("auth") || text.contains("token") || text.contains("jwt"))
  }

  static func send(_ request: URLRequest, session: URLSession) async -> (Data, Int)? {
    guard let (data, response) = try? await session.data(for: request) else { return nil }
    return (data, (response as? HTTPURLResponse)?.statusCode ?? 0)
  }
}
