/// LiveStore's client storage formats (`liveStoreStorageFormatVersion`): 4 is LiveStore
/// 0.3's, 6 is 0.4's. Format 6 adds a rebase generation to every sequence number (eventlog
/// and session changesets), a `backendId` to `__livestore_sync_status`, drops the state's
/// `__livestore_leader_merge_counter`, and writes its DDL with double-quoted identifiers.
///
/// The one place that knows what a format means for file names; the DDL lives in
/// `LiveStoreTables`, the hash rules in `LiveStoreHash`. A store records its format in
/// its config (`StoreConfig.storageFormat`); an eventlog file's format is found from its
/// columns (`Eventlog.validate()`).
public enum StorageFormat: Int, Sendable, CaseIterable, Codable, CustomStringConvertible {
  case v4 = 4
  case v6 = 6

  /// What a new store is created with when `init` is not told.
  public static let storeDefault = StorageFormat.v4

  public var description: String { "storage format \(rawValue) (LiveStore \(self == .v4 ? "0.3" : "0.4"))" }

  /// Whether sequence numbers carry a rebase generation.
  public var hasRebaseGenerations: Bool { self == .v6 }

  /// Whether `__livestore_sync_status` keeps the sync backend's id.
  public var hasBackendId: Bool { self == .v6 }

  /// The eventlog's file name in a branch directory (LiveStore's node adapter names files
  /// by format: `eventlog@<format>.db`).
  public var eventlogFileName: String { "eventlog@\(rawValue).db" }

  /// The state database's file name for a state schema hash: `state<hash>@<format>.db`.
  public func stateFileName(hash: Int64) -> String { "state\(hash)@\(rawValue).db" }
}
