import Foundation
import XCTest

/// Runs blocking socket work on a Dispatch thread, never on Swift's cooperative pool (the
/// in-process server needs those threads).
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
  }
}

/// A WebSocket client written on a bare loopback socket, for what well-behaved clients
/// never do: frames with any bytes (invalid UTF-8, fragments, oversized lengths), and a
/// client that never reads. Blocking: use it through `offPool`.
final class RawFrameSocket: @unchecked Sendable {
  let fd: Int32
  private var buffer: [UInt8] = []
  private(set) var upgradeStatus = 0

  struct Frame: Equatable {
    var opcode: UInt8
    var payload: [UInt8]
    var text: String { String(decoding: payload, as: UTF8.self) }
    /// The close code of a close frame.
    var closeCode: Int? { opcode == 8 && payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : nil }
  }

  enum Failure: Error { case connect, upgrade(Int, String), timeout, eof }

  /// Connects and upgrades. `receiveBuffer` shrinks the socket's receive buffer (a slow reader).
  init(port: Int, target: String, receiveBuffer: Int32? = nil, timeout: Int = 10) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Failure.connect }
    if var size = receiveBuffer {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
    setTimeouts(receive: timeout, send: timeout)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { Glibc.close(fd); throw Failure.connect }
    let request = "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    try write(Array(request.utf8))
    while true {
      if let end = findHeaderEnd() {
        let head = String(decoding: buffer[..<end], as: UTF8.self)
        buffer.removeFirst(end + 4)
        upgradeStatus = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        guard upgradeStatus == 101 else { Glibc.close(fd); throw Failure.upgrade(upgradeStatus, head) }
        return
      }
      try fill()
    }
  }

  deinit { Glibc.close(fd) }

  func setTimeouts(receive: Int, send: Int) {
    var r = timeval(tv_sec: receive, tv_usec: 0), s = timeval(tv_sec: send, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &r, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &s, socklen_t(MemoryLayout<timeval>.size))
  }

  private func findHeaderEnd() -> Int? {
    guard buffer.count >= 4 else { return nil }
    for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
      return i
    }
    return nil
  }

  /// Writes everything or throws (a send timeout: the peer stopped reading).
  func write(_ bytes: [UInt8]) throws {
    var offset = 0
    while offset < bytes.count {
      let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      guard sent > 0 else { throw Failure.timeout }
      offset += sent
    }
  }

  private func fill() throws {
    var chunk = [UInt8](repeating: 0, count: 65536)
    let count = recv(fd, &chunk, chunk.count, 0)
    if count == 0 { throw Failure.eof }
    if count < 0 { throw errno == EAGAIN || errno == EWOULDBLOCK ? Failure.timeout : Failure.eof }
    buffer += chunk[0..<count]
  }

  /// One frame as a client sends it (masked). `length` overrides the declared length.
  static func encode(opcode: UInt8, payload: [UInt8], fin: Bool = true, length: UInt64? = nil) -> [UInt8] {
    var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
    let declared = length ?? UInt64(payload.count)
    if declared < 126 {
      frame.append(0x80 | UInt8(declared))
    } else if declared <= 0xFFFF {
      frame += [0x80 | 126, UInt8(declared >> 8), UInt8(declared & 0xFF)]
    } else {
      frame.append(0x80 | 127)
      for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((declared >> UInt64(shift)) & 0xFF)) }
    }
    let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
    frame += mask
    frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
    return frame
  }

  func send(opcode: UInt8 = 1, _ payload: [UInt8], fin: Bool = true) throws {
    try write(Self.encode(opcode: opcode, payload: payload, fin: fin))
  }

  func sendText(_ text: String) throws { try send(Array(text.utf8)) }

  /// The next frame from the server (servers do not mask).
  func readFrame() throws -> Frame {
    while true {
      if let frame = try parseFrame() { return frame }
      try fill()
    }
  }

  /// The next text message, answering nothing else (skips pings).
  func readText() throws -> String {
    while true {
      let frame = try readFrame()
      if frame.opcode == 1 { return frame.text }
      if frame.opcode == 8 { throw Failure.eof }
    }
  }

  /// Reads until the server closes: the close frame's code, or nil when the TCP connection
  /// ended without one.
  func readUntilClosed() throws -> Int? {
    while true {
      do {
        let frame = try readFrame()
        if frame.opcode == 8 { return frame.closeCode ?? 1005 }
      } catch Failure.eof {
        return nil
      }
    }
  }

  private func parseFrame() throws -> Frame? {
    guard buffer.count >= 2 else { return nil }
    var length = UInt64(buffer[1] & 0x7F)
    var offset = 2
    if length == 126 {
      guard buffer.count >= 4 else { return nil }
      length = UInt64(buffer[2]) << 8 | UInt64(buffer[3])
      offset = 4
    } else if length == 127 {
      guard buffer.count >= 10 else { return nil }
      length = buffer[2..<10].reduce(0) { $0 << 8 | UInt64($1) }
      offset = 10
    }
    guard buffer.count >= offset + Int(length) else { return nil }
    let frame = Frame(opcode: buffer[0] & 0x0F, payload: Array(buffer[offset..<offset + Int(length)]))
    buffer.removeFirst(offset + Int(length))
    return frame
  }
}

/// The resident memory of this process (the in-process server included), in bytes.
func residentBytes() -> Int {
  guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
    let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
  else { return 0 }
  return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
}
