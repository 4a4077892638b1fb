import Foundation
import LStoreKit
import LStoreSync
import LStoreSyncWebSocket

/// A live connection's drop and return (for commands that say so on stderr).
public typealias ConnectionChange = LStoreSyncWebSocket.ConnectionChange

/// Picks the transport for a remote location.
public enum Transports {
  /// - Parameter localEventlog: the syncing store's own eventlog, which a path remote must not be.
  /// - Parameter live: the transport will follow live updates, so a WebSocket keeps
  ///   reconnecting; otherwise a lost connection ends the command with an error.
  /// - Parameter onConnectionChange: told when a live WebSocket connection drops and
  ///   comes back.
  /// - Parameter version: the sync protocol of a network remote (nil: 0.3). ws:// and
  ///   wss:// speak it over WebSocket; http:// and https:// speak 0.4 over HTTP, or, for
  ///   0.3, lstore's own HTTP API.
  public static func open(location: String, storeId: String, payload: JSONValue?, now: String,
                          version: SyncProtocolVersion? = nil,
                          localEventlog: String? = nil, live: Bool = false,
                          onConnectionChange: (@Sendable (ConnectionChange) -> Void)? = nil) async throws -> SyncTransport {
    let lower = location.lowercased()
    let version = version ?? .liveStore03
    try refuseQuery(in: location)
    if lower.hasPrefix("ws://") || lower.hasPrefix("wss://") {
      do {
        return try await WebSocketTransport.connect(url: location, storeId: storeId, payload: payload, version: version,
                                                    reconnect: live, onConnectionChange: onConnectionChange)
      } catch let error as WebSocketSyncError where error.connectFailure == .upgradeRefused {
        let socketURL = version == .liveStore04
          ? LiveStore04Codec(storeId: storeId, payload: payload, transport: .webSocket)
            .socketURL(base: location, storeId: storeId, payload: payload)
          : SyncURL.webSocketURL(base: location, storeId: storeId, payload: payload)
        throw await ConnectErrors.probeRefusedUpgrade(url: location, socketURL: socketURL, storeId: storeId, payload: payload)
      }
    }
    if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
      if version == .liveStore04 { return try LiveStore04HTTPTransport(url: location, storeId: storeId, payload: payload) }
      return try HTTPTransport(url: location, storeId: storeId, payload: payload)
    }
    let path = lower.hasPrefix("file://") ? String(location.dropFirst(7)) : location
    guard FileManager.default.fileExists(atPath: path) else {
      throw TransportError(.notFound, "no store at \(path) (a remote is ws://…, http://… or a path to a store)")
    }
    return try LocalStoreTransport(path: path, now: now, localEventlog: localEventlog)
  }

  /// A network remote is the server's base URL: every transport adds its own path and
  /// query (`storeId`, `payload`, `transport`) to it. A URL that already has a query (one
  /// copied from a LiveStore app, `…/?storeId=s&transport=http`) would get a second one
  /// glued on, the protocol probe would miss and requests would go where nothing answers
  /// them as meant: refused, saying what to give instead.
  public static func refuseQuery(in location: String) throws {
    let lower = location.lowercased()
    guard ["ws://", "wss://", "http://", "https://"].contains(where: lower.hasPrefix),
          let mark = location.firstIndex(where: { $0 == "?" || $0 == "#" }) else { return }
    throw TransportError(.invalidLocation, "the remote URL \(location) has a query or fragment; give the server's base URL"
      + " (\(location[..<mark])): lstore adds storeId, payload and transport itself (the store id is the store's own,"
      + " 'lstore status'; the auth token goes in LSTORE_AUTH_TOKEN)")
  }

  /// The transport for a companion store (lstore's own records) of the same remote: the same
  /// protocol at another store id, or for a path remote a companion file beside that store.
  public static func openCompanion(location: String, storeId: String, payload: JSONValue?, now: String,
                                   version: SyncProtocolVersion? = nil, live: Bool = false,
                                   onConnectionChange: (@Sendable (ConnectionChange) -> Void)? = nil) async throws -> SyncTransport {
    let lower = location.lowercased()
    if lower.hasPrefix("ws://") || lower.hasPrefix("wss://") || lower.hasPrefix("http://") || lower.hasPrefix("https://") {
      return try await open(location: location, storeId: storeId, payload: payload, now: now, version: version, live: live,
                            onConnectionChange: onConnectionChange)
    }
    let path = lower.hasPrefix("file://") ? String(location.dropFirst(7)) : location
    let directory = path.hasSuffix(StoreLocator.directoryName) ? path : (path as NSString).appendingPathComponent(StoreLocator.directoryName)
    // Companion files live inside an existing store: a mistyped path must not become one.
    guard FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("config.json")) else {
      throw TransportError(.notFound, "no store at \(path) (a remote is ws://…, http://… or a path to a store)")
    }
    return try CompanionFileTransport(storeDirectory: directory, storeId: storeId)
  }
}
