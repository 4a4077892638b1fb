import Foundation
import LStoreSQLite

/// Works out a `RepairPlan` from what fsck finds, changing nothing: the events to
/// quarantine (fsck's per-event codes, plus the events whose materializer fails, found by
/// replaying a scratch copy), the renumbering that follows, the heads and commit records to
/// correct, and whether the state must be rebuilt.
public enum RepairPlanner {
  public static func plan(store: Store, schema: Schema, now: String) throws -> RepairPlan {
    let eventlog = try store.openEventlog(readOnly: true)
    let statePath = store.statePath(for: schema)
    let report = try Fsck.check(eventlog: eventlog, schema: schema, statePath: statePath, eventlogPath: store.eventlogPath,
                                options: .init(replay: true), now: now)
    var plan = RepairPlan()
    plan.findings = report.findings
    plan.omittedFindings = report.omitted
    let backendHead = try eventlog.backendHead()
    let boundary = SeqNum.confirmedBoundary(backendHead: backendHead)

    // 1. Poisoned events: fsck's codes, then the events whose materializer fails.
    let eventCodes: Set<FsckFinding.Code> = [.unknownEvent, .argsInvalidJSON, .argsSchema]
    for finding in report.findings where eventCodes.contains(finding.code) {
      guard let seqNum = SeqNum(finding.subject), !plan.poisoned.contains(where: { $0.seqNum == seqNum }) else { continue }
      plan.poisoned.append(PoisonedEvent(seqNum: seqNum, code: finding.code, reason: finding.message))
    }
    // fsck's replay already rebuilt the state once: only when it failed can a materializer be
    // at fault (or the events above, which the scratch replay leaves out).
    if report.findings.contains(where: { $0.code == .replayFails }) {
      plan.poisoned.append(contentsOf: try failingMaterializers(store: store, schema: schema, skipping: plan.quarantined, now: now))
    }
    plan.poisoned.sort { $0.seqNum < $1.seqNum }
    var actions: [RepairAction] = []
    for event in plan.poisoned {
      let commit = try eventlog.commit(containing: event.seqNum)
      let name = try eventlog.event(at: event.seqNum)?.name ?? "?"
      actions.append(RepairAction(
        kind: .quarantine, code: event.code, subject: event.seqNum.description,
        change: "moves \(event.seqNum) \(name) out of the eventlog into the quarantine file\(commit.map { " (it leaves commit \($0.id.prefix(8)))" } ?? "")",
        reason: event.reason, confirmed: !event.seqNum.isPending(backendHead: backendHead)))
    }
    let skipped = Set(plan.quarantined)
    // Sync metadata that is not an Option: a pending event's is None; a confirmed one's came
    // from the backend, which only the backend can say again.
    for finding in report.findings where finding.code == .syncMetadata {
      guard let seqNum = SeqNum(finding.subject), !skipped.contains(seqNum), seqNum.isPending(backendHead: backendHead) else { continue }
      plan.syncMetadataResets.append(seqNum)
      actions.append(RepairAction(kind: .resetSyncMetadata, code: .syncMetadata, subject: finding.subject,
                                  change: "sets the syncMetadataJson of \(seqNum) to {\"_tag\":\"None\"}",
                                  reason: "\(finding.message); a pending event has none"))
    }

    // 2. The chain: from the first kept event that does not follow the one before it, every
    // kept event is appended again by LiveStore's numbering rules.
    let chainFindings = Set(report.findings.filter { $0.code == .chainBroken }.map(\.subject))
    var previous = SeqNum.root
    var lastSyncedKept: Int64 = 0
    var renumberAfter: SeqNum?
    var head = SeqNum.root
    var previousRemoved: SeqNum?
    try eventlog.forEach { row in
      let record = row.record
      if skipped.contains(record.seqNum) {
        previousRemoved = record.seqNum
        return true
      }
      // Format 6 keys events by rebase generation too, so one position can hold two events
      // (a rebase stopped between writing a renumbered copy and deleting the original). What
      // moves events (the head move and its reflog, quarantine, rollback) finds them by
      // position, so it cannot move one copy without the other: repair says so and leaves
      // both, rather than plan a renumbering that would not take.
      if previous != .root, record.seqNum == previous {
        actions.append(RepairAction(
          kind: .cannotFix, code: .chainBroken, subject: record.seqNum.description, change: "nothing",
          reason: "repair cannot fix this: \(record.seqNum) is at the position of \(previous), in another rebase generation; lstore moves events by position (global, client), so it cannot move one without the other: keep one with sqlite3 (DELETE ... WHERE seqNumRebaseGeneration = \(record.seqNum.rebaseGeneration)) after a backup"))
        return true
      }
      let clientOnly = record.seqNum.isClientOnly
      if renumberAfter == nil,
         record.seqNum != previous.next(clientOnly: clientOnly) || record.parentSeqNum != previous.parentForNext(clientOnly: clientOnly) {
        renumberAfter = previous
        head = previous
      }
      if renumberAfter != nil {
        let moved = record.renumbered(after: head)
        if moved.seqNum != record.seqNum || moved.parentSeqNum != record.parentSeqNum {
          let broken = chainFindings.contains(record.seqNum.description)
          let why = broken
            ? "breaks the chain: parent \(record.parentSeqNum) after \(previous)"
            : previousRemoved.map { "follows the quarantined \($0)" } ?? "follows renumbered events"
          actions.append(RepairAction(
            kind: .renumber, code: broken ? .chainBroken : (plan.poisoned.first?.code ?? .chainBroken),
            subject: record.seqNum.description,
            change: "\(record.seqNum) (parent \(record.parentSeqNum)) becomes \(moved.seqNum) (parent \(moved.parentSeqNum)); its changeset and commit move with it",
            reason: why, confirmed: !record.seqNum.isPending(backendHead: backendHead)))
        }
        head = moved.seqNum
      }
      if !clientOnly && record.seqNum <= boundary { lastSyncedKept = record.seqNum.global }
      previous = record.seqNum
      previousRemoved = nil
      return true
    }
    // Chain findings at events that are kept as they are (the renumbering made them follow).
    plan.renumberAfter = actions.contains { $0.kind == .renumber } ? renumberAfter : nil
    if let after = plan.renumberAfter, after < boundary, try eventlog.count(after: after, through: boundary) > 0 {
      // Renumbering confirmed events: they become pending again, so the backend head drops to the base.
      plan.newBackendHead = after.global
    }

    // 3. The backend head: never beyond the last synced event.
    if report.findings.contains(where: { $0.code == .backendHeadAhead }) || plan.quarantined.contains(where: { !$0.isClientOnly && $0 <= boundary }) {
      let target = min(plan.newBackendHead ?? .max, lastSyncedKept)
      if target != backendHead {
        plan.newBackendHead = target
        // Lowering it below synced events makes them pending again: they are confirmed ones.
        let unconfirms = try eventlog.connection.scalar(
          "SELECT count(*) FROM eventlog WHERE seqNumClient = 0 AND seqNumGlobal > ? AND seqNumGlobal <= ?",
          [.integer(target), .integer(backendHead)]) != .integer(0)
        actions.append(RepairAction(
          kind: .resetBackendHead, code: report.findings.contains { $0.code == .backendHeadAhead } ? .backendHeadAhead : plan.poisoned[0].code,
          subject: "sync status", change: "sets __livestore_sync_status.head from e\(backendHead) to e\(target)",
          reason: "the backend head must be a synced event of this eventlog (the last one kept is e\(lastSyncedKept))",
          confirmed: unconfirms))
      }
    } else if let target = plan.newBackendHead, target != backendHead {
      actions.append(RepairAction(
        kind: .resetBackendHead, code: .chainBroken, subject: "sync status",
        change: "sets __livestore_sync_status.head from e\(backendHead) to e\(target)",
        reason: "the renumbered events after e\(target) are no longer what the backend confirmed", confirmed: true))
    }

    // 4. Commit records: inside the kept events, ordered, not overlapping.
    let commitCodes = Dictionary(report.findings.filter { [.commitReversed, .commitOverlap, .commitMissingEvents].contains($0.code) }
      .map { ($0.subject, $0.code) }, uniquingKeysWith: { first, _ in first })
    var lastKeptCommitEnd: SeqNum?
    try eventlog.forEachCommit { commit in
      let subject = "commit \(commit.id.prefix(16))"
      var range: ClosedRange<SeqNum>? = nil
      if commit.first <= commit.last {
        let from = max(commit.first, lastKeptCommitEnd.map { $0.next(clientOnly: true) } ?? commit.first)
        if from <= commit.last, let first = try keptEvent(eventlog, from: from, through: commit.last, skipping: skipped, order: .ascending),
           let last = try keptEvent(eventlog, from: from, through: commit.last, skipping: skipped, order: .descending) {
          range = first...last
        }
      }
      if range?.lowerBound == commit.first && range?.upperBound == commit.last {
        lastKeptCommitEnd = commit.last
        return true
      }
      let code = commitCodes[subject] ?? plan.poisoned.first?.code ?? .commitMissingEvents
      plan.commitFixes.append(CommitFix(id: commit.id, range: range))
      if let range {
        lastKeptCommitEnd = range.upperBound
        actions.append(RepairAction(kind: .trimCommit, code: code, subject: subject,
                                    change: "narrows commit \(commit.id.prefix(8)) from \(commit.first)..\(commit.last) to \(range.lowerBound)..\(range.upperBound) (its events stay)",
                                    reason: commitReason(code, commit)))
      } else {
        actions.append(RepairAction(kind: .dropCommit, code: code, subject: subject,
                                    change: "removes commit record \(commit.id.prefix(8)) '\(commit.message.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? "")' (its events, if any, stay uncommitted)",
                                    reason: commitReason(code, commit)))
      }
      return true
    }

    // 5. State: derived from the eventlog, so rebuilt when it is wrong or the eventlog changes.
    let stateCodes: Set<FsckFinding.Code> = [.stateDiffers, .stateStale, .stateBehind, .stateAhead, .stateMissing,
                                             .changesetMissing, .stateSchemaChanged, .replayFails]
    // Commit records do not reach the state; events and the backend head (which decides
    // what is pending, so which changesets are kept) do.
    let eventlogChanges = actions.contains { [.quarantine, .renumber, .resetBackendHead].contains($0.kind) }
    var stateActions: [RepairAction] = []
    for finding in report.findings where stateCodes.contains(finding.code) {
      // One action per kind of state problem: every missing changeset is cured by one rebuild.
      if finding.code != .stateDiffers && finding.code != .stateSchemaChanged, stateActions.contains(where: { $0.code == finding.code }) { continue }
      if finding.code == .replayFails && !plan.poisoned.isEmpty { continue }
      stateActions.append(RepairAction(
        kind: .rebuildState, code: finding.code, subject: finding.subject,
        change: "rebuilds \((statePath as NSString).lastPathComponent) from the eventlog with the current schema (the eventlog is kept; pending events get their changesets again)",
        reason: finding.message))
    }
    if stateActions.isEmpty && eventlogChanges {
      stateActions.append(RepairAction(
        kind: .rebuildState, code: actions.first { [.quarantine, .renumber, .resetBackendHead].contains($0.kind) }!.code, subject: "state",
        change: "rebuilds \((statePath as NSString).lastPathComponent) from the repaired eventlog",
        reason: "the state is derived from the eventlog, which the actions above change"))
    }
    plan.rebuildState = !stateActions.isEmpty
    actions.append(contentsOf: stateActions)

    // 6. What repair cannot fix.
    let fixable: Set<FsckFinding.Code> = eventCodes.union(stateCodes).union([.chainBroken, .backendHeadAhead, .commitReversed,
                                                                               .commitOverlap, .commitMissingEvents])
    for finding in report.findings where !fixable.contains(finding.code) {
      if finding.code == .syncMetadata, let seqNum = SeqNum(finding.subject),
         plan.syncMetadataResets.contains(seqNum) || skipped.contains(seqNum) { continue }
      actions.append(RepairAction(kind: .cannotFix, code: finding.code, subject: finding.subject, change: "nothing",
                                  reason: "repair cannot fix this: \(finding.message)"))
    }
    plan.actions = actions
    return plan
  }

