import LStoreKit

/// A one-line progress display on stderr, shown only when stderr is a terminal.
final class ProgressReporter {
  private let stream = OutputStream.standardError
  private let enabled: Bool
  private var shown = false

  init(quiet: Bool) { enabled = !quiet && OutputStream.standardError.isTerminal }

  var handler: ProgressHandler? {
    guard enabled else { return nil }
    return { [self] progress in
      var line = "\r\(progress.label): \(progress.done)"
      if let total = progress.total, total > 0 { line += " / \(total) (\(progress.done * 100 / total)%)" }
      stream.write(line + "\u{1B}[K")
      stream.flush()
      shown = true
    }
  }

  func finish() {
    if shown {
      stream.write("\r\u{1B}[K")
      stream.flush()
      shown = false
    }
  }
}
