import Foundation
import LStoreSQLite

/// Opening any LiveStore eventlog file directly.
public enum EventlogFile {
  /// Opens `path` read-only and checks it is a storage-format-4 eventlog.
  public static func openReadOnly(path: String) throws -> Eventlog {
    // A file opened with --eventlog is never written, not even to roll back a crashed
    // writer's transaction: say so instead of failing obscurely.
    if FileManager.default.fileExists(atPath: path + "-journal") {
      throw EventlogError.unsupportedFormat(
        path: path, detail: "it has a rollback journal from an interrupted write (\((path as NSString).lastPathComponent)-journal); open it once with its app or sqlite3 to roll that back, then retry")
    }
    let connection: Connection
    do {
      connection = try Connection(path: "file:\(path.addingPercentEncodingForURI)?mode=ro", mode: .readOnly)
      _ = try connection.scalar("SELECT count(*) FROM sqlite_master")
    } catch let error as SQLiteError {
      throw EventlogError.unsupportedFormat(path: path, detail: error.message)
    }
    let eventlog = Eventlog(connection: connection)
    try eventlog.validate()
    return eventlog
  }
}
