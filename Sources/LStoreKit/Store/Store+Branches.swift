import Foundation
import LStoreSQLite

/// Branches: each is a directory under `.lstore/branches/` with its own eventlog and state,
/// so switching is instant (`HEAD` names the current one).
extension Store {
  public struct BranchInfo: Sendable {
    public var name: String
    public var isCurrent: Bool
    public var head: SeqNum
    public var events: Int
  }

  var branchesDirectory: String { (directory as NSString).appendingPathComponent("branches") }

  func branchDirectory(_ name: String) -> String { (branchesDirectory as NSString).appendingPathComponent(name) }

  public func branchExists(_ name: String) -> Bool {
    FileManager.default.fileExists(atPath: eventlogPath(branch: name))
  }

  public func listBranches() throws -> [BranchInfo] {
    // Names starting with '.' are a create or delete in progress (or interrupted).
    let names = try FileManager.default.contentsOfDirectory(atPath: branchesDirectory)
      .filter { !$0.hasPrefix(".") && branchExists($0) }.sorted()
    return try names.map { name in
      let connection = try Connection(path: eventlogPath(branch: name), mode: .readOnly)
      let eventlog = Eventlog(connection: connection)
      try eventlog.validate()  // the head's rebase generation is read by format
      return BranchInfo(name: name, isCurrent: name == branch, head: try eventlog.head(), events: try eventlog.count())
    }
  }

  /// `branch <name> <start-point>`: the new branch starts where the revision points, on
  /// whichever branch that is (`branch fix other~1` from main copies `other`'s history).
  public func createBranch(_ name: String, atRevision text: String, schema: Schema, now: String) throws -> BranchInfo {
    let resolver = RevisionResolver(eventlog: try openEventlog(readOnly: true), store: self)
    guard case .point(let point, let source) = try resolver.resolve(text) else { throw RevisionError.notAPoint(text) }
    return try (source.map(onBranch) ?? self).createBranch(name, at: point, schema: schema, now: now)
  }

  /// Creates `name` from the current branch, at its head or at `startPoint` (events after it
  /// are left out, and commits cut by it end there). The copy is made beside the branches
  /// and renamed into place, so a failure leaves no half-made branch.
  @discardableResult
  public func createBranch(_ name: String, at startPoint: SeqNum? = nil, schema: Schema, now: String) throws -> BranchInfo {
    guard Self.isValidBranchName(name) else { throw StoreError.invalidBranchName(name) }
    guard !branchExists(name) else { throw StoreError.branchExists(name) }
    let source = try openEventlog(readOnly: true)
    let head = try source.head()
    let cut = startPoint.map { min($0, head) } ?? head
    if let startPoint, startPoint != .root, try source.event(at: startPoint) == nil {
      throw StoreError.notFound("no event \(startPoint) on branch '\(branch)'")
    }
    let staging = branchDirectory(".new-\(name)-\(getpid())")
    try? FileManager.default.removeItem(atPath: staging)
    try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
    do {
      let eventlogCopy = (staging as NSString).appendingPathComponent(format.eventlogFileName)
      // A read transaction holds the shared lock while the file is cloned, so no writer
      // can commit halfway through the copy.
      try source.connection.transaction(.deferred) {
        _ = try source.head()
        try FileSync.clone(source.path, to: eventlogCopy)
      }
      let newStatePath = (staging as NSString).appendingPathComponent(StateDatabase.fileName(for: schema, format: format))
      let copy = try Connection(path: eventlogCopy, mode: .readWrite)
      // The new branch's reflog starts with its creation, and a rebase in progress on the
      // source branch stays there.
      try copy.transaction {
        for table in ["lstore_reflog", "lstore_reflog_event", "lstore_reflog_commit", "lstore_rebase_cell", RebasePlanTable.name]
        where try copy.tableExists(table) {
          try copy.execute("DROP TABLE \(table.quotedIdentifier)")
        }
        // The new branch syncs with a remote store of its own, empty so far: what the source
        // knew of its remote stores (published records, upstream) is not true of it.
        try Eventlog(connection: copy).removeMeta([RebaseState.metaKey, RebasePlanTable.legacyMetaKey, CommitRecordSync.headKey,
                                                   CommitRecordSync.publishedKey, BranchUpstream.nameKey, BranchUpstream.headKey])
      }
      if cut < head {
        let eventlog = Eventlog(connection: copy)
        try copy.transaction {
          try copy.execute("DELETE FROM eventlog WHERE (seqNumGlobal, seqNumClient) > (?, ?)", [.integer(cut.global), .integer(cut.client)])
          if eventlog.hasLStoreRecords {
            try copy.execute("DELETE FROM lstore_commit WHERE (firstGlobal, firstClient) > (?, ?)", [.integer(cut.global), .integer(cut.client)])
            try copy.execute("UPDATE lstore_commit SET lastGlobal = ?, lastClient = ? WHERE (lastGlobal, lastClient) > (?, ?)",
                             [.integer(cut.global), .integer(cut.client), .integer(cut.global), .integer(cut.client)])
          }
          let backendHead = try eventlog.backendHead()
          if backendHead > cut.global { try eventlog.setBackendHead(cut.global) }
        }
      }
      // The state follows the new eventlog: copied when it is the same, rebuilt otherwise.
      let currentState = statePath(for: schema)
      let status = try StateStatus.read(statePath: currentState, schema: schema)
      if cut == head, status.head == head, !status.stale {
        let state = try Connection(path: currentState, mode: .readOnly)
        try state.transaction(.deferred) {
          _ = try state.scalar("SELECT count(*) FROM sqlite_master")
          try FileSync.clone(currentState, to: newStatePath)
        }
      } else {
        _ = try Rematerializer.rebuild(eventlogPath: eventlogCopy, statePath: newStatePath, schema: schema, updatedAt: now)
      }
      try FileSync.replace(staging, with: branchDirectory(name))
    } catch {
      try? FileManager.default.removeItem(atPath: staging)
      throw error
    }
    try Eventlog.journal(eventlogPath: eventlogPath(branch: name),
                         note: HeadMoveNote(action: "branch", message: "created from \(branch) at \(cut)", time: now))
    return BranchInfo(name: name, isCurrent: false, head: cut, events: try Eventlog(
      connection: try Connection(path: eventlogPath(branch: name), mode: .readOnly)).count())
  }

