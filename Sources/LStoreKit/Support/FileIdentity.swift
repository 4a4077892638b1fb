import Foundation

/// Whether two paths name the same file (same device and inode), however they are spelled.
public enum FileIdentity {
  public static func same(_ a: String, _ b: String) -> Bool {
    var first = stat()
    var second = stat()
    guard stat(a, &first) == 0, stat(b, &second) == 0 else {
      return URL(fileURLWithPath: a).standardizedFileURL.path == URL(fileURLWithPath: b).standardizedFileURL.path
    }
    return first.st_dev == second.st_dev && first.st_ino == second.st_ino
  }
}
