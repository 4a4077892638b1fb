import LStoreKit

/// The server side of one LiveStore 0.4 connection (Effect RPC, `SyncWsRpc` over a WebSocket
/// or `SyncHttpRpc` over HTTP) as a state machine: inputs (a client frame, a storage result,
/// a broadcast) in, actions (frames to send, storage work to start) out. No networking and
/// no waiting: `RPC04ServerSession` runs it against a `SyncBackend`.
///
/// The flows are those of LiveStore 0.4.0's Durable Object (docs/sync-server.md, "LiveStore
/// 0.4 protocol"):
/// - a pull sends its snapshot in pages of at most 100 events and 900,000 bytes, one
///   `Chunk` each, `MoreKnown(remaining)` then `NoMore`, an empty `NoMore` page when there
///   is nothing; with acks (WebSocket), the next `Chunk` and the final `Exit` wait for the
///   client's `Ack` of the previous one (over HTTP, for it to be written to the response);
///   the next page is read meanwhile (one page ahead);
/// - a live pull then stays open and receives the store's accepted pushes as `NoMore`
///   pages, also one unacknowledged `Chunk` at a time: what arrives meanwhile is held and
///   sent together (still ≤ 100 events and 900,000 bytes a page); events the snapshot
///   already held are never sent twice;
/// - a push is answered with `Exit` `Success {}` once durable, or a typed failure.
public struct RPC04ServerMachine: Sendable {
  public struct Options: Sendable {
    public var storeId: String
    /// Whether each `Chunk` waits to be acknowledged before the next: on WebSocket by the
    /// client's `Ack` (Effect's socket protocol has `supportsAck`); over HTTP, where the
    /// client sends none, by `delivered` once the chunk is written to the response, so a
    /// streamed response holds one page at a time too.
    public var acks: Bool
    /// Whether live pulls exist on this transport (the HTTP pull schema has no `live`).
    public var transport: Transport
    /// Pulls one connection may have open at once (a live pull stays open).
    public var maxOpenPulls: Int
    /// Bytes of broadcast events held for a client that does not ack, above which the
    /// connection is closed.
    public var maxHeldBytes: Int

    public init(storeId: String, transport: Transport, acks: Bool = true, maxOpenPulls: Int = 16,
                maxHeldBytes: Int = 64 << 20) {
      self.storeId = storeId
      self.transport = transport
      self.acks = acks
      self.maxOpenPulls = maxOpenPulls
      self.maxHeldBytes = maxHeldBytes
    }
  }

  public enum Transport: Sendable { case webSocket, http }

  public enum Action: Sendable {
    case send(String)
    /// A `Chunk` of the stream `requestId`: the stream goes on once it is acknowledged.
    case sendChunk(String, requestId: String)
    /// Check the cursor's backend id, fix the pull's snapshot after `cursor`, answer
    /// `pullOpened` or `pullFailed`.
    case openPull(requestId: String, cursor: SyncRPC04.PullRequest.Cursor?)
    /// Read the next page of the pull's snapshot, answer `page`.
    case readPage(requestId: String)
    /// The pull is over: drop what reads its snapshot.
    case closePull(requestId: String)
    /// Check the backend id and hand the batch to the backend in arrival order, answer `pushDone`.
    case push(requestId: String, request: SyncRPC04.PushRequest)
    /// Give up on the client (it holds back Acks while broadcasts pile up).
    case close(reason: String)
    case log(SyncSession.Event)
  }

  public enum Input: Sendable {
    case frame(String)
    /// HTTP: the last `Chunk` of `requestId` is written to the response (its Ack).
    case delivered(requestId: String)
    case pullOpened(requestId: String, snapshotHead: Int64, total: Int64, backendId: String)
    case pullFailed(requestId: String, SyncRPC04.SyncError)
    case page(requestId: String, BackendPullPage)
    /// A push stored, or refused for what it is (`ServerAheadError`, a wrong backend id, a
    /// malformed batch: logged as a rejection).
    case pushDone(requestId: String, count: Int, Result<Int64, SyncRPC04.SyncError>)
    /// A push the storage failed to answer (logged by the session with the real error).
    case pushFailed(requestId: String, SyncRPC04.SyncError)
    /// An accepted push of the store (to every socket of the store).
    case broadcast([PullItem])
    /// The store was reset: the broadcasts that follow begin a new history.
    case historyRestarted
  }

