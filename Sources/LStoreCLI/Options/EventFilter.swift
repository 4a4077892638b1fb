import ArgumentParser
import LStoreKit

/// Filters shared by commands that walk events (log).
struct EventFilterOptions: ParsableArguments {
  @Option(name: .customLong("name"), help: ArgumentHelp("Only events with this name; * matches any text. Repeatable.", valueName: "pattern"))
  var names: [String] = []

  @Option(name: .customLong("client"), help: ArgumentHelp("Only events from this client id.", valueName: "id"))
  var clientId: String?

  @Option(name: .customLong("session"), help: ArgumentHelp("Only events from this session id.", valueName: "id"))
  var sessionId: String?

  @Option(name: .long, help: ArgumentHelp("Start at this event (e5, e5+1), inclusive.", valueName: "seqNum"))
  var from: String?

  @Option(name: .long, help: ArgumentHelp("Stop at this event, inclusive.", valueName: "seqNum"))
  var to: String?

  func range() throws -> (after: SeqNum, through: SeqNum?) {
    var after = SeqNum.root
    var through: SeqNum? = nil
    if let from {
      guard let seq = SeqNum(from) else { throw InputError.usage("--from: '\(from)' is not a sequence number like e5 or e5+1") }
      // "after" is exclusive: step back to just before `seq`.
      after = seq.justBefore
    }
    if let to {
      guard let seq = SeqNum(to) else { throw InputError.usage("--to: '\(to)' is not a sequence number like e5 or e5+1") }
      through = seq
    }
    return (after, through)
  }

  var isActive: Bool { !names.isEmpty || clientId != nil || sessionId != nil }

  func matches(_ row: EventRow) -> Bool {
    if let clientId, row.clientId != clientId { return false }
    if let sessionId, row.sessionId != sessionId { return false }
    if !names.isEmpty {
      let name = row.name
      return names.contains { Glob.matches(pattern: $0, name) }
    }
    return true
  }
}

enum Glob {
  /// `*` matches any run of characters; everything else is literal.
  static func matches(pattern: String, _ text: String) -> Bool {
    guard pattern.contains("*") else { return pattern == text }
    let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
    var rest = Substring(text)
    for (i, part) in parts.enumerated() {
      if i == 0 {
        guard rest.hasPrefix(part) else { return false }
        rest = rest.dropFirst(part.count)
      } else if i == parts.count - 1 {
        return part.isEmpty || rest.hasSuffix(part)
      } else if let range = rest.range(of: part) {
        rest = rest[range.upperBound...]
      } else {
        return false
      }
    }
    return rest.isEmpty
  }
}

extension SeqNum {
  /// The greatest sequence number below this one: an exclusive lower bound that includes it.
  var justBefore: SeqNum {
    if self == .root { return .root }
    return client > 0 ? SeqNum(global: global, client: client - 1) : global > 0 ? SeqNum(global: global - 1, client: .max) : .root
  }
}
