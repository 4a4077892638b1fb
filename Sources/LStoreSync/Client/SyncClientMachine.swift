import LStoreKit

/// One page a client's pull delivers: catch-up pages (`isLive == false`) until
/// `remaining == 0`, then, for a live pull, one page per push the backend accepted.
public struct ClientPullPage: Sendable, Equatable {
  public var items: [PullItem]
  public var remaining: Int64
  public var isLive: Bool
  /// Set on the first page after a reconnect, which was asked from one event before
  /// `resumedAt`, the last event the pull had delivered: a backend that still has that
  /// event sends it again, first, so the consumer can check it is the one it has (a
  /// LiveStore 0.3 backend has no id to tell a replaced one apart). Nil on other pages.
  public var resumedAt: Int64?

  public init(items: [PullItem], remaining: Int64, isLive: Bool, resumedAt: Int64? = nil) {
    self.items = items
    self.remaining = remaining
    self.isLive = isLive
    self.resumedAt = resumedAt
  }
}

/// Why a request failed, in the terms the sync logic acts on, whichever protocol said it.
public enum ClientFailure: Error, Equatable, Sendable {
  /// The backend's own words (0.3 `WSMessage.Error`, 0.4 `UnknownError` or a defect).
  case message(String)
  /// The push's first parent is not the backend's head (0.3 `Invalid parent event number …`,
  /// 0.4 `ServerAheadError`). `message` names the head as `… but expected e<head>`.
  case serverAhead(backendHead: Int64?, message: String)
  /// 0.4 `BackendIdMismatchError`, or a pull page whose `backendId` is not the one the
  /// client holds: the backend was reset or replaced. `expected` is the backend's id,
  /// `received` the client's (LiveStore's naming).
  case backendIdMismatch(expected: String, received: String)
  /// The connection dropped with the request unanswered.
  case connectionLost
}

/// What a sync client hears from its backend, decoded by a protocol's codec.
public enum ClientInbound: Equatable, Sendable {
  /// A page for the pull `requestId`. 0.3: catch-up pages only. 0.4: catch-up pages, then
  /// (live) every broadcast. `backendId` is nil where the protocol has none (0.3).
  case page(requestId: String, items: [PullItem], remaining: Int64, backendId: String?)
  /// 0.3 only: an accepted push broadcast to every socket of the store; `pushRequestId`
  /// is the push's (the pusher learns its events' metadata from it).
  case broadcast(pushRequestId: String, items: [PullItem])
  /// The request ended well: a push's ack, or (0.4) the end of a pull stream.
  case succeeded(requestId: String)
  case failed(requestId: String, ClientFailure)
  /// A failure of every open request (0.4 `Defect`; LiveStore's client fails them all).
  case failedAll(ClientFailure)
  case pong
  /// Something to skip (an unknown message).
  case ignored
}

/// The pull and push rules of a sync client, independent of the wire: inputs are what the
/// user asks and what the codec decoded, outputs are requests to send and pages to hand
/// on. The driver (a WebSocket connection, or HTTP requests) runs the actions in order and
/// keeps the waiters; the codec turns `Request`s into frames. Both LiveStore protocols use
/// this one machine, as the server's `SyncSession` serves both.
///
/// Rules (LiveStore's client, §7.3 of the 0.3 notes and B6 of the 0.4 ones):
/// - one pull at a time; a page's events at or below what was already delivered are
///   dropped (a re-pull or a broadcast may overlap);
/// - 0.3 broadcasts that arrive before the pull's first page are stashed and merged into
///   its last catch-up page;
/// - after a reconnect an unfinished or live pull is sent again from the last event it
///   delivered, under a new request id;
/// - 0.4: an `Ack` after every page of an open pull (the server sends the next page only
///   then); a pull whose consumer left is interrupted;
/// - the backend id: learned from the first page when the client has none (LiveStore's
///   `lazySet`), compared on every page when it has one; a different id ends the pull with
///   `backendIdMismatch` and nothing is delivered from that page.
public struct SyncClientMachine: Sendable {
  /// A request for the codec to encode and the driver to send.
  public enum Request: Equatable, Sendable {
    /// `cursor` nil: from the beginning. `backendId`: the id the client holds, if any.
    case pull(requestId: String, cursor: Int64?, live: Bool, backendId: String?)
    case push(requestId: String, batch: [WireEvent], backendId: String?)
    case ack(requestId: String)
    case interrupt(requestId: String)
  }