  private struct HeldItem: Sendable {
    var item: PullItem
    var bytes: Int
  }

  private struct Pull: Sendable {
    var live: Bool
    var cursor: Int64?
    /// nil while the snapshot is being fixed.
    var snapshotHead: Int64?
    var total: Int64 = 0
    var backendId = ""
    var awaitingAck = false
    var readyPage: BackendPullPage?
    var reading = false
    var pagingDone = false
    var held: [HeldItem] = []
    var heldBytes = 0
    var pages = 0
  }

  public let options: Options
  private var pulls: [String: Pull] = [:]
  private var pushes: Set<String> = []

  public init(options: Options) { self.options = options }

  /// No request is open (an HTTP exchange is over once this holds after its Request).
  public var isIdle: Bool { pulls.isEmpty && pushes.isEmpty }
  public var openPullCount: Int { pulls.count }

  public mutating func handle(_ input: Input) -> [Action] {
    var actions: [Action] = []
    switch input {
    case .frame(let text): handleFrame(text, &actions)
    case .delivered(let id): acknowledge(id, &actions)
    case .pullOpened(let id, let head, let total, let backendId):
      guard var pull = pulls[id] else { break }
      pull.snapshotHead = head
      pull.total = total
      pull.backendId = backendId
      // Broadcasts held while the snapshot was fixed: only those after it.
      pull.held.removeAll { $0.item.event.seqNum <= head }
      pull.heldBytes = pull.held.reduce(0) { $0 + $1.bytes }
      pull.reading = true
      pulls[id] = pull
      actions.append(.readPage(requestId: id))
    case .pullFailed(let id, let error):
      guard pulls.removeValue(forKey: id) != nil else { break }
      actions.append(.closePull(requestId: id))
      actions.append(.log(.failed(requestId: id, message: "Pull failed: \(error.jsonValue.compactText)")))
      actions.append(.send(RPC04.ServerMessage.exit(requestId: id, exit: error.exit).encoded()))
    case .page(let id, let page):
      guard var pull = pulls[id] else { break }
      pull.reading = false
      pull.readyPage = page
      pulls[id] = pull
      advance(id, &actions)
    case .pushDone(let id, let count, let result):
      pushes.remove(id)
      switch result {
      case .success(let head):
        actions.append(.log(.pushAccepted(requestId: id, count: count, head: head)))
        actions.append(.send(RPC04.ServerMessage.exit(requestId: id, exit: .success(SyncRPC04.pushAck)).encoded()))
      case .failure(let error):
        actions.append(.log(.pushRejected(requestId: id, count: count, message: error.jsonValue.compactText)))
        actions.append(.send(RPC04.ServerMessage.exit(requestId: id, exit: error.exit).encoded()))
      }
    case .pushFailed(let id, let error):
      pushes.remove(id)
      actions.append(.send(RPC04.ServerMessage.exit(requestId: id, exit: error.exit).encoded()))
    case .broadcast(let items):
      broadcast(items, &actions)
    case .historyRestarted:
      // A live pull has sent (or skips, as its snapshot's) events of the history that is
      // gone: its new events would reach the client as if they continued it, under the old
      // backend id. The pull ends; the client's next pull meets the new backend id.
      for id in pulls.filter({ $0.value.live }).keys.sorted() {
        pulls.removeValue(forKey: id)
        let error = SyncRPC04.SyncError.unknown(
          cause: "the store was reset: its history starts over (pull again; the backend id changed)", note: nil)
        actions.append(.closePull(requestId: id))
        actions.append(.log(.failed(requestId: id, message: "Pull ended: the store was reset")))
        actions.append(.send(RPC04.ServerMessage.exit(requestId: id, exit: error.exit).encoded()))
      }
    }
    return actions
  }

  // MARK: - Frames

