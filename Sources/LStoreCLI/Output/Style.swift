import Foundation

/// Colors for human output: only on a terminal, never when `NO_COLOR` is set, and as
/// `--color` says.
public struct Style: Sendable {
  public let enabled: Bool

  public init(mode: ColorMode, isTerminal: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) {
    switch mode {
    case .always: enabled = true
    case .never: enabled = false
    case .auto:
      let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
      enabled = isTerminal && !noColor && environment["TERM"] != "dumb"
    }
  }

  private func wrap(_ code: String, _ text: String) -> String { enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

  public func yellow(_ text: String) -> String { wrap("33", text) }
  public func green(_ text: String) -> String { wrap("32", text) }
  public func red(_ text: String) -> String { wrap("31", text) }
  public func cyan(_ text: String) -> String { wrap("36", text) }
  public func bold(_ text: String) -> String { wrap("1", text) }
  public func dim(_ text: String) -> String { wrap("2", text) }
}

public enum ColorMode: String, CaseIterable, Sendable {
  case auto, always, never
}
