import Foundation
import LStoreSQLite

/// What a rebase replays the branch onto.
public enum RebaseOnto: Equatable, Sendable {
  /// Another branch, at its head or at an earlier event of it.
  case branch(String, through: SeqNum?)
  /// An earlier point of this branch (`rebase -i HEAD~3`): the commits after it are replayed
  /// in place, as the plan says.
  case point(SeqNum)
  /// The backend head: every pending event is replayed.
  case upstream
}

/// How a rebase treats a replayed event that conflicts with the new base.
public enum RebaseStrategy: String, Codable, CaseIterable, Sendable {
  /// Stop, so the user decides (`--continue` keeps the event, `--skip` drops its commit).
  case stop
  /// The new base wins: conflicting (or failing) events are dropped, kept in the reflog.
  case ours
  /// The replayed events win: they are applied over the new base's values.
  case theirs
  /// LiveStore's own rule: replay every event, no conflict detection.
  case replay
}

/// A rebase in progress, as saved in the branch's eventlog (`lstore_meta` key `rebase`) in
/// the same transaction as each step, so a killed process leaves a rebase that `status`
/// shows and `--continue` or `--abort` finishes.
public struct RebaseState: Codable, Equatable, Sendable {
  public enum Kind: String, Codable, Sendable {
    case rebase
    /// A pull whose pending events stopped on top of the pulled ones.
    case pull
    /// `revert` of an unpushed commit: the events after it replayed without it.
    case revert
  }

  public struct Stop: Codable, Equatable, Sendable {
    public enum Reason: String, Codable, Sendable { case conflict, failure, edit, exec }
    public var reason: Reason
    public var step: Int
    public var message: String
    public var conflicts: [CellConflict]
    /// The replayed event that failed or conflicted first (its original number).
    public var event: SeqNum?
  }

  public var kind: Kind
  public var ontoLabel: String
  public var ontoHead: SeqNum
  /// The merge base: events after it were saved at the start and are replayed by the steps.
  public var base: SeqNum
  public var originalHead: SeqNum
  /// The reflog entry of the start, which saved the branch's events after the base.
  public var startEntry: Int64
  /// The last upstream event the start appended (events up to it are the new base).
  public var upstreamThrough: SeqNum
  public var strategy: RebaseStrategy
  /// The number of steps in the plan, which is kept in its own table (`RebasePlanTable`)
  /// and read from it when the state is loaded; not part of the saved JSON.
  public var stepCount: Int = 0
  public var next: Int
  public var stop: Stop?
  /// The commit the previous step recorded, which a squash or fixup extends.
  public var lastCommitId: String?
  public var lastStepFirst: SeqNum?
  public var lastStepLast: SeqNum?
  /// Replayed events left out because the new base already has the same event.
  public var skippedEquivalent: Int = 0
  /// Events the `ours` strategy dropped, and events with conflicts kept by `theirs`.
  public var droppedEvents: [SeqNum] = []
  public var conflictsKept: [CellConflict] = []
  public var appliedEvents: Int = 0
  /// The exec step handed to the caller to run; it counts as done (a kill while it runs
  /// does not run it again).
  public var runningExec: Int?
  /// A pull's stop: the sync cursors as they were before the pull (how far the remote store
  /// is known to hold the branch, how far commit records went each way; a key absent
  /// then is absent here). The pull moved them, and the records exchanged after it moved
  /// them again; `--abort` puts them back with the events, so the store is exactly as
  /// before the pull. (The backend head is restored by the reflog entry.)
  public var syncCursorsBefore: [String: String]? = nil

  /// The keys `syncCursorsBefore` holds.
  static let syncCursorKeys = [BranchUpstream.headKey, CommitRecordSync.headKey, CommitRecordSync.publishedKey]

  static func syncCursors(of eventlog: Eventlog) throws -> [String: String] {
    var cursors: [String: String] = [:]
    for key in syncCursorKeys { cursors[key] = try eventlog.meta(key) }
    return cursors
  }

  static let metaKey = "rebase"

  /// Everything but `stepCount` (an older lstore's `steps`, always empty, is ignored).
  enum CodingKeys: String, CodingKey {
    case kind, ontoLabel, ontoHead, base, originalHead, startEntry, upstreamThrough, strategy, next, stop,
         lastCommitId, lastStepFirst, lastStepLast, skippedEquivalent, droppedEvents, conflictsKept,
         appliedEvents, runningExec, syncCursorsBefore
  }
}

