import Foundation
import LStoreSQLite

/// `lstore convert --format 6|4`: rewrites every branch's files in the other storage format.
///
/// Every branch is converted into a staging directory beside `branches/` (the eventlog
/// copied and its LiveStore tables recreated with the target format's exact DDL, the state
/// rebuilt from it); only when all of them are done are the old `branches/` moved to a
/// backup and the staged ones renamed into place, and the config says the new format. A
/// failure before that leaves the store exactly as it was. Going to 6, every event gets
/// rebase generation 0 (as LiveStore gives pulled events) and `backendId` is NULL; going to
/// 4, generations and `backendId` are dropped (format 4 has nowhere to keep them).
extension Store {
  public struct ConvertReport: Sendable {
    public var from: StorageFormat
    public var to: StorageFormat
    /// Branch name → events converted.
    public var branches: [(name: String, events: Int)]
    /// The old `branches/` and config, kept until the user removes them.
    public var backup: String
    /// Generations that were not 0 and were dropped (going to 4).
    public var droppedGenerations: Int
    /// How many branches had a backend id that was dropped (going to 4).
    public var droppedBackendIds: Int
    /// What fsck found on each converted branch (errors only; empty when clean).
    public var fsckErrors: [(branch: String, finding: FsckFinding)] = []
  }

  /// Called after each branch is staged (tests use it to fail midway).
  public typealias ConvertHook = (String) throws -> Void

  public func convert(to target: StorageFormat, schema: Schema, now: String,
                      afterStaging hook: ConvertHook? = nil) throws -> ConvertReport {
    let source = format
    guard target != source else {
      throw StoreError.empty("the store is already in \(target); nothing to convert")
    }
    let names = try FileManager.default.contentsOfDirectory(atPath: branchesDirectory)
      .filter { !$0.hasPrefix(".") && branchExists($0) }.sorted()
    for name in names {
      try Rebase.refuseIfInProgress(try openEventlog(branch: name), branch: name, current: name == branch)
    }
    let stamp = now.filter { $0.isNumber }
    let staging = (directory as NSString).appendingPathComponent(".convert-\(getpid())")
    let backup = (directory as NSString).appendingPathComponent("backups/convert-\(stamp)-format\(source.rawValue)")
    guard !FileManager.default.fileExists(atPath: backup) else { throw StoreError.alreadyExists(path: backup) }
    try? FileManager.default.removeItem(atPath: staging)
    var report = ConvertReport(from: source, to: target, branches: [], backup: backup, droppedGenerations: 0,
                               droppedBackendIds: 0)
    do {
      for name in names {
        let branchStaging = (staging as NSString).appendingPathComponent("branches/\(name)")
        try FileManager.default.createDirectory(atPath: branchStaging, withIntermediateDirectories: true)
        let eventlogCopy = (branchStaging as NSString).appendingPathComponent(target.eventlogFileName)
        let original = try openEventlog(branch: name)
        try original.connection.transaction(.deferred) {
          _ = try original.head()
          try FileSync.clone(original.path, to: eventlogCopy)
        }
        let (events, generations, backendIds): (Int, Int, Int)
        do {
          (events, generations, backendIds) = try Self.convertEventlog(at: eventlogCopy, from: source, to: target)
        } catch {
          throw StoreError.corrupt("cannot convert branch '\(name)' to \(target): \(error); nothing was changed")
        }
        report.droppedGenerations += generations
        report.droppedBackendIds += backendIds
        _ = try Rematerializer.rebuild(
          eventlogPath: eventlogCopy,
          statePath: (branchStaging as NSString).appendingPathComponent(StateDatabase.fileName(for: schema, format: target)),
          schema: schema, updatedAt: now)
        report.branches.append((name, events))
        try hook?(name)
      }
      // The swap: the old files to the backup, the staged ones into place, then the config.
      try FileManager.default.createDirectory(atPath: backup, withIntermediateDirectories: true)
      try FileManager.default.copyItem(atPath: configPath, toPath: (backup as NSString).appendingPathComponent("config.json"))
      try FileSync.replace(branchesDirectory, with: (backup as NSString).appendingPathComponent("branches"))
      do {
        try FileSync.replace((staging as NSString).appendingPathComponent("branches"), with: branchesDirectory)
        try updateConfig { $0.setFormat(target) }
      } catch {
        // Put the original back before reporting.
        if !FileManager.default.fileExists(atPath: branchesDirectory) {
          try? FileSync.replace((backup as NSString).appendingPathComponent("branches"), with: branchesDirectory)
        }
        throw error
      }
      try? FileManager.default.removeItem(atPath: staging)
    } catch {
      try? FileManager.default.removeItem(atPath: staging)
      throw error
    }
    // The check afterwards, on the converted files.
    let converted = try Store(directory: directory)
    for name in names {
      let branch = try converted.onBranch(name)
      let fsck = try Fsck.check(eventlog: try branch.openEventlog(), schema: schema, statePath: branch.statePath(for: schema),
                                eventlogPath: branch.eventlogPath, now: now)
      report.fsckErrors += fsck.findings.filter { $0.severity == .error }.map { (name, $0) }
    }
    return report
  }

