import Foundation

/// A value behind a lock, for state that synchronous callbacks (broadcast delivery) and
/// tasks share. `Synchronization.Mutex` would do, but needs macOS 15 in the manifest.
public final class Locked<Value>: @unchecked Sendable {
  private var value: Value
  private let lock = NSLock()

  public init(_ value: Value) { self.value = value }

  public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }
}