/// What `lstore rebase` will do, worked out before anything changes.
public struct RebasePreparation: Sendable {
  public var onto: RebaseOnto
  public var ontoLabel: String
  public var ontoHead: SeqNum
  public var base: SeqNum
  public var head: SeqNum
  /// The branch's first event after the base, and how many there are: what the steps
  /// replay (the units themselves are walked when a plan is written, never held here).
  public var firstReplayed: SeqNum?
  public var replayedEvents: Int
  /// Upstream events to append after the base.
  public var upstreamEvents: Int
  /// Nothing to do: the branch already contains the new base (its commits after it would
  /// be replayed in place, unchanged).
  public var upToDate: Bool { upstreamEvents == 0 && base == ontoHead }

  public var planHeader: String {
    let range = firstReplayed.map { "\($0)..\(head)" } ?? "nothing"
    return "Rebase \(range) onto \(ontoHead) (\(ontoLabel))"
  }

  /// The history units the steps replay, oldest first: what a plan the user edits names
  /// (held, as the plan's text is; the default plan is written without them).
  public func units(in eventlog: Eventlog) throws -> [HistoryUnit] {
    var units: [HistoryUnit] = []
    try eventlog.forEachUnit(after: base, order: .ascending) { units.append($0); return true }
    return units
  }
}

/// Where a run of the rebase ended.
public enum RebaseOutcome: Equatable, Sendable {
  case finished(RebaseSummary)
  case stopped(RebaseState.Stop)
  /// The plan's next step is `exec`: the caller runs it and reports with `execFinished`.
  case exec(command: String)
}

public struct RebaseSummary: Equatable, Sendable {
  public var kind: RebaseState.Kind = .rebase
  public var ontoLabel: String
  public var head: SeqNum
  public var appliedEvents: Int
  public var skippedEquivalent: Int
  public var droppedEvents: [SeqNum]
  public var conflictsKept: [CellConflict]
}

public enum RebaseError: Error, Equatable, Sendable, CustomStringConvertible {
  /// `current`: whether the stopped branch is the one the command ran on; when not, the
  /// advice starts with switching to it (the controls act on the current branch only).
  case inProgress(branch: String, onto: String, current: Bool)
  case notInProgress
  case emptyPlan
  case awaitingExec
  case invalidState(String)

  public var description: String {
    switch self {
    case .inProgress(let branch, let onto, true):
      return "a rebase of branch '\(branch)' onto \(onto) is in progress; finish it with 'lstore rebase --continue', '--skip' or '--abort' (see 'lstore status')"
    case .inProgress(let branch, let onto, false):
      return "a rebase of branch '\(branch)' onto \(onto) is in progress; finish it on that branch: 'lstore switch \(branch)', then 'lstore rebase --continue', '--skip' or '--abort' (see 'lstore status' there)"
    case .notInProgress: return "no rebase in progress"
    case .emptyPlan: return "nothing to do: the plan is empty, so the rebase was not started"
    case .awaitingExec: return "the rebase is waiting for an exec step to be run; run 'lstore rebase --continue'"
    case .invalidState(let detail): return "the saved rebase state is damaged (\(detail)); run 'lstore rebase --abort'"
    }
  }
}

/// A stop signal inside a step's transaction: the step is rolled back and the rebase
/// stops there.
private struct StepStopped: Error { var stop: RebaseState.Stop }
private struct StepRetry: Error {
  var without: SeqNum
  var failure: RebaseState.Stop
}

/// Runs a rebase: a start that moves the head to the merge base (saving the branch's events
/// in the reflog) and appends the new base's events, then one transaction per plan step,
/// replaying saved events renumbered after the head through the replay engine.
public final class Rebase {
  public let replica: Replica
  public private(set) var state: RebaseState
  /// The plan, read one step at a time.
  private let plan: RebasePlanTable
  private let time: () -> String
  /// A dry run records conflicts and failures and goes on, instead of stopping.
  private var collecting = false
  /// Events dropped because they failed (strategy `ours`, or a dry run), this process.
  public private(set) var failures: [RebaseState.Stop] = []
  /// Original → new numbers of the events this process replayed, for a pull's report (kept
  /// for pulls only: a rebase reports counts).
  public private(set) var moved = Renumbering()
  /// How many events this process replayed.
  public private(set) var movedCount = 0
  private lazy var columnNames = ColumnNames(connection: replica.connection)

  init(replica: Replica, state: RebaseState, time: @escaping () -> String) throws {
    self.replica = replica
    self.state = state
    self.time = time
    plan = try RebasePlanTable(reading: replica.eventlog)
  }

