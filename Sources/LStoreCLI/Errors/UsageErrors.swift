import ArgumentParser
import Foundation

/// git's treatment of command-line mistakes, in lstore's one error format
/// (`lstore: error: …`, one line): an unknown command names the closest commands, and a git
/// command lstore does not have names the lstore way to do the same thing.
enum UsageErrors {
  /// Every subcommand name of the root command, plus `help`.
  static var commandNames: [String] {
    LStoreCommand.configuration.subcommands.flatMap { [$0._commandName] + $0.configuration.aliases } + ["help"]
  }

  /// Global options that take a value (so the word after them is not the command).
  static let globalOptionsWithValue: Set<String> = ["-C", "--eventlog", "--color"]

  /// The message for the first unknown command word in `arguments` (without the program
  /// name), or nil. The command word is the first that is neither a global option nor its
  /// value; for a command with subcommands (remote), the next word is checked too. Lines
  /// that are ArgumentParser's own (completion requests, script generation) are left to it.
  static func unknownCommand(in arguments: [String]) -> String? {
    guard let (word, index) = firstWord(arguments, from: 0) else { return nil }
    // `lstore help stauts`: the command asked about must exist too.
    if word == "help", let (topic, _) = firstWord(arguments, from: index + 1), topic != "help" {
      return unknownCommandMessage(topic)
    }
    guard let command = LStoreCommand.configuration.subcommands.first(where: { $0._commandName == word || $0.configuration.aliases.contains(word) }) else {
      return unknownCommandMessage(word)
    }
    let subcommands = command.configuration.subcommands
    guard !subcommands.isEmpty, let (next, _) = firstWord(arguments, from: index + 1) else { return nil }
    let names = subcommands.flatMap { [$0._commandName] + $0.configuration.aliases } + ["help"]
    guard !names.contains(next) else { return nil }
    var message = "'\(next)' is not an 'lstore \(word)' command. See 'lstore \(word) --help'."
    let similar = closest(to: next, among: names)
    if !similar.isEmpty {
      message += " The most similar command\(similar.count == 1 ? " is" : "s are") " + similar.map { "'lstore \(word) \($0)'" }.joined(separator: ", ") + "."
    }
    return message
  }

  private static func firstWord(_ arguments: [String], from start: Int) -> (String, Int)? {
    var index = start
    while index < arguments.count {
      let word = arguments[index]
      if word == "--" { return nil }
      if word.hasPrefix("---") || word.hasPrefix("--generate-completion") || word == "--experimental-dump-help" { return nil }
      if word.hasPrefix("-") {
        index += start == 0 && globalOptionsWithValue.contains(word) ? 2 : 1
        continue
      }
      return (word, index)
    }
    return nil
  }

  /// git commands lstore has no command for, and what to run instead.
  static let gitEquivalents: [String: String] = [
    "checkout": "'lstore switch <branch>' changes branch ('lstore switch -c <branch>' creates one); 'lstore reset --hard <revision>' moves the head",
    "add": "lstore has no index: 'lstore commit <name> <args>' (or --file) records events directly",
    "stage": "lstore has no index: 'lstore commit <name> <args>' (or --file) records events directly",
    "merge": "'lstore rebase <branch>' replays this branch's commits after another branch's head",
    "clone": "'lstore init --schema <file> --store-id <id>', then 'lstore remote add origin <url>' and 'lstore pull'",
    "fetch": "'lstore pull' fetches and integrates in one step",
    "restore": "'lstore reset --hard <revision>' makes the eventlog and state what a revision names",
    "tag": "lstore has no tags yet: name an event (e5) or a commit id instead",
    "stash": "lstore has no stash: 'lstore branch <name>' keeps the current head on a branch",
    "grep": "'lstore log --events --name <pattern>' lists the events whose name matches",
    "apply": "'lstore import <file>' appends an export",
    "am": "'lstore import <file>' appends an export",
    "gc": "nothing to collect: 'lstore fsck' checks the store",
    "describe": "'lstore status' shows the branch and heads",
  ]

  /// The message for an unknown command word, or nil when `word` is a command.
  static func unknownCommandMessage(_ word: String) -> String? {
    let names = commandNames
    guard !names.contains(word) else { return nil }
    var message = "'\(word)' is not an lstore command. See 'lstore --help'."
    if let equivalent = gitEquivalents[word.lowercased()] {
      message += " The lstore way: \(equivalent)."
    } else {
      let similar = closest(to: word, among: names)
      if similar.count == 1 {
        message += " The most similar command is '\(similar[0])'."
      } else if !similar.isEmpty {
        message += " The most similar commands are " + similar.map { "'\($0)'" }.joined(separator: ", ") + "."
      }
    }
    return message
  }

  /// The candidates nearest to `word` (transpositions count as one edit, as in git's
  /// help.c), if close enough to be a typo: at most a third of the word's length, or a
  /// prefix of at least 2 characters.
  static func closest(to word: String, among candidates: [String]) -> [String] {
    let lowered = word.lowercased()
    let scored = candidates.filter { $0 != "help" }.map { candidate -> (String, Int) in
      let distance = lowered.count >= 2 && candidate.hasPrefix(lowered) ? 0 : editDistance(lowered, candidate)
      return (candidate, distance)
    }
    let limit = max(1, lowered.count / 3)
    guard let best = scored.map(\.1).min(), best <= limit else { return [] }
    return scored.filter { $0.1 == best }.map(\.0).sorted()
  }

  /// Optimal string alignment distance: insertions, deletions, substitutions and adjacent
  /// transpositions cost 1.
  static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { d[i][0] = i }
    for j in 0...b.count { d[0][j] = j }
    for i in 1...a.count {
      for j in 1...b.count {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
        if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
      }
    }
    return d[a.count][b.count]
  }

  /// ArgumentParser's message for a usage error, as one line: its first line without the
  /// `Error: ` prefix, and the command's `--help` to look at. The usage lines it would
  /// print are what `--help` shows.
  static func oneLine(_ fullMessage: String) -> String {
    let lines = fullMessage.split(separator: "\n", omittingEmptySubsequences: true)
      .map { $0.trimmingCharacters(in: .whitespaces) }
    var first = lines.first ?? "invalid usage"
    if first.hasPrefix("Error: ") { first = String(first.dropFirst("Error: ".count)) }
    first = lowercaseFirst(first)
    // "See 'lstore log --help' for more details." names the command that failed.
    if let see = lines.first(where: { $0.hasPrefix("See '") }), let end = see.range(of: "' ", range: see.index(see.startIndex, offsetBy: 5)..<see.endIndex) {
      let reference = see[see.startIndex..<end.lowerBound].dropFirst(5)
      if !first.hasSuffix(".") && !first.hasSuffix("?") { first += "." }
      first += " See '\(reference)'."
    }
    return first
  }

  private static func lowercaseFirst(_ text: String) -> String {
    guard let head = text.first, head.isUppercase else { return text }
    // Keep acronyms and names as they are ("JSON", "URL"): only a capitalized word is lowered.
    let word = text.prefix { $0.isLetter }
    if word.count > 1, word.dropFirst().contains(where: \.isUppercase) { return text }
    return head.lowercased() + text.dropFirst()
  }
}
