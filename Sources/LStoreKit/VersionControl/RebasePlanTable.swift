import Foundation
import LStoreSQLite

/// What a rebase replays, in order, as its caller names it.
public enum RebaseSteps: Sendable {
  /// Every history unit after the merge base, picked, oldest first: the default plan (and
  /// a revert's, which leaves out `droppingCommit`). Written to the plan table straight
  /// from the history walk, so no plan is held however many commits the branch has.
  case pickEvery(droppingCommit: String? = nil)
  /// The steps of a plan the user wrote or edited (`rebase -i`, `--plan`).
  case listed([RebaseStep])
}

/// The plan of a rebase in progress, one step per row of `lstore_rebase_step` in the
/// branch's eventlog: written once at the start, in the start's transaction, and read back
/// one step at a time as the rebase runs, so its memory does not grow with the plan.
struct RebasePlanTable {
  static let name = "lstore_rebase_step"
  /// Where lstore before the plan table kept the plan: one JSON array in `lstore_meta`.
  /// Still read (held in memory, as it was then), so a rebase stopped by an older lstore
  /// goes on.
  static let legacyMetaKey = "rebase-plan"

  private enum Backing {
    case table
    case legacy([RebaseStep])
  }

  let eventlog: Eventlog
  private let backing: Backing
  /// The number of steps.
  let count: Int

  private var qualifiedName: String { "\(eventlog.schemaName.quotedIdentifier).\(Self.name)" }

  /// The plan saved on `eventlog`, or an empty plan when none is.
  init(reading eventlog: Eventlog) throws {
    self.eventlog = eventlog
    if try eventlog.connection.tableExists(Self.name, schema: eventlog.schemaName) {
      backing = .table
      count = Int(try eventlog.connection.cached("SELECT count(*) FROM \(eventlog.schemaName.quotedIdentifier).\(Self.name)")
        .first { $0.int64(0) } ?? 0)
    } else if let text = try eventlog.meta(Self.legacyMetaKey) {
      let steps = try JSONDecoder().decode([RebaseStep].self, from: Data(text.utf8))
      backing = .legacy(steps)
      count = steps.count
    } else {
      backing = .legacy([])
      count = 0
    }
  }

  /// Step `index` (0-based, below `count`).
  func step(at index: Int) throws -> RebaseStep {
    switch backing {
    case .legacy(let steps):
      guard steps.indices.contains(index) else { throw RebaseError.invalidState("the plan has no step \(index + 1)") }
      return steps[index]
    case .table:
      let text = try eventlog.connection.cached("SELECT step FROM \(qualifiedName) WHERE idx = ?")
        .first([.integer(Int64(index))]) { $0.string(0) }
      guard let text else { throw RebaseError.invalidState("the plan has no step \(index + 1)") }
      return try JSONDecoder().decode(RebaseStep.self, from: Data(text.utf8))
    }
  }

  /// Replaces any saved plan with an empty table that `Writer` fills.
  static func create(on eventlog: Eventlog) throws -> Writer {
    try drop(on: eventlog)
    let table = "\(eventlog.schemaName.quotedIdentifier).\(name)"
    try eventlog.connection.execute("CREATE TABLE \(table) (idx INTEGER PRIMARY KEY, step TEXT NOT NULL) STRICT")
    return Writer(insert: try eventlog.connection.prepare("INSERT INTO \(table) (idx, step) VALUES (?, ?)"))
  }

  static func drop(on eventlog: Eventlog) throws {
    try eventlog.connection.execute("DROP TABLE IF EXISTS \(eventlog.schemaName.quotedIdentifier).\(name)")
  }

  /// Appends steps to a plan table, in order.
  final class Writer {
    private let insert: Statement
    private let encoder = JSONEncoder()
    private(set) var count = 0

    fileprivate init(insert: Statement) { self.insert = insert }

    func append(_ step: RebaseStep) throws {
      try insert.execute([.integer(Int64(count)), .text(String(decoding: try encoder.encode(step), as: UTF8.self))])
      count += 1
    }

    /// Writes `steps`: a listed plan as it is, or the default plan from the history walk
    /// after `base` (which must run before the start moves the head back to it).
    func write(_ steps: RebaseSteps, after base: SeqNum, of eventlog: Eventlog) throws {
      switch steps {
      case .listed(let steps):
        for step in steps { try append(step) }
      case .pickEvery(let dropped):
        try eventlog.forEachUnit(after: base, order: .ascending) { unit in
          if dropped == nil || unit.commit?.id != dropped { try append(.pick(unit)) }
          return true
        }
      }
    }
  }
}