  // MARK: - State

  /// The rebase in progress on this replica's branch, if any.
  public static func inProgress(_ replica: Replica, time: @escaping () -> String) throws -> Rebase? {
    guard let state = try loadState(replica.eventlog) else { return nil }
    return try Rebase(replica: replica, state: state, time: time)
  }

  /// Refuses a command that moves the head (other than commit, amend and the rebase's own
  /// controls) while a rebase is in progress on the branch.
  public static func refuseIfInProgress(_ eventlog: Eventlog, branch: String, current: Bool = true) throws {
    if let state = try loadState(eventlog) { throw RebaseError.inProgress(branch: branch, onto: state.ontoLabel, current: current) }
  }

  public static func loadState(_ eventlog: Eventlog) throws -> RebaseState? {
    guard let text = try eventlog.meta(RebaseState.metaKey) else { return nil }
    do {
      var state = try JSONDecoder().decode(RebaseState.self, from: Data(text.utf8))
      state.stepCount = try RebasePlanTable(reading: eventlog).count
      return state
    } catch {
      throw RebaseError.invalidState("\(error)")
    }
  }

  /// Saves the progress. The plan is saved once, at the start (`RebasePlanTable`): writing
  /// it again with every step would make a long rebase quadratic.
  private func saveState() throws {
    let data = try JSONEncoder().encode(state)
    try replica.eventlog.setMeta(RebaseState.metaKey, String(decoding: data, as: UTF8.self))
  }

  private func clearState() throws {
    try replica.connection.cached("DELETE FROM log.lstore_meta WHERE key IN (?, ?)")
      .execute([.text(RebaseState.metaKey), .text(RebasePlanTable.legacyMetaKey)])
    try RebasePlanTable.drop(on: replica.eventlog)
    try UpstreamCells.drop(on: replica.connection)
  }

  // MARK: - Preparing and starting

  public static func prepare(_ replica: Replica, store: Store?, onto: RebaseOnto) throws -> RebasePreparation {
    let eventlog = replica.eventlog
    let head = try eventlog.head()
    let base: SeqNum
    let ontoHead: SeqNum
    let label: String
    var upstreamEvents = 0
    switch onto {
    case .branch(let name, let through):
      guard let store else { throw RevisionError.noStore(name) }
      let other = try store.openEventlog(branch: name)
      ontoHead = try through ?? other.head()
      base = min(try eventlog.mergeBase(with: other), ontoHead)
      upstreamEvents = try other.count(after: base, through: ontoHead)
      label = through == nil ? name : "\(name) at \(ontoHead)"
    case .point(let point):
      base = point
      ontoHead = point
      label = "\(point)"
    case .upstream:
      base = SeqNum.confirmedBoundary(backendHead: try eventlog.backendHead())
      ontoHead = base
      label = "the backend head"
    }
    var firstReplayed: SeqNum? = nil
    try eventlog.forEach(after: base) { row in
      firstReplayed = row.seqNum
      return false
    }
    return RebasePreparation(onto: onto, ontoLabel: label, ontoHead: ontoHead, base: base, head: head,
                             firstReplayed: firstReplayed, replayedEvents: try eventlog.count(after: base),
                             upstreamEvents: upstreamEvents)
  }

  /// Starts a rebase: one transaction writes the plan, moves the head to the base (the
  /// branch's events go into the reflog entry) and appends the new base's events.
  public static func start(_ replica: Replica, store: Store?, preparation: RebasePreparation, steps: RebaseSteps,
                           strategy: RebaseStrategy, kind: RebaseState.Kind = .rebase,
                           time: @escaping () -> String) throws -> Rebase {
    try refuseIfInProgress(replica.eventlog, branch: store?.branch ?? "this")
    let connection = replica.connection
    return try connection.inTransaction {
      let plan = try RebasePlanTable.create(on: replica.eventlog)
      try plan.write(steps, after: preparation.base, of: replica.eventlog)
      var upstreamThrough = preparation.base
      let move = try replica.moveHead(
        to: preparation.base,
        note: HeadMoveNote(action: "\(kind.rawValue) (start)", message: "onto \(preparation.ontoLabel)", time: time())
      ) { appender in
        try UpstreamCells.create(on: connection)
        guard case .branch(let name, _) = preparation.onto, let store else { return }
        let other = try store.openEventlog(branch: name)
        let names = ColumnNames(connection: connection)
        try other.forEach(after: preparation.base, through: preparation.ontoHead) { row in
          let record = row.record
          let changeset = try appender.appendVerbatim(record, pending: true)
          try UpstreamCells.record(changeset, of: appender.head, on: connection, names: names)
          return true
        }
        try other.forEachCommit(after: preparation.base, through: preparation.ontoHead) { commit in
          var commit = commit
          commit.first = max(commit.first, preparation.base.next(clientOnly: true))
          commit.last = min(commit.last, preparation.ontoHead)
          try appender.record(commit)
          return true
        }
        upstreamThrough = appender.head
      }
      let state = RebaseState(
        kind: kind, ontoLabel: preparation.ontoLabel, ontoHead: preparation.ontoHead, base: preparation.base,
        originalHead: preparation.head, startEntry: move.entry.id, upstreamThrough: upstreamThrough,
        strategy: strategy, stepCount: plan.count, next: 0, stop: nil)
      let rebase = try Rebase(replica: replica, state: state, time: time)
      try rebase.saveState()
      return rebase
    }
  }

