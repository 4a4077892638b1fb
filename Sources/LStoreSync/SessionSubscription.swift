/// A connection's subscription to its store's broadcasts, made in the background when the
/// connection opens and awaited by the requests that need it (pulls, which must not miss a
/// broadcast after their snapshot). Subscribing reads the store's head when this node has no
/// other subscriber for it, so with a database that does not answer it takes as long as the
/// storage's timeout: meanwhile the connection reads on and answers pings, a pull fails with
/// the internal error as any storage failure does, and the next pull subscribes again.
final class SessionSubscription: Sendable {
  private enum State {
    case none
    case subscribing(Task<SyncBackend.Subscription, any Error>)
    case subscribed(SyncBackend.Subscription)
    case ended
  }

  private let backend: SyncBackend
  private let storeId: String
  private let deliver = Locked<SyncBackend.Subscriber>({ _ in })
  private let state = Locked(State.none)

  init(backend: SyncBackend, storeId: String) {
    self.backend = backend
    self.storeId = storeId
  }

  /// Starts subscribing, with `deliver` called for every broadcast, without waiting (a
  /// failure is met again by the next `ensure`).
  func start(_ deliver: @escaping SyncBackend.Subscriber) {
    self.deliver.withLock { $0 = deliver }
    Task { _ = try? await ensure() }
  }

  /// The subscription, made now unless it exists or is being made.
  func ensure() async throws -> SyncBackend.Subscription {
    let (backend, storeId) = (backend, storeId)
    let deliver = self.deliver.withLock { $0 }
    enum Next {
      case done(Result<SyncBackend.Subscription, any Error>)
      case wait(Task<SyncBackend.Subscription, any Error>)
    }
    let next: Next = state.withLock { state in
      switch state {
      case .subscribed(let subscription): return .done(.success(subscription))
      case .ended: return .done(.failure(CancellationError()))
      case .subscribing(let task): return .wait(task)
      case .none:
        let task = Task { try await backend.subscribe(storeId: storeId, deliver) }
        state = .subscribing(task)
        return .wait(task)
      }
    }
    let task: Task<SyncBackend.Subscription, any Error>
    switch next {
    case .done(let result): return try result.get()
    case .wait(let waited): task = waited
    }
    do {
      let subscription = try await task.value
      let ended: Bool = state.withLock { state in
        switch state {
        case .ended: return true
        case .subscribing(let current) where current == task: state = .subscribed(subscription)
        default: break
        }
        return false
      }
      // The connection ended while this was being made: not kept.
      if ended {
        await backend.unsubscribe(subscription)
        throw CancellationError()
      }
      return subscription
    } catch {
      state.withLock { state in
        // Every caller waiting on this attempt meets its failure; only the first resets.
        if case .subscribing(let current) = state, current == task { state = .none }
      }
      throw error
    }
  }

  /// Ends the subscription (the connection is over); one still being made ends once made.
  func end() async {
    let previous: State = state.withLock { state in
      defer { state = .ended }
      return state
    }
    switch previous {
    case .subscribed(let subscription): await backend.unsubscribe(subscription)
    case .subscribing(let task): if let subscription = try? await task.value { await backend.unsubscribe(subscription) }
    case .none, .ended: break
    }
  }
}
