/// The two LiveStore sync protocols lstore speaks to a network remote, as a remote's
/// config names them (`lstore remote add --protocol`).
public enum SyncProtocolVersion: String, Codable, Sendable, CaseIterable {
  /// sync-cf 0.3: `WSMessage.*` frames on `<url>/websocket`; over http://, lstore's own HTTP API.
  case liveStore03 = "livestore-0.3"
  /// sync-cf 0.4: Effect RPC frames on `<url>?storeId=…&transport=ws|http`.
  case liveStore04 = "livestore-0.4"
}