  public enum Action: Equatable, Sendable {
    case send(Request)
    /// Hand a page to the pull's consumer (`backpressure`: the driver may wait for room).
    case deliver(ClientPullPage, backpressure: Bool)
    /// The pull is over: nil when it finished, else why it failed.
    case endPull(ClientFailure?)
    /// The answer to the push `requestId`: nil when it was accepted, else why not (ignored
    /// by the driver if nobody waits for it).
    case answerPush(requestId: String, failure: ClientFailure?)
    /// 0.3: the broadcast echo of the push `requestId`, with its sync metadata.
    case echo(pushRequestId: String, metadata: JSONValue)
  }

  private struct Pull: Sendable {
    var requestId: String
    var live: Bool
    /// The cursor the user gave (nil: from the beginning), until something is delivered.
    var cursor: Int64?
    /// The highest seqNum handed to the consumer (or the cursor): where a re-pull starts.
    var confirmedHead: Int64
    /// Whether any event was handed to the consumer.
    var delivered = false
    /// After a reconnect: the delivered event the re-pull must begin with (`resumedAt`).
    var resumeCheck: Int64?
    var catchUpDone = false
    var firstPageSeen = false
    var stash: [PullItem] = []
  }

  /// 0.4: `Ack` every page of an open pull, `Interrupt` a pull left early.
  public let acksPages: Bool
  private let makeRequestId: @Sendable () -> String
  /// The backend's id as the client knows it (from the store, or learned).
  public private(set) var backendId: String?
  private var pull: Pull?
  private var connected = false

  public init(acksPages: Bool, backendId: String? = nil, makeRequestId: @escaping @Sendable () -> String) {
    self.acksPages = acksPages
    self.backendId = backendId
    self.makeRequestId = makeRequestId
  }

  public var hasPull: Bool { pull != nil }
  public var pullRequestId: String? { pull?.requestId }

  /// Sets the id the client holds (from the store) before a pull or push.
  public mutating func setBackendId(_ id: String?) { backendId = id }

  public func newRequestId() -> String { makeRequestId() }

  // MARK: - What the user asks

  /// Starts a pull after `cursor` (nil: from the beginning), replacing one in progress
  /// (which the caller ends). Sent at once when connected, else when the connection opens.
  public mutating func startPull(cursor: Int64?, live: Bool) -> [Action] {
    var actions: [Action] = []
    if let previous = pull, acksPages, connected { actions.append(.send(.interrupt(requestId: previous.requestId))) }
    let next = Pull(requestId: makeRequestId(), live: live, cursor: cursor, confirmedHead: max(cursor ?? 0, 0))
    pull = next
    if connected { actions.append(.send(.pull(requestId: next.requestId, cursor: cursor, live: live, backendId: backendId))) }
    return actions
  }

  /// The pull's consumer went away: forget the pull (0.4: tell the server).
  public mutating func stopPull() -> [Action] {
    guard let current = pull else { return [] }
    pull = nil
    return acksPages && connected ? [.send(.interrupt(requestId: current.requestId))] : []
  }

  /// A push request, with the backend id the client holds.
  public func push(requestId: String, batch: [WireEvent]) -> Request {
    .push(requestId: requestId, batch: batch, backendId: backendId)
  }

  // MARK: - The connection

  /// A connection opened: an unfinished or live pull is sent again from what it delivered,
  /// from one event before the last one it delivered (see `ClientPullPage.resumedAt`).
  public mutating func connectionOpened() -> [Action] {
    connected = true
    guard var current = pull else { return [] }
    current.requestId = makeRequestId()
    current.firstPageSeen = false
    current.catchUpDone = false
    current.stash = []
    let resumes = current.delivered && current.confirmedHead > 0
    current.resumeCheck = resumes ? current.confirmedHead : nil
    pull = current
    let cursor: Int64? = resumes ? current.confirmedHead - 1 : current.confirmedHead > 0 ? current.confirmedHead : current.cursor
    return [.send(.pull(requestId: current.requestId, cursor: cursor, live: current.live, backendId: backendId))]
  }

  /// The connection dropped: the pull waits for the next one (the driver fails pushes).
  public mutating func connectionLost() { connected = false }

  // MARK: - What the backend says

