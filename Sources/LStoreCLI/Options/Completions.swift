import ArgumentParser
import Foundation
import LStoreKit

/// Shell completions computed from the store: the generated scripts call the binary back
/// (`lstore ---completion …`), which answers from the store found as the command would
/// find it (`-C <dir>` on the line being completed, else the current directory). Any error
/// completes nothing: a completion must never print an error into the user's prompt.
enum Completions {
  static func store(_ words: [String]) -> Store? {
    var directory = "."
    if let index = words.firstIndex(of: "-C"), index + 1 < words.count { directory = words[index + 1] }
    if let environment = ProcessInfo.processInfo.environment["LSTORE_DIR"], !environment.isEmpty, directory == "." {
      directory = environment
    }
    return try? Store.discover(from: StoreLocator.absolute(directory, relativeTo: FileManager.default.currentDirectoryPath))
  }

  private static func matching(_ candidates: [String], _ prefix: String) -> [String] {
    candidates.filter { $0.hasPrefix(prefix) }
  }

  /// Local branches, and the remote's as last seen (`switch` fetches those).
  static let branches = CompletionKind.custom { (words: [String], _: Int, prefix: String) -> [String] in
    guard let store = store(words), let names = try? store.listBranches().map(\.name) else { return [] }
    let remote = (try? store.remoteBranches().map(\.name)) ?? []
    return matching(names + remote.filter { !names.contains($0) }.sorted(), prefix)
  }

  /// Revisions: branch names, HEAD, and the ids of commits whose id starts with what is
  /// typed (once it is hex).
  static let revisions = CompletionKind.custom { (words: [String], _: Int, prefix: String) -> [String] in
    guard let store = store(words) else { return [] }
    var candidates = ((try? store.listBranches().map(\.name)) ?? []) + ["HEAD"]
    if !prefix.isEmpty, prefix.allSatisfy(\.isHexDigit), let eventlog = try? store.openEventlog(readOnly: true),
       let commits = try? eventlog.commits(withIDPrefix: prefix.lowercased()) {
      candidates += commits.prefix(50).map(\.id)
    }
    return matching(candidates, prefix)
  }

  static let remotes = CompletionKind.custom { (words: [String], _: Int, prefix: String) -> [String] in
    guard let store = store(words) else { return [] }
    return matching((store.config.remotes ?? [:]).keys.sorted(), prefix)
  }

  static let eventNames = CompletionKind.custom { (words: [String], _: Int, prefix: String) -> [String] in
    guard let store = store(words), let schema = try? store.loadSchema() else { return [] }
    return matching(schema.events.map(\.name).sorted(), prefix)
  }
}
