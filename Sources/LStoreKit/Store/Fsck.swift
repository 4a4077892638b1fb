import Foundation
import LStoreSQLite

/// One problem `fsck` found.
public struct FsckFinding: Sendable, Equatable {
  public enum Severity: String, Sendable { case error, warning }

  /// What kind of problem it is. The raw values are stable: scripts and CI match on them, and
  /// docs/fsck.md lists them; a new kind gets a new code, an existing code never changes meaning.
  public enum Code: String, Sendable, CaseIterable {
    case chainBroken = "chain-broken"
    case argsInvalidJSON = "args-invalid-json"
    case syncMetadata = "sync-metadata"
    case clientOnlyMismatch = "client-only-mismatch"
    case argsSchema = "args-schema"
    case unknownEvent = "unknown-event"
    case backendHeadAhead = "backend-head-ahead"
    case commitReversed = "commit-reversed"
    case commitOverlap = "commit-overlap"
    case commitMissingEvents = "commit-missing-events"
    case stateBehind = "state-behind"
    case stateAhead = "state-ahead"
    case stateStale = "state-stale"
    case stateMissing = "state-missing"
    case changesetMissing = "changeset-missing"
    case replayFails = "replay-fails"
    case stateDiffers = "state-differs"
    /// The state's tables were created from another schema's tables (LiveStore #1552).
    case stateSchemaChanged = "state-schema-changed"
    /// The eventlog file is not a database, or SQLite's structure check finds damage.
    case eventlogDamaged = "eventlog-damaged"
    /// The same for the state file (derived: a rebuild replaces it).
    case stateDamaged = "state-damaged"
  }

  public var code: Code
  public var severity: Severity
  /// What the finding is about: `e5`, `commit 3f2a…`, `state`, `sync status`.
  public var subject: String
  public var message: String
  /// For `state-differs`: the table, and the primary key (or, without one, the whole row as
  /// JSON) of the first row that differs.
  public var table: String?
  public var key: String?

  public init(code: Code, severity: Severity, subject: String, message: String, table: String? = nil, key: String? = nil) {
    self.code = code
    self.severity = severity
    self.subject = subject
    self.message = message
    self.table = table
    self.key = key
  }
}

/// Checks an eventlog (and, for a store, its state and commits) the way `git fsck` checks a
/// repository: nothing is changed, every problem is reported.
public enum Fsck {
  public struct Options: Sendable {
    /// Rebuild the state into a scratch file and compare every table with the store's state.
    public var replay = false
    public init(replay: Bool = false) { self.replay = replay }
  }

  public struct Report: Sendable {
    public var events = 0
    public var findings: [FsckFinding] = []
    /// Findings past the first 1000 are counted, not kept: a badly damaged log must not fill memory.
    public var omitted = 0
    public var errors = 0
    public var warnings = 0
  }

