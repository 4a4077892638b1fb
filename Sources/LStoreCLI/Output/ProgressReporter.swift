#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import LStoreKit

/// A one-line progress display on stderr, shown only when stderr is a terminal (and not
/// with --quiet), at most ten times a second. The line is cleared when the operation ends,
/// when lstore exits with an error (`ProgressReporter.clearAll`), and on Ctrl-C.
///
/// With `interrupted:`, Ctrl-C (SIGINT) during the operation clears the line,
/// prints that sentence as lstore's one error line and exits 130: for operations that
/// write in one transaction (or to a file renamed into place when complete), where being
/// interrupted leaves the store as it was.
final class ProgressReporter {
  private let stream = OutputStream.standardError
  private let enabled: Bool
  private var shown = false
  private var lastDraw: UInt64 = 0
  private var started: UInt64 = 0

  /// The reporter whose line is on screen, cleared before an error is printed.
  nonisolated(unsafe) private static var active: ProgressReporter?

  init(quiet: Bool, interrupted: String? = nil) {
    enabled = !quiet && OutputStream.standardError.isTerminal
    started = Self.now()
    if let interrupted { InterruptNotice.install("lstore: error: interrupted; \(interrupted)\n") }
  }

  private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

  var handler: ProgressHandler? {
    guard enabled else { return nil }
    return { [self] progress in draw(progress) }
  }

  func draw(_ progress: LStoreKit.Progress) {
    guard enabled else { return }
    let now = Self.now()
    // Nothing for the first 200 ms (a fast operation shows no flicker), then 10 per second.
    guard now - started >= 200_000_000, now - lastDraw >= 100_000_000 else { return }
    lastDraw = now
    var line = "\r\(progress.label): \(progress.done)"
    if let total = progress.total, total > 0 { line += " / \(total) (\(progress.done * 100 / total)%)" }
    // Marked shown before it is written: a Ctrl-C right after the line appears must find
    // it marked, or the handler leaves it on the screen (the test sends one then).
    InterruptNotice.lineShown = true
    stream.write(line + "\u{1B}[K")
    stream.flush()
    shown = true
    Self.active = self
  }

  func finish() {
    if shown {
      stream.write("\r\u{1B}[K")
      stream.flush()
      shown = false
      InterruptNotice.lineShown = false
    }
    if Self.active === self { Self.active = nil }
  }

  /// The interruptible operation is over (its transaction committed): Ctrl-C from here on
  /// is the default again, since "nothing was written" would no longer be true.
  func operationEnded() {
    finish()
    signal(SIGINT, SIG_DFL)
    InterruptNotice.message = nil
  }

  deinit { finish() }

  /// Clears any progress line (before an error message).
  static func clearAll() { active?.finish() }
}

/// The SIGINT handler of an interruptible operation. A signal handler may only
/// call async-signal-safe functions: the message is prepared as bytes beforehand and the
/// handler uses write(2) and _exit(2) only.
enum InterruptNotice {
  nonisolated(unsafe) static var message: UnsafeMutableBufferPointer<UInt8>?
  nonisolated(unsafe) static var lineShown = false
  private static let clear: StaticString = "\r\u{1B}[K"

  static func install(_ text: String) {
    setMessage(text)
    // Scratch cleanup's handler prints the message too, after removing the scratch.
    guard cleanupPipe < 0 else { return }
    let handler: @convention(c) (Int32) -> Void = { _ in
      if InterruptNotice.lineShown {
        InterruptNotice.clear.withUTF8Buffer { _ = write(2, $0.baseAddress, $0.count) }
      }
      if let message = InterruptNotice.message { _ = write(2, message.baseAddress, message.count) }
      _exit(130)
    }
    signal(SIGINT, handler)
  }

  /// The write end of the pipe the scratch cleanup thread waits on, or -1.
  nonisolated(unsafe) static var cleanupPipe: Int32 = -1

  /// For commands that work in scratch directories (diff, blame, replay): on SIGINT or
  /// SIGTERM, every `ScratchDirectory` still open is removed, then the message (when one is
  /// set) is printed and lstore exits 128 + the signal (130 for Ctrl-C). Removing a
  /// directory takes calls a signal handler may not make, so the handler only writes the
  /// signal's number to a pipe (write(2) is async-signal-safe) and a thread waiting on it
  /// does the rest. `message` stays as `install` or the caller set it.
  static func removeScratchOnSignal(_ text: String? = nil) {
    if let text { setMessage(text) }
    guard cleanupPipe < 0 else { return }
    var ends: [Int32] = [0, 0]
    guard pipe(&ends) == 0 else { return }
    let reader = ends[0]
    cleanupPipe = ends[1]
    Thread.detachNewThread {
      var signo: Int32 = 0
      while read(reader, &signo, MemoryLayout<Int32>.size) != MemoryLayout<Int32>.size {}
      ScratchDirectory.removeAllOpen()
      if InterruptNotice.lineShown {
        InterruptNotice.clear.withUTF8Buffer { _ = write(2, $0.baseAddress, $0.count) }
      }
      if let message = InterruptNotice.message { _ = write(2, message.baseAddress, message.count) }
      _exit(128 + signo)
    }
    let handler: @convention(c) (Int32) -> Void = { signo in
      var value = signo
      _ = write(InterruptNotice.cleanupPipe, &value, MemoryLayout<Int32>.size)
    }
    signal(SIGINT, handler)
    signal(SIGTERM, handler)
  }

  private static func setMessage(_ text: String) {
    let bytes = Array(text.utf8)
    let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
    _ = buffer.initialize(from: bytes)
    message = buffer
  }
}
