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

  /// Copies a file, sharing its blocks where the file system can (a reflink: `FICLONE` on
  /// btrfs, XFS and others), else with `sendfile` in the kernel. The copy is synced.
  public static func clone(_ source: String, to destination: String) throws {
    let input = open(source, O_RDONLY)
    guard input >= 0 else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: source]) }
    defer { close(input) }
    let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard output >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination]) }
    defer { close(output) }
    // FICLONE = _IOW(0x94, 9, int)
    if ioctl(output, 0x4004_9409, input) != 0 {
      var info = stat()
      guard fstat(input, &info) == 0 else { throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: source]) }
      var remaining = Int(info.st_size)
      while remaining > 0 {
        let copied = sendfile(output, input, nil, remaining)
        if copied <= 0 {
          // Not supported between these files: copy through user space.
          try? FileManager.default.removeItem(atPath: destination)
          try FileManager.default.copyItem(atPath: source, toPath: destination)
          return
        }
        remaining -= copied
      }
    }
    _ = Foundation.fsync(output)
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