  /// The rebase a pull runs for its pending events after the divergence (those its reflog
  /// entry saved after `base`, read back one at a time, none held), inside the pull's
  /// transaction: LiveStore's rule (replay, no conflict detection), one step per commit or
  /// uncommitted run. An event the pulled ones already hold (same name, args, client and
  /// session) is left out, as a rebase leaves out what is upstream: a LiveStore backend
  /// never holds a client's pending event elsewhere, but a store used as a remote that
  /// rebased the events it took does, and replaying them would make them twice.
  static func startPull(_ replica: Replica, entry: Int64, base: SeqNum, originalHead: SeqNum,
                        syncCursorsBefore: [String: String], time: @escaping () -> String) throws -> Rebase {
    let commits = try replica.eventlog.savedCommits(entry: entry)
    let plan = try RebasePlanTable.create(on: replica.eventlog)
    // The step being grown, written when the next one starts; an uncommitted run is one
    // client's and session's consecutive events.
    var step: RebaseStep? = nil
    var runKey = ""
    // The saved commit the step comes from: a commit cut at the base gives its moved part a
    // new id, so the step's own commit id cannot tell whether the next event belongs to it.
    var stepSource: String? = nil
    var commitIndex = 0
    try replica.eventlog.forEachSavedEvent(entry: entry) { event, _ in
      guard event.seqNum > base else { return }
      while commitIndex < commits.count, commits[commitIndex].last < event.seqNum { commitIndex += 1 }
      let commit = commitIndex < commits.count && commits[commitIndex].contains(event.seqNum) ? commits[commitIndex] : nil
      let key = commit == nil ? event.clientId + "\u{0}" + event.sessionId : ""
      if var current = step, stepSource == commit?.id, commit != nil || runKey == key {
        current.last = event.seqNum
        step = current
        return
      }
      if let step { try plan.append(step) }
      var template = commit.map(CommitTemplate.init)
      // The part of a commit before the divergence keeps its id; the moved part gets its own.
      if let commit, commit.first <= base { template?.id = Identifiers.commitID() }
      step = RebaseStep(verb: .pick, first: event.seqNum, last: event.seqNum, commit: template)
      stepSource = commit?.id
      runKey = key
    }
    if let step { try plan.append(step) }
    let head = try replica.eventlog.head()
    let state = RebaseState(
      kind: .pull, ontoLabel: "the pulled events (e\(try replica.eventlog.backendHead()))", ontoHead: head, base: base,
      originalHead: originalHead, startEntry: entry, upstreamThrough: head, strategy: .replay, stepCount: plan.count,
      next: 0, stop: nil, syncCursorsBefore: syncCursorsBefore)
    let rebase = try Rebase(replica: replica, state: state, time: time)
    try rebase.saveState()
    return rebase
  }

