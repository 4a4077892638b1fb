import CZlib
import Foundation

/// Where exported bytes go.
public protocol ByteSink: AnyObject {
  func write(_ bytes: UnsafeRawBufferPointer) throws
  /// Flushes buffered bytes and, for files, makes them durable.
  func finish() throws
}

/// Where imported bytes come from. Returns 0 at the end.
public protocol ByteSource: AnyObject {
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

public struct StreamError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

/// A file descriptor as a sink, with its own buffer.
public final class FileSink: ByteSink {
  private let fd: Int32
  private let closeOnFinish: Bool
  private let path: String?
  private var buffer: [UInt8] = []

  /// Standard output.
  public init(fd: Int32) {
    self.fd = fd
    self.closeOnFinish = false
    self.path = nil
    buffer.reserveCapacity(1 << 17)
  }

  /// Creates (or truncates) a file.
  public init(path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw StreamError(description: "cannot write \(path): \(String(cString: strerror(errno)))") }
    self.fd = fd
    self.closeOnFinish = true
    self.path = path
    buffer.reserveCapacity(1 << 17)
  }

  deinit { if closeOnFinish { close(fd) } }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    buffer.append(contentsOf: bytes)
    if buffer.count >= 1 << 17 { try drain() }
  }

  private func drain() throws {
    var offset = 0
    while offset < buffer.count {
      let written = buffer.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if written < 0 {
        if errno == EINTR { continue }
        throw StreamError(description: "write failed\(path.map { " (\($0))" } ?? ""): \(String(cString: strerror(errno)))")
      }
      offset += written
    }
    buffer.removeAll(keepingCapacity: true)
  }

  public func finish() throws {
    try drain()
    if closeOnFinish { _ = fsync(fd) }
  }
}

/// Gzip-compresses into another sink.
public final class GzipSink: ByteSink {
  private let next: ByteSink
  private var stream = z_stream()
  private var output = [UInt8](repeating: 0, count: 1 << 17)

  public init(wrapping next: ByteSink, level: Int32 = 6) throws {
    self.next = next
    guard lstore_deflate_init_gzip(&stream, level) == Z_OK else { throw StreamError(description: "zlib: deflateInit2 failed") }
  }

  deinit { deflateEnd(&stream) }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
    stream.avail_in = uInt(bytes.count)
    try pump(flush: Z_NO_FLUSH)
  }

  private func pump(flush: Int32) throws {
    repeat {
      let status: Int32 = output.withUnsafeMutableBytes { raw in
        stream.next_out = raw.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(raw.count)
        return deflate(&stream, flush)
      }
      guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
        throw StreamError(description: "zlib: deflate failed (\(status))")
      }
      let produced = output.count - Int(stream.avail_out)
      if produced > 0 { try output.withUnsafeBytes { try next.write(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
      if flush == Z_FINISH && status == Z_STREAM_END { return }
    } while stream.avail_out == 0 || (flush == Z_FINISH)
  }

  public func finish() throws {
    stream.next_in = nil
    stream.avail_in = 0
    try pump(flush: Z_FINISH)
    try next.finish()
  }
}

/// A file descriptor as a source.
public final class FileSource: ByteSource {
  private let fd: Int32
  private let owned: Bool

  public init(fd: Int32) {
    self.fd = fd
    self.owned = false
  }

  public init(path: String) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw StreamError(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
    self.fd = fd
    self.owned = true
  }

  deinit { if owned { close(fd) } }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    while true {
      let count = Foundation.read(fd, buffer.baseAddress!, buffer.count)
      if count < 0 {
        if errno == EINTR { continue }
        throw StreamError(description: "read failed: \(String(cString: strerror(errno)))")
      }
      return count
    }
  }
}

/// Decompresses gzip (or zlib) from another source, refusing to inflate more than
/// `maxInflatedBytes` (a small file can inflate a thousandfold).
public final class GunzipSource: ByteSource {
  /// The most bytes an imported gzip file may inflate to: 16 GiB.
  public static let defaultMaxInflatedBytes: Int64 = 16 << 30
  private let next: ByteSource
  private let maxInflatedBytes: Int64
  private var inflated: Int64 = 0
  private var stream = z_stream()
  private static let capacity = 1 << 17
  private let input = UnsafeMutablePointer<UInt8>.allocate(capacity: GunzipSource.capacity)
  private var pending: [UInt8]
  private var ended = false
  private var sourceEnded = false

  /// `prefix` holds bytes already read from `next` (used to sniff the gzip magic).
  public init(wrapping next: ByteSource, prefix: [UInt8] = [], maxInflatedBytes: Int64 = GunzipSource.defaultMaxInflatedBytes) throws {
    self.next = next
    self.pending = prefix
    self.maxInflatedBytes = maxInflatedBytes
    guard lstore_inflate_init_auto(&stream) == Z_OK else { throw StreamError(description: "zlib: inflateInit2 failed") }
  }

