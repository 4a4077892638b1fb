import HummingbirdWSClient
import LStoreKit
import LStoreSync

// What `WebSocketSyncClient` answers and throws, whichever protocol it speaks.

/// One page a pull delivers (see `ClientPullPage`).
public typealias WebSocketPullPage = ClientPullPage

/// What the backend answered to a push.
public enum WebSocketPushResult: Sendable, Equatable {
  /// `PushAck`: the events are stored (lstore's server acks only after a durable write).
  /// `metadata` is the backend's sync metadata for the batch (`{"createdAt": …}`), read from
  /// the broadcast echo of the push as LiveStore's client learns it; nil when no echo came
  /// within `Options.echoTimeout` of the ack.
  case acknowledged(metadata: JSONValue?)
  /// `Error` for this push, with the server's text (for a stale parent, LiveStore's
  /// `Invalid parent event number. Received e<parent> but expected e<head>`).
  case rejected(message: String)
  /// 0.4 `BackendIdMismatchError`: the backend (`expected`) is not the one the client
  /// knows (`received`). Nothing was stored.
  case backendIdMismatch(expected: String, received: String)
}

/// A change of a reconnecting client's connection.
public enum ConnectionChange: Sendable, Equatable {
  /// The open connection dropped; the client is reconnecting.
  case lost
  /// A connection is open again (after `lost`); an active pull is re-sent from its head.
  case restored
}

public struct WebSocketSyncError: Error, Sendable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    /// The first connection failed (unreachable, or refused: bad storeId, bad token).
    case connectFailed
    /// The connection dropped while a push waited for its answer: the push may or may not
    /// have been stored. Pull to find out.
    case connectionLost
    /// The server answered a pull with `Error`.
    case pullFailed
    /// The backend is not the one the client knows (0.4 `BackendIdMismatchError`, or a
    /// page with another `backendId`).
    case backendIdMismatch
    /// `close()` was called.
    case closed
  }

  public let kind: Kind
  public let message: String
  /// Why the first connection failed, for `connectFailed`: what a user can act on.
  public var connectFailure: ConnectFailure? = nil
  /// The ids of a `backendIdMismatch`: the backend's, and the one the client held.
  public var backendIds: PipelinedPushResult.BackendIds? = nil
  public var description: String { message }
}

/// Why a connection could not be opened, told apart from the socket library's error values
/// (which print as `Connection errors: SingleConnectionFailure(target: …)`).
public enum ConnectFailure: Sendable, Equatable {
  /// Nothing accepts connections at that address (ECONNREFUSED).
  case nothingListens(host: String, port: Int)
  /// The host name does not resolve.
  case unresolved(host: String)
  /// An HTTP server answered but did not upgrade to a WebSocket: a refused storeId or
  /// payload (LiveStore answers 400), or not a sync server at that path.
  case upgradeRefused
  case other(String)

  static func classify(_ error: Error) -> ConnectFailure {
    if let error = error as? WebSocketClientError, error == .webSocketUpgradeFailed { return .upgradeRefused }
    let text = String(describing: error)
    // NIOConnectionError (NIOPosix, not a dependency of this module): read by reflection.
    if String(describing: type(of: error)) == "NIOConnectionError" {
      let mirror = Mirror(reflecting: error)
      let host = mirror.descendant("host") as? String ?? "?"
      let port = mirror.descendant("port") as? Int ?? 0
      if text.hasPrefix("DNS error") { return .unresolved(host: host) }
      if text.contains("Connection refused") || text.contains("errno: 111)") { return .nothingListens(host: host, port: port) }
      if let errors = mirror.descendant("connectionErrors") as? [Any], let first = errors.first,
         let inner = Mirror(reflecting: first).descendant("error") {
        return .other("\(host):\(port): \(inner)")
      }
    }
    return .other(text)
  }

  /// The sentence for a user; `url` is the remote as given.
  public func message(url: String, storeId: String) -> String {
    switch self {
    case .nothingListens(let host, let port): return "nothing listens on \(host):\(port) (\(url)); is the server running?"
    case .unresolved(let host): return "cannot resolve the host name '\(host)' of \(url)"
    case .upgradeRefused: return "\(url) refused the WebSocket connection for store \(storeId) (a refused storeId or auth payload, or not a sync server)"
    case .other(let text): return "cannot connect to \(url) for store \(storeId): \(text)"
    }
  }
}