  /// Checks `eventlog` against `schema` (when given), and the state at `statePath` (when given).
  public static func check(eventlog: Eventlog, schema: Schema?, statePath: String?, eventlogPath: String,
                           options: Options = Options(), now: String, progress: ProgressHandler? = nil) throws -> Report {
    var report = Report()
    func add(_ finding: FsckFinding) {
      if finding.severity == .error { report.errors += 1 } else { report.warnings += 1 }
      if report.findings.count < 1000 { report.findings.append(finding) } else { report.omitted += 1 }
    }
    func add(_ code: FsckFinding.Code, _ severity: FsckFinding.Severity, _ subject: String, _ message: String) {
      add(FsckFinding(code: code, severity: severity, subject: subject, message: message))
    }
    // Damaged pages first: every check below reads them, and would stop at the first one
    // with SQLite's words and no file named.
    if let damage = damage(of: eventlog.connection) {
      add(.eventlogDamaged, .error, "eventlog", damagedEventlogMessage(path: eventlogPath, reason: damage))
      return report
    }
    var statePath = statePath
    if let path = statePath, FileManager.default.fileExists(atPath: path),
       let damage = damage(of: try? Connection(path: path, mode: .readOnly))
    {
      add(.stateDamaged, .error, "state", "the state file \(path) is damaged (\(damage)): it is derived from the eventlog; 'lstore materialize' rebuilds it")
      statePath = nil
    }
    // The chain, the args, the sync metadata.
    var previous = SeqNum.root
    var lastSynced: Int64 = 0
    var definitions: [String: EventDefinition] = [:]
    let total = progress == nil ? nil : try eventlog.count()
    try eventlog.forEach { row in
      let seqNum = row.seqNum
      report.events += 1
      if let progress, report.events % 5_000 == 0 { progress(Progress(done: report.events, total: total, label: "checking")) }
      let clientOnly = seqNum.isClientOnly
      let expected = previous.next(clientOnly: clientOnly)
      if seqNum != expected || row.parentSeqNum != previous.parentForNext(clientOnly: clientOnly) {
        add(.chainBroken, .error, seqNum.description, "breaks the chain: parent \(row.parentSeqNum) after \(previous) (expected \(expected) with parent \(previous.parentForNext(clientOnly: clientOnly)))")
      }
      if !clientOnly { lastSynced = seqNum.global }
      let argsText = row.argsJSON
      let args: JSONValue?
      do {
        args = try JSONParser.parse(row.argsUTF8)
      } catch {
        args = nil
        add(.argsInvalidJSON, .error, seqNum.description, "argsJson is not valid JSON: \(error)")
      }
      if let metadata = try? JSONParser.parse(row.syncMetadataUTF8), metadata["_tag"] == "None" || metadata["_tag"] == "Some" {
      } else {
        add(.syncMetadata, .error, seqNum.description, "syncMetadataJson is not an Option ({\"_tag\":\"None\"} or {\"_tag\":\"Some\",…})")
      }
      if let schema {
        let name = row.name
        let definition = definitions[name] ?? schema.event(named: name)
        definitions[name] = definition
        if let definition {
          if definition.clientOnly != clientOnly {
            add(.clientOnlyMismatch, .error, seqNum.description, "\(name) is \(definition.clientOnly ? "client-only" : "synced") in the schema but numbered as \(clientOnly ? "client-only" : "synced")")
          }
          if let args {
            do {
              _ = try definition.args.normalize(args)
            } catch {
              add(.argsSchema, .error, seqNum.description, "\(name) \(argsText) does not match the schema: \(error)")
            }
          }
        } else {
          add(.unknownEvent, .error, seqNum.description, "unknown event '\(name)' (not in \(schema.source))")
        }
      }
      previous = seqNum
      return true
    }
    let backendHead = try eventlog.backendHead()
    if backendHead > lastSynced {
      add(.backendHeadAhead, .error, "sync status", "the backend head e\(backendHead) is beyond the last synced event e\(lastSynced)")
    }
    // Commits: inside the eventlog, ordered, not overlapping.
    var lastCommitEnd = SeqNum.root
    var commitCount = 0
    try eventlog.forEachCommit { commit in
      commitCount += 1
      let subject = "commit \(commit.id.prefix(16))"
      if commit.first > commit.last { add(.commitReversed, .error, subject, "its range \(commit.first)..\(commit.last) is reversed") }
      if commit.first <= lastCommitEnd && commitCount > 1 { add(.commitOverlap, .error, subject, "overlaps the previous commit") }
      if try eventlog.event(at: commit.first) == nil || eventlog.event(at: commit.last) == nil {
        add(.commitMissingEvents, .error, subject, "names events that are not in the eventlog (\(commit.first)..\(commit.last))")
      }
      lastCommitEnd = commit.last
      return true
    }
    // State: built through the head, with these materializers, changesets for pending events.
    var replayed = false
    if let schema, let statePath {
      let head = try eventlog.head()
      let status = try StateStatus.read(statePath: statePath, schema: schema)
      if let stateHead = status.head {
        // Tables created by another schema (LiveStore #1552): a table comparison would only
        // fail on the columns, so it is skipped; a rebuild from the eventlog cures it.
        let changedTables = try StateDatabase.tablesNotMatching(statePath: statePath, schema: schema)
        if let first = changedTables.first {
          add(FsckFinding(code: .stateSchemaChanged, severity: .error, subject: "state",
                          message: "its tables were created from another schema than this one (\(changedTables.joined(separator: ", "))): rebuild it from the eventlog (lstore repair)",
                          table: first))
        }
        if stateHead != head {
          add(stateHead < head ? .stateBehind : .stateAhead, .warning, "state",
              "materialized through \(stateHead), the eventlog is at \(head) (lstore materialize)")
        }
        if status.stale { add(.stateStale, .warning, "state", "built with other materializers than the schema's (rebuilt on the next commit)") }
        let connection = try Connection(path: statePath, mode: .readOnly)
        try eventlog.forEach(after: SeqNum.confirmedBoundary(backendHead: backendHead), through: stateHead) { row in
          if try !StateDatabase.changeset(connection, seqNum: row.seqNum).found {
            add(.changesetMissing, .error, row.seqNum.description, "pending but the state has no changeset for it: a rebase could not roll it back (lstore materialize)")
          }
          return true
        }
        if options.replay && stateHead == head && !status.stale && changedTables.isEmpty {
          try compareWithReplay(eventlogPath: eventlogPath, statePath: statePath, schema: schema, now: now, add: add,
                                progress: progress)
          replayed = true
        }
      } else {
        add(.stateMissing, .warning, "state", "missing for this schema (built on the next commit or lstore materialize)")
      }
    }
    // A state that cannot be compared (missing, behind, stale) still tells whether the
    // eventlog replays at all.
    if options.replay, !replayed, let schema {
      try compareWithReplay(eventlogPath: eventlogPath, statePath: nil, schema: schema, now: now, add: add, progress: progress)
    }
    return report
  }