  /// Makes `name` the current branch. Refused while the current branch has a rebase (or a
  /// stopped pull) in progress, as git refuses: its head is then the rebase's partial one,
  /// which other branches would see as the branch (`log main`, `branch x main`), and the
  /// rebase's controls act on the current branch only. Switching to a stopped branch is
  /// always allowed (that is the way back to it).
  public func switchBranch(to name: String, now: String = ISODate.now()) throws {
    guard branchExists(name) else { throw StoreError.notFound("no branch '\(name)' (see 'lstore branch')") }
    if name != branch, branchExists(branch) { try Rebase.refuseIfInProgress(try openEventlog(readOnly: true), branch: branch) }
    let head = (directory as NSString).appendingPathComponent("HEAD")
    try FileSync.write(Data("\(name)\n".utf8), to: head)
    // Journaled in the branch switched to, as git's HEAD reflog records a checkout.
    if name != branch {
      try Eventlog.journal(eventlogPath: eventlogPath(branch: name),
                           note: HeadMoveNote(action: "switch", message: "moving from \(branch) to \(name)", time: now))
    }
  }

  /// Deletes a branch that is not the current one, and none with a rebase in progress (its
  /// head is then a partial one, and the events still to replay are kept only in its own
  /// reflog, which goes with it): that is refused even forced, as git refuses to delete a
  /// branch being rebased.
  ///
  /// Without `force` (`branch -d`), a branch with events the current branch does not have
  /// is refused too. Returns the head the branch was at (`Deleted branch 'x' (was e5)`).
  @discardableResult
  public func deleteBranch(_ name: String, force: Bool = true) throws -> SeqNum {
    guard branchExists(name) else { throw StoreError.notFound("no branch '\(name)'") }
    guard name != branch else { throw StoreError.readOnly("cannot delete the current branch '\(name)'; switch to another first") }
    let doomedEventlog = try openEventlog(branch: name)
    try Rebase.refuseIfInProgress(doomedEventlog, branch: name, current: false)
    if !force {
      let unmerged = try unmergedEvents(of: name)
      if unmerged > 0 {
        throw StoreError.readOnly("branch '\(name)' has \(unmerged) event\(unmerged == 1 ? "" : "s") that '\(branch)' does not have; 'lstore branch -D \(name)' deletes it anyway")
      }
    }
    let head = try doomedEventlog.head()
    // Renamed first, so a crash never leaves a half-deleted branch that still lists.
    let doomed = branchDirectory(".deleted-\(name)-\(getpid())")
    try FileSync.replace(branchDirectory(name), with: doomed)
    try FileManager.default.removeItem(atPath: doomed)
    return head
  }
}

extension Store {
  /// Renames a branch (the current one too: HEAD follows it).
  public func renameBranch(_ name: String, to newName: String) throws {
    guard branchExists(name) else { throw StoreError.notFound("no branch '\(name)' (see 'lstore branch')") }
    guard Self.isValidBranchName(newName) else { throw StoreError.invalidBranchName(newName) }
    guard !branchExists(newName) else { throw StoreError.branchExists(newName) }
    try FileSync.replace(branchDirectory(name), with: branchDirectory(newName))
    if name == branch {
      try FileSync.write(Data("\(newName)\n".utf8), to: (directory as NSString).appendingPathComponent("HEAD"))
    }
  }

  /// How many of `name`'s events the current branch does not have (0: merged, so `-d`
  /// may delete it).
  public func unmergedEvents(of name: String) throws -> Int {
    let other = try openEventlog(branch: name)
    let base = try openEventlog(readOnly: true).mergeBase(with: other)
    return try other.count(after: base)
  }

  /// Branch names follow store ids (they name files and, later, remote stores).
  /// A name that a revision would read as something else is refused, as git refuses `HEAD`
  /// and `-x`: `HEAD`, a sequence number (`e1`, `5`, `e3.1`), or a leading `-` (an option).
  /// Otherwise `reset --hard e1` on main would go to branch `e1`'s head, not to event e1.
  public static func isValidBranchName(_ name: String) -> Bool {
    Identifiers.isValidStoreID(name) && !name.hasPrefix(".") && !name.hasPrefix("-") && name != "HEAD"
      && SeqNum(name) == nil
  }
}

extension Store {
  /// The branch that syncs with the store's own id on the backend; every other branch has a
  /// remote store of its own (`BranchUpstream`).
  public static let syncedBranch = "main"
}
