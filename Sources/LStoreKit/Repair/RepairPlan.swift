/// What `lstore repair` will do, worked out (by `RepairPlanner`) before anything changes:
/// one action per problem fsck found, each with the finding code it fixes, what it changes
/// and why. The same value is printed by `--dry-run` and carried out by `Repair.apply`.
public struct RepairAction: Sendable, Equatable {
  public enum Kind: String, Sendable, CaseIterable {
    /// Move a poisoned event out of the eventlog into the quarantine file.
    case quarantine
    /// Give a pending event the number and parent LiveStore's rules give it after the event
    /// before it.
    case renumber
    /// Give a pending event the sync metadata LiveStore gives pending events, `{"_tag":"None"}`.
    case resetSyncMetadata = "reset-sync-metadata"
    /// Lower `__livestore_sync_status.head` to the last synced event.
    case resetBackendHead = "reset-backend-head"
    /// Remove an lstore commit record (its events stay).
    case dropCommit = "drop-commit"
    /// Narrow an lstore commit record to events it really holds.
    case trimCommit = "trim-commit"
    /// Rebuild the state from the eventlog with the current schema (the eventlog is kept).
    case rebuildState = "rebuild-state"
    /// A finding repair cannot fix; it stays after the repair.
    case cannotFix = "cannot-fix"
  }

  public var kind: Kind
  /// The fsck finding code this action fixes.
  public var code: FsckFinding.Code
  /// What it is about, as fsck names it: `e5`, `commit 3f2a…`, `sync status`, `state`.
  public var subject: String
  public var change: String
  public var reason: String
  /// It rewrites or removes events the backend has confirmed: only with `--force`.
  public var confirmed: Bool

  public init(kind: Kind, code: FsckFinding.Code, subject: String, change: String, reason: String, confirmed: Bool = false) {
    self.kind = kind
    self.code = code
    self.subject = subject
    self.change = change
    self.reason = reason
    self.confirmed = confirmed
  }

  /// The action as one NDJSON line of `repair --json` (docs/repair.md).
  public var json: JSONValue {
    ["action": .string(kind.rawValue), "code": .string(code.rawValue), "subject": .string(subject),
     "change": .string(change), "reason": .string(reason), "confirmed": .bool(confirmed)]
  }
}

/// A commit record's repair: removed, or narrowed to `first...last`.
struct CommitFix: Sendable, Equatable {
  var id: String
  var range: ClosedRange<SeqNum>?
}

/// A poisoned event and why it is quarantined.
struct PoisonedEvent: Sendable, Equatable {
  var seqNum: SeqNum
  var code: FsckFinding.Code
  var reason: String
}

public struct RepairPlan: Sendable {
  /// Everything the repair does, in the order it does it, then the findings it cannot fix.
  public var actions: [RepairAction] = []
  /// The fsck findings the plan was made from.
  public var findings: [FsckFinding] = []
  /// Findings fsck could not list (past its first 1000): a second repair handles them.
  public var omittedFindings = 0

  var poisoned: [PoisonedEvent] = []
  /// The last event kept as it is: every kept event after it is appended again, renumbered.
  var renumberAfter: SeqNum?
  var newBackendHead: Int64?
  /// Pending events whose `syncMetadataJson` is not an Option.
  var syncMetadataResets: [SeqNum] = []
  var commitFixes: [CommitFix] = []
  var rebuildState = false

  /// Some action rewrites events the backend confirmed.
  public var needsForce: Bool { actions.contains { $0.confirmed } }
  /// Actions that change files (not `cannot-fix`).
  public var changes: [RepairAction] { actions.filter { $0.kind != .cannotFix } }
  public var isEmpty: Bool { changes.isEmpty }
  /// The sequence numbers of the events the plan quarantines.
  public var quarantined: [SeqNum] { poisoned.map(\.seqNum) }
}
