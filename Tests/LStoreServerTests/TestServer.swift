import Foundation
import HummingbirdWSClient
import LStoreKit
import LStoreSync
import Logging
import XCTest
@testable import LStoreServer

/// A real `runSyncServer` on 127.0.0.1 and a free port, with its own data directory.
final class TestServer: @unchecked Sendable {
  let directory: String
  private(set) var port = 0
  private var task: Task<Void, Error>?

  init(authToken: String? = nil, jwtSecret: String? = nil, adminSecret: String? = "admin-secret",
       directory: String? = nil, port: Int = 0, logLines: LogCapture? = nil,
       limits: ConnectionLimits = .standard, databaseURL: String? = nil, maxConnections: Int? = nil) async throws {
    let directory = directory ?? NSTemporaryDirectory() + "lstore-server-test-\(UUID().uuidString)"
    self.directory = directory
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    var configuration = ServerConfiguration(
      host: "127.0.0.1", port: port, dataPath: directory + "/backend.db", databaseURL: databaseURL,
      authToken: authToken, jwtSecret: jwtSecret,
      adminSecret: adminSecret, logLevel: ProcessInfo.processInfo.environment["LSTORE_TEST_LOG"] != nil ? .debug : .critical,
      onListening: { _, port in continuation.yield(port) })
    configuration.connectionLimits = limits
    configuration.maxConnections = maxConnections
    if let logLines {
      configuration.logLevel = .trace
      configuration.logHandlerFactory = { label in logLines.handler(label: label) }
    }
    task = Task { try await runSyncServer(configuration) }
    let listening = Task {
      for await port in ports { return port }
      return 0
    }
    let timeout = Task {
      try await Task.sleep(for: .seconds(20))
      listening.cancel()
    }
    self.port = await listening.value
    timeout.cancel()
    guard self.port > 0 else { throw XCTSkip("server did not start") }
  }

  var wsURL: String { "ws://127.0.0.1:\(port)" }

  /// Stops the server and waits for it, at most 10 s: a graceful shutdown waits for open
  /// connections, and a test may leave one the server has stopped reading (back-pressure),
  /// which must not hang the suite (seen in a fresh-clone CI run).
  func stop() async {
    guard let task else { return }
    task.cancel()
    let finished = StopFlag()
    Task.detached {
      _ = await task.result
      finished.set()
    }
    for _ in 0..<200 where !finished.isSet {
      try? await Task.sleep(for: .milliseconds(50))
    }
  }

  func removeData() { try? FileManager.default.removeItem(atPath: directory) }
}

/// Set once from another task, read by the waiter.
final class StopFlag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false
  func set() { lock.lock(); value = true; lock.unlock() }
  var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

/// Error for a wait that ran out of time.
struct Timeout: Error {}

/// Runs `body` with a deadline so a broken server fails the test instead of hanging it.
func withDeadline<T: Sendable>(_ seconds: Double = 10, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
  try await withThrowingTaskGroup(of: T.self) { group in
    group.addTask { try await body() }
    group.addTask {
      try await Task.sleep(for: .seconds(seconds))
      throw Timeout()
    }
    let result = try await group.next()!
    group.cancelAll()
    return result
  }
}

/// A WebSocket that sends and receives exact text frames, for protocol conformance tests.
final class RawWebSocket: @unchecked Sendable {
  private let outgoing: AsyncStream<String>.Continuation
  private let inbox = Inbox()
  private let task: Task<Void, Error>

  /// Received messages, kept until read: a `receive` that times out loses nothing.
  private final class Inbox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    private var finished = false
    private var waiter: CheckedContinuation<String?, Never>?

    func put(_ text: String) {
      lock.lock()
      if let waiter {
        self.waiter = nil
        lock.unlock()
        waiter.resume(returning: text)
      } else {
        items.append(text)
        lock.unlock()
      }
    }

    func finish() {
      lock.lock()
      finished = true
      let waiter = self.waiter
      self.waiter = nil
      lock.unlock()
      waiter?.resume(returning: nil)
    }

