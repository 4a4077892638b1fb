import LStoreSQLite

extension Eventlog {
  /// Every client-only event in the eventlog. `pendingCount().clientOnly` counts only those
  /// after the backend head; client-only events before it (e1+1 under a pushed e3) are
  /// still in this store, never pushed, and a status that said "0 client-only" beside
  /// them would be wrong.
  public func clientOnlyCount() throws -> Int {
    try connection.cached("SELECT count(*) FROM \(schemaName.quotedIdentifier).eventlog WHERE seqNumClient > 0")
      .first([]) { Int($0.int64(0)) } ?? 0
  }
}