  private static func commitReason(_ code: FsckFinding.Code, _ commit: Commit) -> String {
    switch code {
    case .commitReversed: return "its range \(commit.first)..\(commit.last) runs backwards"
    case .commitOverlap: return "it overlaps the previous commit"
    case .commitMissingEvents: return "it names events that are not in the eventlog (\(commit.first)..\(commit.last))"
    default: return "it would name a quarantined event"
    }
  }

  /// The first (or last) event of `from...through` that is kept.
  private static func keptEvent(_ eventlog: Eventlog, from: SeqNum, through: SeqNum, skipping: Set<SeqNum>,
                                order: Eventlog.Order) throws -> SeqNum? {
    var found: SeqNum?
    try eventlog.forEach(after: from.justBefore, through: through, order: order) { row in
      let seqNum = row.seqNum
      guard seqNum >= from, !skipping.contains(seqNum) else { return true }
      found = seqNum
      return false
    }
    return found
  }

  /// The events whose materializer fails, found by rebuilding a scratch state from a scratch
  /// copy of the eventlog (without the events already poisoned), removing each failing
  /// event from the copy and trying again, as often as events fail.
  static func failingMaterializers(store: Store, schema: Schema, skipping: [SeqNum], now: String) throws -> [PoisonedEvent] {
    let scratch = NSTemporaryDirectory() + "lstore-repair-plan-\(getpid())-\(Identifiers.nanoid(length: 8))"
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let eventlogCopy = scratch + "/" + store.format.eventlogFileName
    try FileSync.clone(store.eventlogPath, to: eventlogCopy)
    let connection = try Connection(path: eventlogCopy, mode: .readWrite)
    let delete = try connection.prepare("DELETE FROM eventlog WHERE seqNumGlobal = ? AND seqNumClient = ?")
    for seqNum in skipping { try delete.execute([.integer(seqNum.global), .integer(seqNum.client)]) }
    var failing: [PoisonedEvent] = []
    while true {
      do {
        _ = try Rematerializer.rebuild(eventlogPath: eventlogCopy, statePath: scratch + "/state.db", schema: schema, updatedAt: now)
        return failing
      } catch let error as MaterializeError {
        // An error without an event (a schema that cannot compile) is no event's fault.
        guard let seqNum = error.seqNum, !failing.contains(where: { $0.seqNum == seqNum }) else { throw error }
        failing.append(PoisonedEvent(seqNum: seqNum, code: .replayFails, reason: "its materializer fails: \(error.reason)"))
        try delete.execute([.integer(seqNum.global), .integer(seqNum.client)])
      }
    }
  }
}
