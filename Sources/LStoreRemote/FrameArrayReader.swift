import Foundation
import LStoreKit

/// Reads an Effect RPC HTTP answer, one JSON array of frames, a frame at a time from chunks
/// of bytes (a file read a megabyte at a time, or one `Data`). A pull's answer holds every
/// page of the pull at once (the protocol sends it when the stream has ended): a million
/// events' worth. Read this way, only the frames not yet handed over are in memory.
struct FrameArrayReader {
  private let nextChunk: () throws -> Data?
  private let malformed: Error
  private var buffer: [UInt8] = []
  private var position = 0
  private var atEnd = false

  /// Reads chunks from `nextChunk` until it returns nil.
  init(malformed: Error, nextChunk: @escaping () throws -> Data?) {
    self.malformed = malformed
    self.nextChunk = nextChunk
  }

  /// Calls `body` with each frame, in order.
  mutating func forEachFrame(_ body: (JSONValue) throws -> Void) throws {
    guard try peek() == UInt8(ascii: "[") else { throw malformed }
    position += 1
    if try peek() == UInt8(ascii: "]") { return }
    while true {
      guard try peek() != nil else { throw malformed }
      try body(try nextFrame())
      guard let separator = try peek() else { throw malformed }
      if separator == UInt8(ascii: "]") { return }
      guard separator == UInt8(ascii: ",") else { throw malformed }
      position += 1
    }
  }

  /// The frame at `position`. A frame is an object, so a buffer that ends inside one never
  /// parses: it is parsed again with the next chunk added, until the answer ends.
  private mutating func nextFrame() throws -> JSONValue {
    while true {
      do {
        let start = position
        let (frame, next) = try buffer.withUnsafeBufferPointer { try JSONParser.parseValue($0, at: start, depth: 1) }
        position = next
        return frame
      } catch {
        guard try fill() else { throw error }
      }
    }
  }

  /// The next byte that is not whitespace, reading more as needed; nil at the end.
  private mutating func peek() throws -> UInt8? {
    while true {
      while position < buffer.count, [0x20, 0x09, 0x0A, 0x0D].contains(buffer[position]) { position += 1 }
      if position < buffer.count { return buffer[position] }
      guard try fill() else { return nil }
    }
  }

  /// Appends the next chunk (dropping what was handed over); false at the end.
  private mutating func fill() throws -> Bool {
    guard !atEnd else { return false }
    guard let chunk = try nextChunk(), !chunk.isEmpty else {
      atEnd = true
      return false
    }
    if position > 0 {
      buffer.removeFirst(position)
      position = 0
    }
    buffer.append(contentsOf: chunk)
    return true
  }
}