  /// A report for an eventlog that cannot even be opened as one (not a database).
  public static func damagedEventlog(path: String, reason: String) -> Report {
    var report = Report()
    report.errors = 1
    report.findings = [FsckFinding(code: .eventlogDamaged, severity: .error, subject: "eventlog",
                                   message: damagedEventlogMessage(path: path, reason: reason))]
    return report
  }

  static func damagedEventlogMessage(path: String, reason: String) -> String {
    StoreError.damagedEventlog(path: path, reason: reason).description
  }

  /// What SQLite's structure check (`PRAGMA quick_check`: every page and b-tree, not index
  /// contents) finds wrong with a database, or nil when nothing (or it cannot be opened).
  static func damage(of connection: Connection?) -> String? {
    guard let connection else { return nil }
    do {
      var problems: [String] = []
      try connection.prepare("PRAGMA quick_check(3)").forEachRow { problems.append($0.string(0)) }
      return problems == ["ok"] ? nil : problems.joined(separator: "; ")
    } catch let error as SQLiteError where error.isDamagedFile {
      return error.message
    } catch {
      return nil
    }
  }

  /// Rebuilds state from scratch beside the real one and compares every user table (with
  /// no `statePath`, only reports whether the rebuild fails).
  static func compareWithReplay(eventlogPath: String, statePath: String?, schema: Schema, now: String,
                                add: (FsckFinding) -> Void, progress: ProgressHandler? = nil) throws {
    let scratch = NSTemporaryDirectory() + "lstore-fsck-\(UUID().uuidString).db"
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    do {
      _ = try Rematerializer.rebuild(eventlogPath: eventlogPath, statePath: scratch, schema: schema, updatedAt: now,
                                     progress: progress.map { report in { report(Progress(done: $0.done, total: $0.total, label: "replaying")) } })
    } catch {
      add(FsckFinding(code: .replayFails, severity: .error, subject: "replay", message: "the eventlog does not replay with this schema: \(error)"))
      return
    }
    guard let statePath else { return }
    let connection = try Connection(path: statePath, mode: .readOnly)
    try connection.attach(path: scratch, as: "replay")
    for table in schema.tables {
      let name = table.name.quotedIdentifier
      let missingSQL = "SELECT * FROM replay.\(name) EXCEPT SELECT * FROM main.\(name)"
      let extraSQL = "SELECT * FROM main.\(name) EXCEPT SELECT * FROM replay.\(name)"
      let missing = try connection.scalar("SELECT count(*) FROM (\(missingSQL))")
      let extra = try connection.scalar("SELECT count(*) FROM (\(extraSQL))")
      if missing != .integer(0) || extra != .integer(0) {
        // The first differing row, by key, so the user knows where to look.
        let keyColumns = table.columns.filter(\.primaryKey).map(\.name)
        let firstSQL = missing != .integer(0) ? missingSQL : extraSQL
        var key: String?
        try connection.prepare("SELECT * FROM (\(firstSQL)) LIMIT 1").forEachRow { row in
          var object: [(key: String, value: JSONValue)] = []
          var single: String?
          for index in 0..<row.columnCount {
            let column = row.columnName(index)
            if keyColumns.isEmpty || keyColumns.contains(column) {
              object.append((column, row.value(index).jsonValue))
              single = row.value(index).description
            }
          }
          key = object.count == 1 && !keyColumns.isEmpty ? single : JSONValue.object(JSONObject(object)).compactText
        }
        add(FsckFinding(
          code: .stateDiffers, severity: .error, subject: "table \(table.name)",
          message: "differs from a replay of the eventlog: \(missing?.description ?? "?") rows missing, \(extra?.description ?? "?") rows that should not be there\(key.map { "; first at key \($0)" } ?? "")",
          table: table.name, key: key))
      }
    }

  }
}
