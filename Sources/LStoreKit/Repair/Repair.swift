import Foundation
import LStoreSQLite

// `lstore repair`, in four files:
// - RepairPlan.swift: the plan value, one action per problem (what `--dry-run` prints);
// - RepairPlanner.swift: fsck's findings (and a scratch replay) turned into a plan;
// - Repair.swift (this file): carrying a plan out on scratch copies, swapped in at the end;
// - RepairBackup.swift, Quarantine.swift: the backup written first, and the file poisoned
//   events go to.

/// Why a repair did not run, or did not finish.
public enum RepairError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The plan rewrites or removes events the backend has confirmed.
  case needsForce(subjects: [String])
  case backupFailed(String)
  case notABackup(String)
  /// A step failed; the store's files are as they were before the repair.
  case failed(String, backup: String)
  /// A step failed after a file was swapped in, and putting the backup back failed too.
  case failedMidway(String, restoring: String, backup: String)

  public var description: String {
    switch self {
    case .needsForce(let subjects):
      return "the repair would rewrite events the backend has confirmed (\(subjects.joined(separator: ", "))); nothing was changed. Other clients have those events: run 'lstore repair --dry-run' to see the plan, and 'lstore repair --force' only if this eventlog is the one to keep"
    case .backupFailed(let detail): return "could not write the backup, so nothing was changed: \(detail)"
    case .notABackup(let detail): return detail
    case .failed(let detail, let backup):
      return "the repair failed and changed nothing (\(detail)); the backup it wrote first is \(backup)"
    case .failedMidway(let detail, let restoring, let backup):
      return "the repair failed after replacing a file (\(detail)) and could not put the originals back (\(restoring)); run 'lstore repair --restore \(backup)'"
    }
  }
}

/// Where a test makes a repair fail on purpose, to show that a failure loses nothing.
public enum RepairFailurePoint: String, Sendable, CaseIterable {
  case afterBackup = "after-backup"
  case beforeSwap = "before-swap"
  /// After the eventlog is swapped in, before the state is: the repair puts the eventlog back.
  case betweenSwaps = "between-swaps"
}

public struct RepairOptions: Sendable {
  /// Rewrite events the backend has confirmed when the plan needs to.
  public var force = false
  public var failAt: RepairFailurePoint?
  public init(force: Bool = false, failAt: RepairFailurePoint? = nil) {
    self.force = force
    self.failAt = failAt
  }
}

public struct RepairResult: Sendable {
  public var plan: RepairPlan
  public var backup: RepairBackup?
  /// The quarantine file, when events were quarantined.
  public var quarantineFile: String?
  /// fsck of the repaired store.
  public var after: Fsck.Report
}

public enum Repair {
  /// The plan, changing nothing (`--dry-run`).
  public static func plan(store: Store, schema: Schema, now: String) throws -> RepairPlan {
    try RepairPlanner.plan(store: store, schema: schema, now: now)
  }