  /// Plays the whole rebase inside a transaction that is rolled back: what it would do,
  /// every conflict and failure it would meet, nothing changed.
  public static func dryRun(_ replica: Replica, store: Store?, preparation: RebasePreparation, steps: RebaseSteps,
                            strategy: RebaseStrategy, time: @escaping () -> String) throws -> DryRunReport {
    let connection = replica.connection
    try connection.execute("BEGIN IMMEDIATE")
    defer { try? connection.execute("ROLLBACK") }
    let rebase = try start(replica, store: store, preparation: preparation, steps: steps, strategy: strategy, time: time)
    rebase.collecting = true
    var report = DryRunReport(ontoLabel: preparation.ontoLabel, steps: rebase.state.stepCount)
    report.strategy = strategy
    while rebase.state.next < rebase.state.stepCount {
      let index = rebase.state.next
      let step = try rebase.plan.step(at: index)
      if step.verb == .exec {
        report.execSkipped.append(step.text ?? "")
        rebase.state.next += 1
        continue
      }
      do {
        try rebase.runStep(index, force: false)
      } catch let stopped as StepStopped {
        report.stops.append(stopped.stop)
        rebase.state.next += 1
      }
    }
    report.stops.append(contentsOf: rebase.failures)
    report.conflicts = rebase.state.conflictsKept
    report.droppedEvents = rebase.state.droppedEvents
    report.skippedEquivalent = rebase.state.skippedEquivalent
    report.head = try replica.eventlog.head()
    report.appliedEvents = rebase.state.appliedEvents
    return report
  }

  // MARK: - Running

  /// Runs steps until the plan is done, a step stops, or an exec step needs running. The
  /// steps of one run share a transaction (each in a savepoint): a killed process leaves
  /// the rebase where this run started, which `--continue` and `--abort` both handle, and
  /// the disk is synced once per run rather than once per commit. Stops, exec steps and the
  /// end commit it, so whatever runs next sees the rebase as it is.
  public func run() throws -> RebaseOutcome {
    if let stop = state.stop { return .stopped(stop) }
    // An exec that was running when its process was killed counts as done.
    if state.runningExec != nil { state.runningExec = nil }
    let inMemory = try keepStepJournalsInMemory()
    defer { if inMemory { try? replica.connection.execute("PRAGMA temp_store = DEFAULT") } }
    return try replica.connection.inTransaction { () throws -> RebaseOutcome in
      while state.next < state.stepCount {
        let index = state.next
        let step = try plan.step(at: index)
        if step.verb == .exec {
          state.runningExec = index
          state.next = index + 1
          try saveState()
          return .exec(command: step.text ?? "")
        }
        do {
          try runStep(index, force: false)
        } catch let stopped as StepStopped {
          state.stop = stopped.stop
          try saveState()
          return .stopped(stopped.stop)
        }
        if let stop = state.stop { return .stopped(stop) }
      }
      return .finished(try finish())
    }
  }

  /// Each step is a savepoint, whose journal SQLite writes to a temporary file past 64 KiB:
  /// for a rebase of many small commits that was tens of thousands of writes, more time than
  /// the steps themselves. When no step left replays more than `smallStep` events, the
  /// journals are kept in memory for this run (`temp_store = MEMORY`, set before the run's
  /// transaction begins; a step's journal is emptied when it ends, so memory stays bounded
  /// by the largest step). Not inside a caller's transaction (a pull), where it cannot change.
  private func keepStepJournalsInMemory() throws -> Bool {
    guard !replica.connection.isInTransaction else { return false }
    let count = try replica.connection.cached(
      "SELECT count(*) FROM log.lstore_reflog_event WHERE entry = ? AND (seqNumGlobal, seqNumClient) BETWEEN (?, ?) AND (?, ?)")
    for index in min(state.next, state.stepCount)..<state.stepCount {
      let step = try plan.step(at: index)
      guard let first = step.first, let last = step.last else { continue }
      let events = try count.first([.integer(state.startEntry), .integer(first.global), .integer(first.client),
                                    .integer(last.global), .integer(last.client)]) { $0.int64(0) } ?? 0
      if events > Self.smallStep { return false }
    }
    try replica.connection.execute("PRAGMA temp_store = MEMORY")
    return true
  }

  /// The most events a step may replay for its journal to be kept in memory (a step of that
  /// many events touches at most a few thousand pages).
  static let smallStep: Int64 = 1_000

  /// Reports how the exec step the last `run()` asked for went.
  public func execFinished(status: Int32) throws -> RebaseOutcome {
    guard state.stop == nil, let index = state.runningExec else { throw RebaseError.notInProgress }
    let command = try plan.step(at: index).text ?? ""
    try replica.connection.inTransaction {
      state.runningExec = nil
      if status != 0 {
        state.stop = RebaseState.Stop(reason: .exec, step: index, message: "exec '\(command)' failed with exit status \(status)",
                                      conflicts: [], event: nil)
      }
      try saveState()
    }
    return try run()
  }