    func next() async -> String? {
      await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
          lock.lock()
          if !items.isEmpty {
            let text = items.removeFirst()
            lock.unlock()
            continuation.resume(returning: text)
          } else if finished || Task.isCancelled {
            lock.unlock()
            continuation.resume(returning: nil)
          } else {
            waiter = continuation
            lock.unlock()
          }
        }
      } onCancel: {
        lock.lock()
        let waiter = self.waiter
        self.waiter = nil
        lock.unlock()
        waiter?.resume(returning: nil)
      }
    }
  }

  init(url: String) async throws {
    let (outStream, outContinuation) = AsyncStream<String>.makeStream()
    let (opened, openedContinuation) = AsyncStream<Void>.makeStream()
    outgoing = outContinuation
    let inbox = inbox
    task = Task {
      defer { inbox.finish(); openedContinuation.finish() }
      let client = WebSocketClient(url: url, configuration: .init(maxFrameSize: 16 << 20),
                                   logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })) { inbound, outbound, _ in
        openedContinuation.yield()
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask { for await text in outStream { try await outbound.write(.text(text)) } }
          for try await message in inbound.messages(maxSize: 16 << 20) {
            if case .text(let text) = message { inbox.put(text) }
          }
          group.cancelAll()
        }
      }
      try await client.run()
    }
    var iterator = opened.makeAsyncIterator()
    guard await iterator.next() != nil else {
      _ = await task.result
      throw WebSocketClientError.webSocketUpgradeFailed
    }
  }

  func send(_ text: String) { outgoing.yield(text) }

  /// The next text message, or fails after `seconds`.
  func receive(_ seconds: Double = 5) async throws -> String {
    let inbox = inbox
    let text = try await withDeadline(seconds) { await inbox.next() }
    guard let text else { throw Timeout() }
    return text
  }

  /// Asserts nothing arrives for `seconds`.
  func expectSilence(_ seconds: Double = 0.3) async throws -> String? {
    do { return try await receive(seconds) } catch is Timeout { return nil }
  }

  func close() async {
    outgoing.finish()
    task.cancel()
    _ = await task.result
  }
}

struct UncheckedBox<T>: @unchecked Sendable {
  var value: T
  init(_ value: T) { self.value = value }
}

/// A minimal HTTP/1.1 client over a blocking loopback socket: exact status codes and
/// bodies, any headers (an `Upgrade` without the rest of the handshake, say).
struct RawHTTP {
  struct Reply {
    var status: Int
    var body: String
  }

  static func request(port: Int, _ method: String, _ target: String, headers: [String: String] = [:],
                      body: String? = nil, untilHeaders: Bool = false, rawBody: String? = nil) throws -> Reply {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    var text = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
    for (name, value) in headers { text += "\(name): \(value)\r\n" }
    if let body { text += "Content-Length: \(body.utf8.count)\r\nContent-Type: application/json\r\n" }
    // `rawBody` is sent as it is, framed only by the headers the caller gave.
    text += "\r\n" + (body ?? rawBody ?? "")
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = recv(fd, &buffer, buffer.count, 0)
      if count <= 0 { break }
      response += buffer[0..<count]
      if let reply = parse(response, complete: untilHeaders) { return reply }
    }
    guard let reply = parse(response, complete: true) else { throw POSIXError(.EIO) }
    return reply
  }

  /// A chunked body's content once its last (empty) chunk arrived; nil before.
  private static func dechunk(_ bytes: [UInt8]) -> String? {
    var out: [UInt8] = []
    var index = 0
    while true {
      guard let lineEnd = (index..<max(index, bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }),
        let size = Int(String(decoding: bytes[index..<lineEnd], as: UTF8.self), radix: 16)
      else { return nil }
      let start = lineEnd + 2
      if size == 0 { return String(decoding: out, as: UTF8.self) }
      guard bytes.count >= start + size + 2 else { return nil }
      out += bytes[start..<start + size]
      index = start + size + 2
    }
  }

  private static func parse(_ bytes: [UInt8], complete: Bool = false) -> Reply? {
    let text = String(decoding: bytes, as: UTF8.self)
    guard let headerEnd = text.range(of: "\r\n\r\n") else { return nil }
    let head = text[..<headerEnd.lowerBound]
    let status = Int(head.split(separator: " ")[1]) ?? 0
    let body = String(text[headerEnd.upperBound...])
    if head.lowercased().contains("transfer-encoding: chunked") {
      return dechunk(Array(body.utf8)).map { Reply(status: status, body: $0) }
    }
    let lengthLine = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
    if let lengthLine, let length = Int(lengthLine.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) {
      return body.utf8.count >= length ? Reply(status: status, body: body) : nil
    }
    return complete ? Reply(status: status, body: body) : nil
  }
}

import LStoreSyncWebSocket

extension WebSocketPushResult {
  /// The echo's createdAt when the push was acknowledged.
  var createdAt: String? {
    if case .acknowledged(let metadata) = self { return metadata?["createdAt"]?.stringValue }
    return nil
  }
}

/// Collects every log line the server writes, as text.
final class LogCapture: @unchecked Sendable {
  private let lines = Locked<[String]>([])
  var text: String { lines.withLock { $0.joined(separator: "\n") } }

  func handler(label: String) -> any LogHandler {
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .trace
    return CapturingHandler(inner: handler, capture: self)
  }

  fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

  struct CapturingHandler: LogHandler {
    var inner: StreamLogHandler
    let capture: LogCapture
    var metadata: Logger.Metadata {
      get { inner.metadata }
      set { inner.metadata = newValue }
    }
    var logLevel: Logger.Level {
      get { inner.logLevel }
      set { inner.logLevel = newValue }
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
      get { inner[metadataKey: key] }
      set { inner[metadataKey: key] = newValue }
    }
    func log(event: LogEvent) {
      let merged = metadata.merging(event.metadata ?? [:]) { $1 }
      capture.append("\(event.level) \(event.message) \(merged.map { "\($0)=\($1)" }.sorted().joined(separator: " "))")
    }
  }
}
