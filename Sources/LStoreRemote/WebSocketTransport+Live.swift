import LStoreKit
import LStoreSync
import LStoreSyncWebSocket

/// Live updates over the WebSocket protocol: after catching up, every push the backend
/// accepts arrives as a page, until the task is cancelled.
extension WebSocketTransport: LiveSyncTransport {
  public func follow(after cursor: Int64, onPage: (LStoreKit.PullPage) throws -> Void) async throws {
    do {
      for try await page in client.pull(cursor: cursor, live: true) {
        try onPage(LStoreKit.PullPage(events: page.items.map(\.remoteEvent), remaining: Int(page.remaining),
                                      resumedAt: page.resumedAt))
      }
    } catch let error as WebSocketSyncError where error.kind == .backendIdMismatch {
      throw WebSocketTransport.translate(error)
    } catch let error as WebSocketSyncError {
      throw TransportError(.unavailable, "live pull from \(description) ended: \(error.message)")
    }
  }
}
