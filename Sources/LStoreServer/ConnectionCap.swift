import Foundation
import LStoreSync
import Logging

/// How many connections the server holds open at once (`--max-connections`). Each one is a
/// file descriptor; when the process runs out of them, `accept` fails for every client and
/// the storage cannot open a file (SQLite's journal, a reconnect to PostgreSQL) either. A
/// connection over the cap is closed as soon as it is accepted, before it is read, and the
/// refusals are logged at most once a second (a flood must not flood the log too).
final class ConnectionCap: Sendable {
  let limit: Int
  private let logger: Logger
  private struct State {
    var open = 0
    var refusedSinceLog = 0
    var lastLog: Date = .distantPast
  }
  private let state = Locked(State())

  init(limit: Int, logger: Logger) {
    self.limit = limit
    self.logger = logger
  }

  /// The default: what the open-file limit leaves after 64 descriptors for the storage,
  /// the listening socket and the runtime, and at least 16.
  static func defaultLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return 4096 }  // rlim_t.max: RLIM_INFINITY
    return max(16, Int(clamping: limit.rlim_cur) - 64)
  }

  /// Counts a new connection in, or refuses it (false) when `limit` are open.
  func admit() -> Bool {
    let (admitted, refusals) = state.withLock { state -> (Bool, Int?) in
      if state.open < limit {
        state.open += 1
        return (true, nil)
      }
      state.refusedSinceLog += 1
      let now = Date()
      guard now.timeIntervalSince(state.lastLog) >= 1 else { return (false, nil) }
      defer { state.refusedSinceLog = 0; state.lastLog = now }
      return (false, state.refusedSinceLog)
    }
    if let refusals {
      logger.warning("connection refused: the server holds its maximum of open connections",
                     metadata: ["maxConnections": "\(limit)", "refused": "\(refusals)"])
    }
    return admitted
  }

  /// A connection counted in by `admit` closed.
  func release() { state.withLock { $0.open -= 1 } }

  var openConnections: Int { state.withLock { $0.open } }
}