  /// `--continue`: after a conflict, keeps the stopped step's events over the new base;
  /// after a failure, tries the step again; after edit or exec, goes on.
  public func continueRebase() throws -> RebaseOutcome {
    if let stop = state.stop {
      state.stop = nil
      switch stop.reason {
      case .conflict, .failure:
        do {
          try runStep(stop.step, force: stop.reason == .conflict)
        } catch let stopped as StepStopped {
          try replica.connection.inTransaction {
            state.stop = stopped.stop
            try saveState()
          }
          return .stopped(stopped.stop)
        }
      case .edit, .exec:
        try replica.connection.inTransaction { try saveState() }
      }
    }
    return try run()
  }

  /// `--skip`: drops the stopped step (its events stay in the reflog) and goes on.
  public func skip() throws -> RebaseOutcome {
    guard let stop = state.stop else { return try run() }
    try replica.connection.inTransaction {
      if stop.reason == .conflict || stop.reason == .failure {
        let step = try plan.step(at: stop.step)
        if let first = step.first, let last = step.last {
          // Every event of the step is dropped, not only its first.
          try replica.eventlog.forEachSavedEvent(entry: state.startEntry, from: first, through: last) { record, _ in
            if record.seqNum >= first { state.droppedEvents.append(record.seqNum) }
          }
          // A step whose commit got an id of its own here (the moved part of a commit a
          // pull cut at its base) is saved under that id too, with what it held, so the id
          // the stop named finds exactly these events for `cherry-pick`.
          if let commit = step.commit, try !replica.eventlog.reflogSavedCommit(entry: state.startEntry, id: commit.id) {
            try replica.eventlog.saveReflogCommit(
              Commit(id: commit.id, first: first, last: last, message: commit.message, author: commit.author, time: commit.time),
              entry: state.startEntry)
          }
        }
        state.next = stop.step + 1
      }
      state.stop = nil
      try saveState()
    }
    return try run()
  }

  /// `--abort`: restores the branch exactly as it was before the rebase (for a stopped pull,
  /// before the pull), journaled as one more head move.
  public func abort() throws {
    try replica.connection.inTransaction {
      let entries = try replica.eventlog.reflog().filter { $0.id >= state.startEntry }.count
      _ = try replica.restore(undoing: entries, note: HeadMoveNote(action: "\(state.kind.rawValue) (abort)",
                                                               message: "back to \(state.originalHead)", time: time()),
                          allowConfirmed: state.kind == .pull)
      if let cursors = state.syncCursorsBefore {
        try replica.eventlog.removeMeta(RebaseState.syncCursorKeys.filter { cursors[$0] == nil })
        for (key, value) in cursors { try replica.eventlog.setMeta(key, value) }
      }
      try clearState()
    }
  }

  private func finish() throws -> RebaseSummary {
    try replica.connection.inTransaction {
      try replica.moveHead(to: try replica.eventlog.head(),
                           note: HeadMoveNote(action: "\(state.kind.rawValue) (finish)", message: "onto \(state.ontoLabel)", time: time()))
      try clearState()
    }
    return RebaseSummary(kind: state.kind, ontoLabel: state.ontoLabel, head: try replica.eventlog.head(), appliedEvents: state.appliedEvents,
                         skippedEquivalent: state.skippedEquivalent, droppedEvents: state.droppedEvents,
                         conflictsKept: state.conflictsKept)
  }

  // MARK: - One step

  /// The rebase generation the replayed events get on a format-6 eventlog: LiveStore's rule
  /// (`rebaseEvents`), the new base's generation + 1. The new base is the head the rebase
  /// goes onto: for a pull the last pulled event (generation 0, so the rebased events get
  /// 1, as in LiveStore), for `lstore rebase` the onto branch's head or point as the start
  /// appended it. Every step uses the same one, so all events of one rebase share it. Nil
  /// on format 4, which has no generations.
  static func rebaseGeneration(onto: SeqNum, in eventlog: Eventlog) throws -> Int64? {
    guard eventlog.format.hasRebaseGenerations else { return nil }
    let base = onto == .root ? nil : try eventlog.event(at: onto)
    return (base?.seqNum.rebaseGeneration ?? 0) + 1
  }

  /// Replays step `index` in one transaction. Throws `StepStopped` (with everything of the
  /// step rolled back) when it must stop before it; stops after it for `edit`.
  private func runStep(_ index: Int, force: Bool) throws {
    var excluded = Set<SeqNum>()
    while true {
      do {
        try replica.connection.inTransaction { try applyStep(index, force: force, excluded: excluded) }
        return
      } catch let retry as StepRetry {
        // The `ours` strategy (and a dry run): the failing event is dropped and the step
        // tried again.
        excluded.insert(retry.without)
        failures.append(retry.failure)
      }
    }
  }