  /// Plans and carries out the repair, under the store's write lock: a backup of every file
  /// it changes first, then the work on scratch copies, which are renamed over the
  /// originals only when all of it succeeded; then fsck again.
  public static func run(store: Store, schema: Schema, options: RepairOptions = RepairOptions(), now: String) throws -> RepairResult {
    let statePath = store.statePath(for: schema)
    let lock = try WriteLock(paths: [store.eventlogPath, statePath])
    defer { lock.release() }
    try Rebase.refuseIfInProgress(try store.openEventlog(), branch: store.branch)
    let plan = try RepairPlanner.plan(store: store, schema: schema, now: now)
    if plan.needsForce && !options.force {
      throw RepairError.needsForce(subjects: plan.actions.filter(\.confirmed).map(\.subject))
    }
    guard !plan.isEmpty else {
      return RepairResult(plan: plan, backup: nil, quarantineFile: nil, after: try check(store: store, schema: schema, now: now))
    }
    let quarantinePath = plan.poisoned.isEmpty ? nil : Quarantine.newPath(storeDirectory: store.directory, now: now)
    let backup: RepairBackup
    do {
      backup = try RepairBackup.write(storeDirectory: store.directory,
                                      files: [store.eventlogPath] + (plan.rebuildState ? [statePath] : []),
                                      created: quarantinePath.map { [$0] } ?? [], now: now)
    } catch let error as RepairError {
      throw error
    } catch {
      throw RepairError.backupFailed("\(error)")
    }
    // Under the lock no other repair runs here: scratch files are a killed repair's.
    for name in (try? FileManager.default.contentsOfDirectory(atPath: store.branchDirectory)) ?? [] where name.contains(".repair-") {
      try? FileManager.default.removeItem(atPath: (store.branchDirectory as NSString).appendingPathComponent(name))
    }
    let scratchEventlog = store.eventlogPath + ".repair-\(getpid())"
    let scratchState = statePath + ".repair-\(getpid())"
    var swapped = false
    do {
      defer {
        try? FileManager.default.removeItem(atPath: scratchEventlog)
        try? FileManager.default.removeItem(atPath: scratchState)
      }
      if options.failAt == .afterBackup { throw InjectedFailure(point: .afterBackup) }
      try FileSync.clone(store.eventlogPath, to: scratchEventlog)
      let quarantineLines = try quarantinePath.map { _ in
        try Quarantine.lines(eventlog: try store.openEventlog(), events: plan.poisoned, storeId: store.config.storeId,
                             branch: store.branch, now: now, backup: backup.directory)
      }
      try editEventlog(at: scratchEventlog, plan: plan)
      if plan.rebuildState {
        _ = try Rematerializer.rebuild(eventlogPath: scratchEventlog, statePath: scratchState, schema: schema, updatedAt: now)
      }
      if let base = plan.renumberAfter {
        try renumber(after: base, eventlogPath: scratchEventlog, statePath: scratchState, schema: schema, now: now)
      }
      if let quarantinePath, let quarantineLines {
        try FileManager.default.createDirectory(atPath: (quarantinePath as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try FileSync.write(Data((quarantineLines.joined(separator: "\n") + "\n").utf8), to: quarantinePath)
      }
      if options.failAt == .beforeSwap { throw InjectedFailure(point: .beforeSwap) }
      try FileSync.fsync(path: scratchEventlog)
      try FileSync.replace(scratchEventlog, with: store.eventlogPath)
      swapped = true
      if options.failAt == .betweenSwaps { throw InjectedFailure(point: .betweenSwaps) }
      if plan.rebuildState { try FileSync.replace(scratchState, with: statePath) }
    } catch {
      if swapped || quarantinePath.map({ FileManager.default.fileExists(atPath: $0) }) == true {
        // Put back what was already swapped in (and remove the quarantine file).
        do {
          try backup.restore(into: store.directory)
        } catch let restoreError {
          throw RepairError.failedMidway("\(error)", restoring: "\(restoreError)", backup: backup.directory)
        }
      }
      throw RepairError.failed("\(error)", backup: backup.directory)
    }
    lock.release()
    return RepairResult(plan: plan, backup: backup, quarantineFile: quarantinePath,
                        after: try check(store: store, schema: schema, now: now))
  }

  /// Puts the files of the backup in `directory` back, under the store's write lock.
  @discardableResult
  public static func restore(backup directory: String, store: Store) throws -> [String] {
    let backup = try RepairBackup.read(directory: directory)
    let lock = try WriteLock(paths: backup.entries.map { (store.directory as NSString).appendingPathComponent($0.path) })
    defer { lock.release() }
    return try backup.restore(into: store.directory)
  }

  /// fsck of the store as it is now, with the table comparison.
  static func check(store: Store, schema: Schema, now: String) throws -> Fsck.Report {
    let statePath = store.statePath(for: schema)
    return try Fsck.check(eventlog: try store.openEventlog(), schema: schema, statePath: statePath,
                          eventlogPath: store.eventlogPath, options: .init(replay: true), now: now)
  }

  /// The plan's eventlog edits that are not renumbering, in one transaction: the poisoned
  /// events leave, commit records are dropped or narrowed, the backend head is lowered.
  static func editEventlog(at path: String, plan: RepairPlan) throws {
    let connection = try Connection(path: path, mode: .readWrite)
    let eventlog = Eventlog(connection: connection)
    try connection.transaction(.immediate) {
      let delete = try connection.prepare("DELETE FROM eventlog WHERE seqNumGlobal = ? AND seqNumClient = ?")
      for seqNum in plan.quarantined { try delete.execute([.integer(seqNum.global), .integer(seqNum.client)]) }
      let none = try connection.prepare("UPDATE eventlog SET syncMetadataJson = ? WHERE seqNumGlobal = ? AND seqNumClient = ?")
      for seqNum in plan.syncMetadataResets {
        try none.execute([.text(EventRecord.noSyncMetadata), .integer(seqNum.global), .integer(seqNum.client)])
      }
      if eventlog.hasLStoreRecords {
        for fix in plan.commitFixes {
          if let range = fix.range {
            try connection.execute("UPDATE lstore_commit SET firstGlobal = ?, firstClient = ?, lastGlobal = ?, lastClient = ? WHERE id = ?", [
              .integer(range.lowerBound.global), .integer(range.lowerBound.client),
              .integer(range.upperBound.global), .integer(range.upperBound.client), .text(fix.id),
            ])
          } else {
            try connection.execute("DELETE FROM lstore_commit WHERE id = ?", [.text(fix.id)])
          }
        }
      }
      if let head = plan.newBackendHead { try eventlog.setBackendHead(head) }
    }
  }

  /// Appends every event after `base` again by LiveStore's numbering rules, through the
  /// head-move machinery every other rewrite uses (so the move is journaled in the reflog,
  /// changesets are recorded under the new numbers and commit records move with their events).
  static func renumber(after base: SeqNum, eventlogPath: String, statePath: String, schema: Schema, now: String) throws {
    let replica = try Replica.open(eventlogPath: eventlogPath, statePath: statePath, schema: schema, now: now)
    try replica.moveHead(to: base, note: HeadMoveNote(action: "repair", message: "renumbering the events after \(base)", time: now)) { appender in
      var moved: [(old: SeqNum, new: SeqNum)] = []
      try replica.eventlog.forEachSavedEvent(entry: appender.entryId) { record, _ in
        let (appended, _) = try appender.append(record)
        moved.append((record.seqNum, appended.seqNum))
      }
      // `moved` is in order: each commit's events are found by binary search, not a scan.
      func firstIndex(atLeast seqNum: SeqNum) -> Int {
        var low = 0, high = moved.count
        while low < high {
          let middle = (low + high) / 2
          if moved[middle].old < seqNum { low = middle + 1 } else { high = middle }
        }
        return low
      }
      for var commit in try replica.eventlog.savedCommits(entry: appender.entryId) {
        let first = firstIndex(atLeast: commit.first)
        let end = firstIndex(atLeast: commit.last.next(clientOnly: true))
        guard first < end else { continue }
        commit.first = moved[first].new
        commit.last = moved[end - 1].new
        try appender.record(commit)
      }
    }
  }
}

struct InjectedFailure: Error, CustomStringConvertible {
  var point: RepairFailurePoint
  var description: String { "failure injected at \(point.rawValue)" }
}

/// The store's write lock, as every writing command takes it: a `BEGIN IMMEDIATE` on each
/// file, held (with nothing written) so no other lstore process writes while a repair or a
/// restore replaces the files. Files that do not exist are skipped.
final class WriteLock {
  private var connections: [Connection] = []

  init(paths: [String]) throws {
    for path in paths where FileManager.default.fileExists(atPath: path) {
      let connection = try Connection(path: path, mode: .readWrite)
      try connection.execute("BEGIN IMMEDIATE")
      connections.append(connection)
    }
  }

  func release() {
    for connection in connections { try? connection.execute("ROLLBACK") }
    connections.removeAll()
  }

  deinit { release() }
}
