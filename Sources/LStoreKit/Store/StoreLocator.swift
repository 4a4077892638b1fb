import Foundation

/// Finds a store's `.lstore` directory the way git finds `.git`.
public enum StoreLocator {
  public static let directoryName = ".lstore"

  /// The `.lstore` directory: `LSTORE_DIR` if set, else the first `.lstore` found from
  /// `start` upward.
  public static func find(from start: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
    if let explicit = environment["LSTORE_DIR"], !explicit.isEmpty {
      let path = absolute(explicit, relativeTo: start)
      guard isStoreDirectory(path) else { throw StoreError.notAStore(searchedFrom: path) }
      return path
    }
    var directory = URL(fileURLWithPath: absolute(start, relativeTo: FileManager.default.currentDirectoryPath)).standardizedFileURL
    while true {
      let candidate = directory.appendingPathComponent(directoryName).path
      if isStoreDirectory(candidate) { return candidate }
      let parent = directory.deletingLastPathComponent()
      if parent.path == directory.path { break }
      directory = parent
    }
    throw StoreError.notAStore(searchedFrom: start)
  }

  static func isStoreDirectory(_ path: String) -> Bool {
    FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("config.json"))
  }

  public static func absolute(_ path: String, relativeTo base: String) -> String {
    if path.hasPrefix("/") { return path }
    return URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
  }
}