  private func applyStep(_ index: Int, force: Bool, excluded: Set<SeqNum>) throws {
    let step = try plan.step(at: index)
    guard let first = step.first, let last = step.last else { return }
    let eventlog = replica.eventlog
    let connection = replica.connection
    let identities = UpstreamIdentities(eventlog: eventlog, base: state.base, through: state.upstreamThrough)
    try identities.prepare()
    let note = HeadMoveNote(action: "\(state.kind.rawValue) (\(step.verb.rawValue))",
                            message: step.text ?? step.commit?.message ?? step.reference, time: time())
    var newState = state
    try replica.moveHead(to: try eventlog.head(), note: note) { appender in
      var conflicts: [CellConflict] = []
      var dropped: [SeqNum] = []
      var firstNew: SeqNum? = nil
      var movedHere = Renumbering()
      var applied = 0
      appender.rebaseGeneration = try Self.rebaseGeneration(onto: state.ontoHead, in: eventlog)
      func apply(_ record: EventRecord) throws {
        do {
          let (moved, _) = try appender.append(record)
          if state.kind == .pull { movedHere.append(record.seqNum, moved.seqNum) }
          if firstNew == nil { firstNew = moved.seqNum }
          applied += 1
        } catch let error where error is MaterializeError || error is ReplayError {
          if state.strategy == .ours || collecting {
            throw StepRetry(without: record.seqNum, failure: RebaseState.Stop(
              reason: .failure, step: index,
              message: "event \(record.seqNum) \(record.name) fails on top of \(state.ontoLabel): \(Self.reason(error))",
              conflicts: [], event: record.seqNum))
          }
          throw StepStopped(stop: RebaseState.Stop(
            reason: .failure, step: index,
            message: "\(step.verb.rawValue) \(step.reference): event \(record.seqNum) \(record.name) fails on top of \(state.ontoLabel): \(Self.reason(error))",
            conflicts: [], event: record.seqNum))
        }
      }
      // Events are applied as they are read, so a step of any size (a pending commit of
      // 1,000,000 events) holds one at a time: holding the step's events for the conflict
      // check took 420 MB for a million. Conflicts are found from the saved changesets and the
      // upstream cells, which applying does not change. Once the step has a conflict that
      // stops it, or an event that fails, nothing more is applied but every remaining event
      // is still checked: a conflict stop reports all the step's conflicts and comes before
      // a failure, as when the whole step was checked first. The stop rolls the step's
      // transaction back.
      let checksConflicts = state.strategy != .replay
      let conflictsStop = state.strategy == .stop && !force && !collecting
      var failed: StepStopped? = nil
      try eventlog.forEachSavedEvent(entry: state.startEntry, from: first, through: last) { record, changeset in
        guard record.seqNum >= first, !excluded.contains(record.seqNum) else { return }
        if try identities.take(record) {
          newState.skippedEquivalent += 1
          return
        }
        if checksConflicts {
          let found = try UpstreamCells.conflicts(of: changeset, event: record.seqNum, on: connection, names: columnNames)
          if !found.isEmpty {
            if state.strategy == .ours && !force {
              dropped.append(record.seqNum)
              return
            }
            conflicts.append(contentsOf: found)
          }
        }
        guard failed == nil, !(conflictsStop && !conflicts.isEmpty) else { return }
        do {
          try apply(record)
        } catch let stop as StepStopped where conflictsStop {
          failed = stop
        }
      }
      if !conflicts.isEmpty && conflictsStop {
        throw StepStopped(stop: RebaseState.Stop(
          reason: .conflict, step: index,
          message: "\(step.verb.rawValue) \(step.reference) conflicts with \(state.ontoLabel): \(conflicts.count) cell\(conflicts.count == 1 ? "" : "s") changed on both sides",
          conflicts: conflicts, event: conflicts.first?.theirsEvent))
      }
      if let failed { throw failed }
      newState.conflictsKept.append(contentsOf: conflicts)
      newState.droppedEvents.append(contentsOf: dropped)
      newState.appliedEvents += applied
      movedCount += applied
      if state.kind == .pull { moved.append(contentsOf: movedHere) }
      try recordCommit(step, firstNew: firstNew, appender: appender, state: &newState)
      newState.next = index + 1
      if step.verb == .edit && !collecting {
        newState.stop = RebaseState.Stop(reason: .edit, step: index,
                                         message: "stopped at \(step.reference) (\(step.commit?.message ?? "events")) to edit: 'lstore commit' adds events, 'lstore commit --amend' changes it; then 'lstore rebase --continue'",
                                         conflicts: [], event: nil)
      }
      state = newState
      try saveState()
    }
    // Events a retry left out: the transaction that recorded them was rolled back.
    state.droppedEvents.append(contentsOf: excluded.sorted())
    if !excluded.isEmpty { try replica.connection.inTransaction { try saveState() } }
  }

