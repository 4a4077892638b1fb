import Foundation

/// Durable file replacement: what makes "killed at any instant" safe for files that are
/// rewritten whole (state rebuilds, config).
public enum FileSync {
  public static func fsync(path: String) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path]) }
    defer { close(fd) }
    _ = Foundation.fsync(fd)
  }

  /// Renames `source` over `destination` atomically and syncs the directory.
  public static func replace(_ source: String, with destination: String) throws {
    guard rename(source, destination) == 0 else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination,
                                                     NSLocalizedDescriptionKey: String(cString: strerror(errno))])
    }
    let directory = (destination as NSString).deletingLastPathComponent
    let fd = open(directory.isEmpty ? "." : directory, O_RDONLY)
    if fd >= 0 {
      _ = Foundation.fsync(fd)
      close(fd)
    }
  }

  /// Writes `data` to `path` through a temporary file and a rename.
  public static func write(_ data: Data, to path: String) throws {
    let temporary = path + ".tmp"
    try data.write(to: URL(fileURLWithPath: temporary))
    try fsync(path: temporary)
    try replace(temporary, with: path)
  }
}