  /// Recreates LiveStore's eventlog tables of the file at `path` in `target`'s exact DDL
  /// and copies the rows across, in one transaction; lstore's own tables stay as they are.
  /// Returns the events copied, the non-zero generations dropped and the backend ids dropped.
  static func convertEventlog(at path: String, from source: StorageFormat, to target: StorageFormat) throws
    -> (events: Int, droppedGenerations: Int, droppedBackendIds: Int)
  {
    let connection = try Connection(path: path, mode: .readWrite)
    var result = (events: 0, droppedGenerations: 0, droppedBackendIds: 0)
    func count(_ sql: String) throws -> Int { Int(try connection.cached(sql).first { $0.int64(0) } ?? 0) }
    try connection.transaction(.immediate) {
      if !target.hasRebaseGenerations {
        result.droppedGenerations = try count(
          "SELECT count(*) FROM eventlog WHERE seqNumRebaseGeneration != 0 OR parentSeqNumRebaseGeneration != 0")
        result.droppedBackendIds = try count("SELECT count(*) FROM __livestore_sync_status WHERE backendId IS NOT NULL")
      }
      // The old indexes go first: the target's `create index if not exists` must create its own.
      for index in ["idx_eventlog_seqNumGlobal", "idx_eventlog_seqNum"] {
        try connection.execute("DROP INDEX IF EXISTS \(index.quotedIdentifier)")
      }
      try connection.execute("ALTER TABLE eventlog RENAME TO lstore_convert_eventlog")
      try connection.execute("ALTER TABLE __livestore_sync_status RENAME TO lstore_convert_sync_status")
      for statement in LiveStoreTables.eventlogDDL(target) { try connection.execute(statement) }
      let generations = target.hasRebaseGenerations ? ", seqNumRebaseGeneration, parentSeqNumRebaseGeneration" : ""
      try connection.execute("""
        INSERT INTO eventlog (\(Eventlog.columns)\(generations))
        SELECT \(Eventlog.columns)\(target.hasRebaseGenerations ? ", 0, 0" : "") FROM lstore_convert_eventlog
        ORDER BY seqNumGlobal, seqNumClient
        """)
      result.events = try count("SELECT count(*) FROM eventlog")
      try connection.execute("UPDATE __livestore_sync_status SET head = coalesce((SELECT max(head) FROM lstore_convert_sync_status), 0)")
      try connection.execute("DROP TABLE lstore_convert_eventlog")
      try connection.execute("DROP TABLE lstore_convert_sync_status")
      // Saved events in the reflog follow the eventlog: 0 generations either way.
      if try connection.tableExists("lstore_reflog_event") {
        var columns: Set<String> = []
        try connection.prepare("SELECT name FROM pragma_table_info('lstore_reflog_event')").forEachRow { columns.insert($0.string(0)) }
        if !columns.contains("seqNumRebaseGeneration") {
          for column in Reflog.generationColumns.split(separator: ",") {
            try connection.execute("ALTER TABLE lstore_reflog_event ADD COLUMN \(column.trimmingCharacters(in: .whitespaces))")
          }
        } else {
          try connection.execute("UPDATE lstore_reflog_event SET seqNumRebaseGeneration = 0, parentSeqNumRebaseGeneration = 0")
        }
      }
    }
    try connection.execute("VACUUM")
    return result
  }
}
