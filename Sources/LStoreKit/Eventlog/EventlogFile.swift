import LStoreSQLite

/// Opening any LiveStore eventlog file directly.
public enum EventlogFile {
  /// Opens `path` read-only and checks it is a storage-format-4 eventlog.
  public static func openReadOnly(path: String) throws -> Eventlog {
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
