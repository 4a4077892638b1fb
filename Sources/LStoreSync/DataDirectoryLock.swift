import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on a backend's SQLite file, held for the life of the process (or until
/// `release`), so two `lstore serve` never write one file: each would keep its own head and
/// both would acknowledge pushes, serving different histories.
///
/// It is `flock` on `<database>.lock`, which the kernel drops when the process dies (even by
/// SIGKILL), so a crash never leaves a stale lock behind. The file holds the owner's pid for
/// the error message only.
public final class DataDirectoryLock: @unchecked Sendable {
  public let path: String
  private var descriptor: Int32

  /// - Throws: `DataDirectoryInUse` when another process holds the lock.
  public init(database: String) throws {
    path = database + ".lock"
    descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw DataDirectoryLockError(path: path, message: String(cString: strerror(errno)))
    }
    guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
      let reason = errno
      let owner = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
      close(descriptor)
      if reason == EWOULDBLOCK { throw DataDirectoryInUse(database: database, ownerPid: owner.flatMap { Int32($0) }) }
      throw DataDirectoryLockError(path: path, message: String(cString: strerror(reason)))
    }
    let pid = "\(getpid())\n"
    _ = ftruncate(descriptor, 0)
    _ = pid.withCString { pwrite(descriptor, $0, strlen($0), 0) }
  }

  public func release() {
    guard descriptor >= 0 else { return }
    close(descriptor)  // drops the flock
    descriptor = -1
  }

  deinit { release() }
}

/// Another process (another `lstore serve`) has the backend's SQLite file open.
public struct DataDirectoryInUse: Error, CustomStringConvertible, Sendable {
  public let database: String
  public let ownerPid: Int32?
  public var description: String {
    let owner = ownerPid.map { " (pid \($0))" } ?? ""
    return "\(database) is in use by another lstore serve\(owner): one SQLite backend file has one server. "
      + "Stop the other server, give this one its own --data directory, or run several nodes on one "
      + "PostgreSQL database with --database postgres://…"
  }
}

/// The lock file could not be created or locked (permissions, a read-only directory).
public struct DataDirectoryLockError: Error, CustomStringConvertible, Sendable {
  public let path: String
  public let message: String
  public var description: String { "cannot lock \(path): \(message)" }
}
