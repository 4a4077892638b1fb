#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffered writes to a file descriptor. Commands that print a line per event (log,
/// export) would spend most of their time in write(2) otherwise.
public final class OutputStream {
  private let fd: Int32
  private var buffer: [UInt8] = []
  private let capacity: Int

  nonisolated(unsafe) public static let standardOutput = OutputStream(fd: 1)
  nonisolated(unsafe) public static let standardError = OutputStream(fd: 2, capacity: 0)

  public init(fd: Int32, capacity: Int = 1 << 16) {
    self.fd = fd
    self.capacity = capacity
    buffer.reserveCapacity(capacity)
  }

  deinit { flush() }

  public var isTerminal: Bool { isatty(fd) != 0 }

  public func write(_ text: String) {
    buffer.append(contentsOf: text.utf8)
    if buffer.count >= capacity { flush() }
  }

  public func write(bytes: [UInt8]) {
    buffer.append(contentsOf: bytes)
    if buffer.count >= capacity { flush() }
  }

  public func write(bytes: UnsafeBufferPointer<UInt8>) {
    buffer.append(contentsOf: bytes)
    if buffer.count >= capacity { flush() }
  }

  public func line(_ text: String = "") {
    buffer.append(contentsOf: text.utf8)
    buffer.append(0x0A)
    if buffer.count >= capacity { flush() }
  }

  public func flush() {
    var offset = 0
    while offset < buffer.count {
      let written = buffer.withUnsafeBytes { raw in
        #if canImport(Glibc)
        Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
        #else
        Darwin.write(fd, raw.baseAddress! + offset, raw.count - offset)
        #endif
      }
      if written < 0 {
        if errno == EINTR { continue }
        break  // the reader went away (EPIPE): nothing more to do
      }
      offset += written
    }
    buffer.removeAll(keepingCapacity: true)
  }
}
