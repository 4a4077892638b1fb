#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A temporary directory for one command's scratch files (the scratch states `diff`,
/// `blame` and `replay` replay into), named `lstore-<purpose>-<pid>-<uuid>` in the
/// temporary directory. It is removed by `remove()`, or when the value goes away. A process
/// stopped by a signal runs no `defer`: the CLI's signal handling calls `removeAllOpen()`
/// first (SIGINT, SIGTERM); what a process that is gone left behind (SIGKILL, a crash) is
/// removed by the next scratch directory of the same purpose, found by the pid in its name.
public final class ScratchDirectory: @unchecked Sendable {
  public let path: String

  private static let lock = NSLock()
  nonisolated(unsafe) private static var open: Set<String> = []

  public init(purpose: String) throws {
    Self.removeAbandoned(purpose: purpose)
    path = NSTemporaryDirectory() + Self.prefix(purpose) + "\(getpid())-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    Self.lock.withLock { _ = Self.open.insert(path) }
  }

  deinit { remove() }

  public func file(_ name: String) -> String { path + "/" + name }

  /// Removes the directory and everything in it.
  public func remove() {
    try? FileManager.default.removeItem(atPath: path)
    Self.lock.withLock { _ = Self.open.remove(path) }
  }

  /// Removes every scratch directory this process still has open: before exiting on a signal.
  public static func removeAllOpen() {
    for path in lock.withLock({ open }) {
      // Twice: the interrupted work may have created a file between the walk and the rmdir.
      if (try? FileManager.default.removeItem(atPath: path)) == nil { try? FileManager.default.removeItem(atPath: path) }
    }
  }

  private static func prefix(_ purpose: String) -> String { "lstore-\(purpose)-" }

  /// Scratch directories of `purpose` whose process is gone.
  static func removeAbandoned(purpose: String) {
    let temporary = NSTemporaryDirectory()
    let prefix = prefix(purpose)
    for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] where name.hasPrefix(prefix) {
      guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0.isNumber }), kill(pid, 0) != 0, errno == ESRCH else { continue }
      try? FileManager.default.removeItem(atPath: (temporary as NSString).appendingPathComponent(name))
    }
  }
}
