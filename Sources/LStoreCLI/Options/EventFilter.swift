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

  @Option(name: .long, help: ArgumentHelp("Start at this event or revision (e5, e5+1, a commit, HEAD~2), inclusive.", valueName: "revision"))
  var from: String?

  @Option(name: .long, help: ArgumentHelp("Stop at this event or revision, inclusive.", valueName: "revision"))
  var to: String?

  /// The range --from and --to name (revisions, inclusive), on the branch `resolver` reads.
  func range(_ resolver: RevisionResolver) throws -> (after: SeqNum, through: SeqNum?) {
    let (first, last) = try resolver.bounds(from: from, to: to)
    // "after" is exclusive: just before the first event.
    return (first?.justBefore ?? .root, last)
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