  private mutating func handleFrame(_ text: String, _ actions: inout [Action]) {
    if text == RPC04.pingText {
      actions.append(.send(RPC04.pongText))
      return
    }
    let tags = options.transport == .webSocket ? SyncRPC04.webSocketTags : SyncRPC04.httpTags
    let message: RPC04.ClientMessage
    do {
      message = try RPC04.ClientMessage.decode(text, knownTags: tags)
    } catch {
      actions.append(.log(.invalidMessage(reason: error.description)))
      actions.append(.send(RPC04.ServerMessage.defect(error.defect).encoded()))
      return
    }
    switch message {
    case .ping: actions.append(.send(RPC04.pongText))
    case .eof: break  // nothing to end on a socket: open requests keep running, as in Effect
    case .ack(let raw):
      // An Ack for nothing waiting (a finished stream, an orphan after a reconnect) is ignored.
      guard let id = RPC04RequestId.canonical(raw) else { return }
      acknowledge(id, &actions)
    case .interrupt(let raw):
      guard let id = RPC04RequestId.canonical(raw), pulls.removeValue(forKey: id) != nil else { return }
      actions.append(.closePull(requestId: id))
      actions.append(.send(RPC04.ServerMessage.exit(requestId: id, exit: .failure(.interrupt(.clientInterrupt))).encoded()))
    case .request(let request):
      handleRequest(request, &actions)
    }
  }

  private mutating func handleRequest(_ request: RPC04.Request, _ actions: inout [Action]) {
    guard let id = RPC04RequestId.canonical(request.id) else {
      actions.append(.log(.invalidMessage(reason: "invalid request id")))
      actions.append(.send(RPC04.ServerMessage.defect(.string("Invalid request id: \(request.id)")).encoded()))
      return
    }
    guard pulls[id] == nil, !pushes.contains(id) else {
      actions.append(.log(.invalidMessage(reason: "request id \(id) reused while open")))
      actions.append(.send(RPC04.ServerMessage.defect(.string("Request id \(id) is already in use by an open request")).encoded()))
      return
    }
    func die(_ text: String) {
      actions.append(.log(.invalidMessage(reason: text)))
      actions.append(.send(RPC04.ServerMessage.exit(requestId: id, exit: .failure(.die(.string(text)))).encoded()))
    }
    func refuse(_ text: String) {
      actions.append(.log(.failed(requestId: id, message: text)))
      let error = SyncRPC04.SyncError.unknown(cause: RPC04.errorDefect(name: "Error", message: text), note: text)
      actions.append(.send(RPC04.ServerMessage.exit(requestId: id, exit: error.exit).encoded()))
    }
    func checkStore(_ storeId: String) -> Bool {
      guard storeId == options.storeId else {
        refuse("Invalid storeId \"\(storeId.prefix(80))\": this connection is for store \"\(options.storeId)\"")
        return false
      }
      return true
    }
    switch request.tag {
    case SyncRPC04.wsPull, SyncRPC04.httpPull:
      let pull: SyncRPC04.PullRequest
      do {
        pull = try SyncRPC04.PullRequest(json: request.payload, requireLive: request.tag == SyncRPC04.wsPull)
      } catch {
        return die("Invalid \(request.tag) payload: \(error)")
      }
      guard checkStore(pull.storeId) else { return }
      guard pulls.count < options.maxOpenPulls else {
        return refuse("Too many pulls open on this connection (the limit is \(options.maxOpenPulls)): interrupt one first")
      }
      pulls[id] = Pull(live: pull.live == true && options.transport == .webSocket, cursor: pull.cursor?.eventSequenceNumber)
      actions.append(.openPull(requestId: id, cursor: pull.cursor))
    case SyncRPC04.wsPush, SyncRPC04.httpPush:
      let push: SyncRPC04.PushRequest
      do {
        push = try SyncRPC04.PushRequest(json: request.payload)
      } catch {
        return die("Invalid \(request.tag) payload: \(error)")
      }
      guard checkStore(push.storeId) else { return }
      if push.batch.isEmpty {
        // LiveStore acks an empty batch before any check; nothing is stored.
        actions.append(.send(RPC04.ServerMessage.exit(requestId: id, exit: .success(SyncRPC04.pushAck)).encoded()))
        return
      }
      pushes.insert(id)
      actions.append(.push(requestId: id, request: push))
    case SyncRPC04.httpPing:
      do {
        let ping = try SyncRPC04.PingRequest(json: request.payload)
        guard checkStore(ping.storeId) else { return }
      } catch {
        return die("Invalid \(request.tag) payload: \(error)")
      }
      actions.append(.send(RPC04.ServerMessage.exit(requestId: id, exit: .success(SyncRPC04.pong)).encoded()))
    default:
      actions.append(.send(RPC04.ServerMessage.defect(.string("Unknown request tag: \(request.tag)")).encoded()))
    }
  }