  deinit {
    inflateEnd(&stream)
    input.deallocate()
  }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    let produced = try inflateSome(into: buffer)
    inflated += Int64(produced)
    if inflated > maxInflatedBytes {
      throw StreamError(description: "the gzip stream inflates to more than \(maxInflatedBytes >> 20) MiB (the limit for an import)")
    }
    return produced
  }

  private func inflateSome(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    if ended { return 0 }
    while true {
      if stream.avail_in == 0 && !sourceEnded {
        var count = 0
        if !pending.isEmpty {
          count = pending.count
          pending.withUnsafeBufferPointer { input.update(from: $0.baseAddress!, count: count) }
          pending = []
        } else {
          count = try next.read(into: UnsafeMutableRawBufferPointer(start: input, count: Self.capacity))
          if count == 0 { sourceEnded = true }
        }
        stream.next_in = input
        stream.avail_in = uInt(count)
      }
      stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
      stream.avail_out = uInt(buffer.count)
      let status = inflate(&stream, Z_NO_FLUSH)
      let produced = buffer.count - Int(stream.avail_out)
      switch status {
      case Z_STREAM_END:
        // Concatenated gzip members (as `cat a.gz b.gz` makes) are read on.
        if stream.avail_in > 0 {
          inflateReset(&stream)
        } else if !sourceEnded {
          let count = try next.read(into: UnsafeMutableRawBufferPointer(start: input, count: Self.capacity))
          if count == 0 {
            sourceEnded = true
            ended = true
          } else {
            inflateReset(&stream)
            stream.next_in = input
            stream.avail_in = uInt(count)
          }
        } else {
          ended = true
        }
        if produced > 0 { return produced }
        if ended { return 0 }
      case Z_OK, Z_BUF_ERROR:
        if produced > 0 { return produced }
        if sourceEnded && stream.avail_in == 0 {
          throw StreamError(description: "the gzip stream is truncated")
        }
      default:
        throw StreamError(description: "the gzip stream is corrupt (zlib error \(status))")
      }
    }
  }
}

/// Reads lines from a source without holding more than one buffer (and one line of at most
/// `maxLineBytes`) in memory.
public final class LineReader {
  /// The longest line an import reads: 16 MiB (an event is at most 800,000 bytes; the
  /// header holds the schema).
  public static let defaultMaxLineBytes = 16 << 20
  public let maxLineBytes: Int
  private let source: ByteSource
  private var buffer = [UInt8](repeating: 0, count: 1 << 17)
  private var start = 0
  private var end = 0
  private var eof = false
  private var line: [UInt8] = []
  public private(set) var lineNumber = 0
  /// The total bytes handed out so far, line terminators included.
  public private(set) var bytesRead = 0

  public init(source: ByteSource, maxLineBytes: Int = LineReader.defaultMaxLineBytes) {
    self.source = source
    self.maxLineBytes = maxLineBytes
  }

  /// Opens a file or stdin (`-`), gunzipping when it starts with the gzip magic bytes.
  public static func open(path: String) throws -> LineReader {
    let file: ByteSource = path == "-" ? FileSource(fd: 0) : try FileSource(path: path)
    var magic = [UInt8](repeating: 0, count: 2)
    var got = 0
    while got < 2 {
      let n = try magic.withUnsafeMutableBytes { try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[got...])) }
      if n == 0 { break }
      got += n
    }
    magic.removeLast(2 - got)
    if magic == [0x1F, 0x8B] { return LineReader(source: try GunzipSource(wrapping: file, prefix: magic)) }
    return LineReader(source: PrefixedSource(prefix: magic, next: file))
  }

  /// Calls `body` with the next line (without its newline) and whether it ended with a
  /// newline; returns false at the end of input.
  public func next(_ body: (UnsafeBufferPointer<UInt8>, _ terminated: Bool) throws -> Void) throws -> Bool {
    line.removeAll(keepingCapacity: true)
    while true {
      if start < end {
        let found: Int? = buffer.withUnsafeBufferPointer { pointer -> Int? in
          let base = pointer.baseAddress! + start
          guard let hit = memchr(base, 0x0A, end - start) else { return nil }
          return UnsafePointer(hit.assumingMemoryBound(to: UInt8.self)) - base
        }
        if let offset = found {
          lineNumber += 1
          bytesRead += offset + 1
          if line.isEmpty {
            let lineStart = start
            start += offset + 1
            try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[lineStart..<(lineStart + offset)]), true) }
          } else {
            line.append(contentsOf: buffer[start..<(start + offset)])
            start += offset + 1
            try line.withUnsafeBufferPointer { try body($0, true) }
          }
          return true
        }
        line.append(contentsOf: buffer[start..<end])
        start = end
        if line.count > maxLineBytes {
          throw StreamError(description: "line \(lineNumber + 1) is longer than \(maxLineBytes >> 20) MiB (the limit for one line of an import)")
        }
      }
      if eof {
        guard !line.isEmpty else { return false }
        lineNumber += 1
        bytesRead += line.count
        try line.withUnsafeBufferPointer { try body($0, false) }
        line.removeAll()
        return true
      }
      let count = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
      start = 0
      end = count
      if count == 0 { eof = true }
    }
  }
}

final class PrefixedSource: ByteSource {
  private var prefix: [UInt8]
  private let next: ByteSource

  init(prefix: [UInt8], next: ByteSource) {
    self.prefix = prefix
    self.next = next
  }

  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    if !prefix.isEmpty {
      let count = min(prefix.count, buffer.count)
      buffer.copyBytes(from: prefix[0..<count])
      prefix.removeFirst(count)
      return count
    }
    return try next.read(into: buffer)
  }
}

/// CRC-32 (zlib's), for the export trailer.
public struct CRC32 {
  public private(set) var value: UInt = 0

  public init() {}

  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    value = crc32(value, base.assumingMemoryBound(to: Bytef.self), uInt(bytes.count))
  }

  public var hex: String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: 8 - text.count) + text
  }
}