  private func recordCommit(_ step: RebaseStep, firstNew: SeqNum?, appender: HeadAppender, state: inout RebaseState) throws {
    guard let firstNew else {
      // Every event of the step was left out: no commit, and a squash has nothing to add.
      if step.verb != .squash && step.verb != .fixup { state.lastCommitId = nil; state.lastStepFirst = nil }
      return
    }
    let head = appender.head
    switch step.verb {
    case .squash, .fixup:
      // Meld into the commit at the head before this step, as git melds into HEAD: after an
      // edit stop that is the amended commit, or the one the user committed there.
      let headBefore = try replica.eventlog.lastEvent(before: firstNew) ?? .root
      let previous = try replica.eventlog.commit(containing: headBefore).flatMap { $0.last == headBefore ? $0 : nil }
      let previousFirst = previous?.first ?? (state.lastStepLast == headBefore ? state.lastStepFirst : nil) ?? firstNew
      var message = previous?.message ?? ""
      if step.verb == .squash || message.isEmpty, let own = step.commit?.message, !own.isEmpty {
        message = message.isEmpty ? own : message + "\n\n" + own
      }
      if message.isEmpty { message = "\(appender.appended) events" }
      // A melded commit is a new commit: keeping either id would make it the same commit
      // as one another branch still has with other events.
      if let previous { try replica.eventlog.deleteCommit(id: previous.id) }
      let id = Identifiers.commitID()
      try appender.record(Commit(id: id, first: previousFirst, last: head, message: message,
                                 author: previous?.author ?? step.commit?.author ?? Author(name: "unknown", email: ""),
                                 time: previous?.time ?? step.commit?.time ?? time()))
      state.lastCommitId = id
      state.lastStepFirst = previousFirst
    default:
      if let template = step.commit {
        // A reworded commit is a new commit (as in git); a picked one keeps its id.
        let message = step.verb == .reword ? (step.text ?? template.message) : template.message
        // A commit cut by the merge base keeps its id for the part that stayed; the part
        // replayed here is a commit of its own.
        let id = try step.verb == .reword || replica.eventlog.commitExists(id: template.id) ? Identifiers.commitID() : template.id
        try appender.record(Commit(id: id, first: firstNew, last: head, message: message,
                                   author: template.author, time: template.time))
        state.lastCommitId = id
      } else {
        state.lastCommitId = nil
      }
      state.lastStepFirst = firstNew
    }
    state.lastStepLast = head
  }

  private static func reason(_ error: Error) -> String {
    if let error = error as? MaterializeError { return error.reason }
    return "\(error)"
  }
}

extension RebaseState {
  fileprivate func lastCommitMessage(in eventlog: Eventlog) -> String? {
    guard let lastCommitId, let lastStepFirst, let commit = try? eventlog.commit(containing: lastStepFirst),
          commit.id == lastCommitId else { return nil }
    return commit.message
  }
}

/// What identifies an event across histories: LiveStore's pull recognises a client's own
/// events by name, args, client and session.
/// What `rebase --dry-run` found.
public struct DryRunReport: Equatable, Sendable {
  public var ontoLabel: String
  public var steps: Int
  public var stops: [RebaseState.Stop] = []
  public var conflicts: [CellConflict] = []
  public var droppedEvents: [SeqNum] = []
  public var execSkipped: [String] = []
  public var skippedEquivalent = 0
  public var appliedEvents = 0
  public var head = SeqNum.root

  public var strategy: RebaseStrategy = .stop

  /// Nothing would stop and nothing would be dropped (conflicts kept by `theirs` do not
  /// stop a rebase).
  public var clean: Bool { stops.isEmpty && droppedEvents.isEmpty && (strategy != .stop || conflicts.isEmpty) }
}

extension Connection {
  /// `body` in a transaction of its own, or in a savepoint of the caller's transaction.
  func inTransaction<T>(_ body: () throws -> T) throws -> T {
    if isInTransaction { return try savepoint("lstore_step", body) }
    return try transaction(.immediate, body)
  }
}