  public mutating func receive(_ inbound: ClientInbound) -> [Action] {
    switch inbound {
    case .page(let requestId, let items, let remaining, let pageBackendId):
      return page(requestId: requestId, items: items, remaining: remaining, backendId: pageBackendId)
    case .broadcast(let pushRequestId, let items):
      return broadcast(pushRequestId: pushRequestId, items: items)
    case .succeeded(let requestId):
      if let current = pull, current.requestId == requestId {
        // 0.4: a stream's end. A non-live pull already ended at its last page.
        pull = nil
        return [.endPull(nil)]
      }
      return [.answerPush(requestId: requestId, failure: nil)]
    case .failed(let requestId, let failure):
      if let current = pull, current.requestId == requestId {
        // The backend named its id because the client sent none it knows (a cursor with an
        // empty id, sent when the client holds no id): learn it and ask again.
        if case .backendIdMismatch(let expected, let received) = failure, received.isEmpty, backendId == nil {
          backendId = expected
          let retry = makeRequestId()
          pull?.requestId = retry
          let cursor: Int64? = current.confirmedHead > 0 ? current.confirmedHead : current.cursor
          return [.send(.pull(requestId: retry, cursor: cursor, live: current.live, backendId: expected))]
        }
        pull = nil
        return [.endPull(failure)]
      }
      return [.answerPush(requestId: requestId, failure: failure)]
    case .failedAll(let failure):
      // The driver fails its waiting pushes itself; the pull ends here.
      guard pull != nil else { return [] }
      pull = nil
      return [.endPull(failure)]
    case .pong, .ignored:
      return []
    }
  }

  private mutating func page(requestId: String, items: [PullItem], remaining: Int64, backendId pageBackendId: String?)
    -> [Action]
  {
    guard var current = pull, current.requestId == requestId else { return [] }
    if let pageBackendId {
      if let known = backendId, known != pageBackendId {
        pull = nil
        var actions: [Action] = [.endPull(.backendIdMismatch(expected: pageBackendId, received: known))]
        if acksPages { actions.insert(.send(.interrupt(requestId: requestId)), at: 0) }
        return actions
      }
      backendId = pageBackendId
    }
    var actions: [Action] = []
    let ack: [Action] = acksPages ? [.send(.ack(requestId: requestId))] : []
    if current.catchUpDone {
      // 0.4: a live broadcast on the pull's own id.
      let fresh = items.filter { $0.event.seqNum > current.confirmedHead }
      if !fresh.isEmpty {
        current.confirmedHead = fresh.last!.event.seqNum
        current.delivered = true
        actions.append(.deliver(ClientPullPage(items: fresh, remaining: 0, isLive: true), backpressure: false))
      }
      pull = current
      return actions + ack
    }
    current.firstPageSeen = true
    // The first page of a re-pull keeps the event it was asked to begin with.
    let resumedAt = current.resumeCheck
    current.resumeCheck = nil
    let after = resumedAt.map { $0 - 1 } ?? current.confirmedHead
    var fresh = items.filter { $0.event.seqNum > after }
    if remaining == 0 {
      let after = fresh.last?.event.seqNum ?? after
      fresh += current.stash.filter { $0.event.seqNum > after }
      current.stash = []
      current.catchUpDone = true
    }
    current.confirmedHead = max(fresh.last?.event.seqNum ?? current.confirmedHead, current.confirmedHead)
    if !fresh.isEmpty { current.delivered = true }
    actions.append(.deliver(ClientPullPage(items: fresh, remaining: remaining, isLive: false, resumedAt: resumedAt),
                            backpressure: true))
    actions += ack
    if remaining == 0 && !current.live {
      pull = nil
      actions.append(.endPull(nil))
    } else {
      pull = current
    }
    return actions
  }

  private mutating func broadcast(pushRequestId: String, items: [PullItem]) -> [Action] {
    var actions: [Action] = [.echo(pushRequestId: pushRequestId, metadata: items.first?.metadata ?? .null)]
    guard var current = pull else { return actions }
    defer { pull = current }
    guard current.firstPageSeen else {
      current.stash += items
      return actions
    }
    guard current.catchUpDone, current.live else { return actions }
    let fresh = items.filter { $0.event.seqNum > current.confirmedHead }
    guard !fresh.isEmpty else { return actions }
    current.confirmedHead = fresh.last!.event.seqNum
    current.delivered = true
    actions.append(.deliver(ClientPullPage(items: fresh, remaining: 0, isLive: true), backpressure: false))
    return actions
  }
}