  // MARK: - Streams

  private mutating func acknowledge(_ id: String, _ actions: inout [Action]) {
    guard pulls[id]?.awaitingAck == true else { return }
    pulls[id]!.awaitingAck = false
    advance(id, &actions)
  }

  /// Sends what the pull may send now: nothing while a `Chunk` waits for its Ack; else the
  /// page read ahead, the `Exit` of a finished non-live pull, or held broadcasts.
  private mutating func advance(_ id: String, _ actions: inout [Action]) {
    while var pull = pulls[id], !pull.awaitingAck {
      if let page = pull.readyPage {
        pull.readyPage = nil
        let response = SyncRPC04.PullResponse(batch: page.items, pageInfo: .init(remaining: page.remaining),
                                              backendId: pull.backendId)
        actions.append(.sendChunk(response.chunkFrame(requestId: id), requestId: id))
        pull.pages += 1
        pull.awaitingAck = options.acks
        if page.remaining == 0 || page.items.isEmpty {
          pull.pagingDone = true
          actions.append(.log(.pullServed(requestId: id, cursor: pull.cursor, events: pull.total, pages: pull.pages)))
        } else {
          pull.reading = true
          actions.append(.readPage(requestId: id))
        }
        pulls[id] = pull
        continue
      }
      guard pull.pagingDone else { return }
      if !pull.live {
        pulls[id] = nil
        actions.append(.closePull(requestId: id))
        actions.append(.send(RPC04.ServerMessage.exit(requestId: id, exit: .success(nil)).encoded()))
        return
      }
      guard !pull.held.isEmpty else { return }
      var count = 0, bytes = 0
      while count < pull.held.count, count < PullPaging.pageSize,
        count == 0 || bytes + pull.held[count].bytes <= SyncRPC04.maxPageItemBytes
      {
        bytes += pull.held[count].bytes
        count += 1
      }
      let response = SyncRPC04.PullResponse(batch: pull.held.prefix(count).map(\.item), pageInfo: .noMore,
                                            backendId: pull.backendId)
      pull.held.removeFirst(count)
      pull.heldBytes -= bytes
      pull.awaitingAck = options.acks
      pulls[id] = pull
      actions.append(.sendChunk(response.chunkFrame(requestId: id), requestId: id))
    }
  }

  private mutating func broadcast(_ items: [PullItem], _ actions: inout [Action]) {
    guard !items.isEmpty else { return }
    let live = pulls.filter { $0.value.live }.keys.sorted()
    guard !live.isEmpty else { return }
    var scratch = JSONWriter(reservingCapacity: 1024)
    let sized = items.map { item -> HeldItem in
      scratch.removeAll()
      SyncRPC04.PullResponse.write(item, into: &scratch)
      return HeldItem(item: item, bytes: scratch.bytes.count + 1)
    }
    for id in live {
      var pull = pulls[id]!
      let fresh = pull.snapshotHead.map { head in sized.filter { $0.item.event.seqNum > head } } ?? sized
      pull.held += fresh
      pull.heldBytes += fresh.reduce(0) { $0 + $1.bytes }
      pulls[id] = pull
      advance(id, &actions)
    }
    let held = pulls.values.reduce(0) { $0 + $1.heldBytes }
    if held > options.maxHeldBytes {
      let reason = "the client does not ack: \(held) bytes of live events held for it, the limit is \(options.maxHeldBytes)"
      actions.append(.log(.closed(reason: reason)))
      actions.append(.close(reason: reason))
    }
  }
}
