import Foundation
import LStoreSQLite

/// One problem `fsck` found.
public struct FsckFinding: Sendable, Equatable {
  public enum Severity: String, Sendable { case error, warning }
  public var severity: Severity
  /// What the finding is about: `e5`, `commit 3f2a…`, `state`, `sync status`.
  public var subject: String
  public var message: String
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
    public var errors: Int { findings.filter { $0.severity == .error }.count }
  }

  /// Checks `eventlog` against `schema` (when given), and the state at `statePath` (when given).
  public static func check(eventlog: Eventlog, schema: Schema?, statePath: String?, eventlogPath: String,
                           options: Options = Options(), now: String, progress: ProgressHandler? = nil) throws -> Report {
    var report = Report()
    func add(_ severity: FsckFinding.Severity, _ subject: String, _ message: String) {
      if report.findings.count < 1000 { report.findings.append(FsckFinding(severity: severity, subject: subject, message: message)) }
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
        add(.error, seqNum.description, "breaks the chain: parent \(row.parentSeqNum) after \(previous) (expected \(expected) with parent \(previous.parentForNext(clientOnly: clientOnly)))")
      }
      if !clientOnly { lastSynced = seqNum.global }
      let argsText = row.argsJSON
      let args: JSONValue?
      do {
        args = try JSONParser.parse(row.argsUTF8)
      } catch {
        args = nil
        add(.error, seqNum.description, "argsJson is not valid JSON: \(error)")
      }
      if let metadata = try? JSONParser.parse(row.syncMetadataUTF8), metadata["_tag"] == "None" || metadata["_tag"] == "Some" {
      } else {
        add(.error, seqNum.description, "syncMetadataJson is not an Option ({\"_tag\":\"None\"} or {\"_tag\":\"Some\",…})")
      }
      if let schema {
        let name = row.name
        let definition = definitions[name] ?? schema.event(named: name)
        definitions[name] = definition
        if let definition {
          if definition.clientOnly != clientOnly {
            add(.error, seqNum.description, "\(name) is \(definition.clientOnly ? "client-only" : "synced") in the schema but numbered as \(clientOnly ? "client-only" : "synced")")
          }
          if let args {
            do {
              _ = try definition.args.normalize(args)
            } catch {
              add(.error, seqNum.description, "\(name) \(argsText) does not match the schema: \(error)")
            }
          }
        } else {
          add(.error, seqNum.description, "unknown event '\(name)' (not in \(schema.source))")
        }
      }
      previous = seqNum
      return true
    }
    let backendHead = try eventlog.backendHead()
    if backendHead > lastSynced {
      add(.error, "sync status", "the backend head e\(backendHead) is beyond the last synced event e\(lastSynced)")
    }
    // Commits: inside the eventlog, ordered, not overlapping.
    var lastCommitEnd = SeqNum.root
    var commitCount = 0
    try eventlog.forEachCommit { commit in
      commitCount += 1
      let subject = "commit \(commit.id.prefix(16))"
      if commit.first > commit.last { add(.error, subject, "its range \(commit.first)..\(commit.last) is reversed") }
      if commit.first <= lastCommitEnd && commitCount > 1 { add(.error, subject, "overlaps the previous commit") }
      if try eventlog.event(at: commit.first) == nil || eventlog.event(at: commit.last) == nil {
        add(.error, subject, "names events that are not in the eventlog (\(commit.first)..\(commit.last))")
      }
      lastCommitEnd = commit.last
      return true
    }
    // State: built through the head, with these materializers, changesets for pending events.
    if let schema, let statePath {
      let head = try eventlog.head()
      let status = try StateStatus.read(statePath: statePath, schema: schema)
      if let stateHead = status.head {
        if stateHead != head {
          add(.warning, "state", "materialized through \(stateHead), the eventlog is at \(head) (lstore materialize)")
        }
        if status.stale { add(.warning, "state", "built with other materializers than the schema's (rebuilt on the next commit)") }
        let connection = try Connection(path: statePath, mode: .readOnly)
        try eventlog.forEach(after: SeqNum.confirmedBoundary(backendHead: backendHead), through: stateHead) { row in
          if try !StateDatabase.changeset(connection, seqNum: row.seqNum).found {
            add(.error, row.seqNum.description, "pending but the state has no changeset for it: a rebase could not roll it back (lstore materialize)")
          }
          return true
        }
        if options.replay && stateHead == head && !status.stale {
          try compareWithReplay(eventlogPath: eventlogPath, statePath: statePath, schema: schema, now: now, add: add,
                                progress: progress)
        }
      } else {
        add(.warning, "state", "missing for this schema (built on the next commit or lstore materialize)")
      }
    }
    return report
  }

  /// Rebuilds state from scratch beside the real one and compares every user table.
  static func compareWithReplay(eventlogPath: String, statePath: String, schema: Schema, now: String,
                                add: (FsckFinding.Severity, String, String) -> Void, progress: ProgressHandler? = nil) throws {
    let scratch = NSTemporaryDirectory() + "lstore-fsck-\(UUID().uuidString).db"
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    do {
      _ = try Rematerializer.rebuild(eventlogPath: eventlogPath, statePath: scratch, schema: schema, updatedAt: now,
                                     progress: progress.map { report in { report(Progress(done: $0.done, total: $0.total, label: "replaying")) } })
    } catch {
      add(.error, "replay", "the eventlog does not replay with this schema: \(error)")
      return
    }
    let connection = try Connection(path: statePath, mode: .readOnly)
    try connection.attach(path: scratch, as: "replay")
    for table in schema.tables {
      let name = table.name.quotedIdentifier
      let missing = try connection.scalar("SELECT count(*) FROM (SELECT * FROM replay.\(name) EXCEPT SELECT * FROM main.\(name))")
      let extra = try connection.scalar("SELECT count(*) FROM (SELECT * FROM main.\(name) EXCEPT SELECT * FROM replay.\(name))")
      if missing != .integer(0) || extra != .integer(0) {
        add(.error, "table \(table.name)", "differs from a replay of the eventlog: \(missing?.description ?? "?") rows missing, \(extra?.description ?? "?") rows that should not be there")
      }
    }
  }
}
