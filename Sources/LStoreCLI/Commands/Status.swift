import ArgumentParser
import Foundation
import LStoreKit
import LStoreSQLite

struct StatusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Show the branch, heads, pending events, state and schema.")

  @ParentCommand var root: LStoreCommand

  @Flag(name: .long, help: "Print one JSON object (see docs/output-formats.md).")
  var json = false

  func run() throws {
    let global = root.global
    let (eventlog, store) = try global.openEventlogForReading()
    let head = try eventlog.head()
    let backendHead = try eventlog.backendHead()
    let pending = try eventlog.pendingCount()
    let clientOnly = try eventlog.clientOnlyCount()
    let events = try eventlog.count()
    let commits = try eventlog.commitCount()
    var object = JSONObject()
    object["eventlog"] = .string(store?.eventlogPath ?? eventlog.path)
    if let store {
      object["storeId"] = .string(store.config.storeId)
      object["branch"] = .string(store.branch)
      object["clientId"] = .string(store.config.clientId)
      object["sessionId"] = .string(store.config.sessionId)
      if let name = store.config.defaultRemote, let remote = store.config.remotes?[name] {
        object["remote"] = ["name": .string(name), "url": .string(remote.url),
                            "storeId": .string(remote.storeId ?? store.config.storeId),
                            "protocol": remote.protocol.map { .string($0.rawValue) } ?? .null]
      }
    }
    object["format"] = .integer(Int64(eventlog.format.rawValue))
    let backendId = try eventlog.backendId()
    if let backendId { object["backendId"] = .string(backendId) }
    object["head"] = .string(head.description)
    object["backendHead"] = .string(SeqNum(global: backendHead).description)
    object["events"] = .integer(Int64(events))
    object["commits"] = .integer(Int64(commits))
    object["pending"] = .integer(Int64(pending.synced))
    object["pendingClientOnly"] = .integer(Int64(pending.clientOnly))
    object["clientOnly"] = .integer(Int64(clientOnly))
    var stateLine = "not checked (no schema)"
    var schemaLine: String? = nil
    if let store {
      object["schema"] = .string(store.config.schema)
      do {
        let schema = try store.loadSchema()
        let statePath = store.statePath(for: schema)
        object["schemaHash"] = .integer(schema.stateHash(store.format))
        schemaLine = "\(store.config.schema) (state hash \(schema.stateHash(store.format)))"
        object["state"] = .string((statePath as NSString).lastPathComponent)
        do {
          let state = try StateStatus.read(statePath: statePath, schema: schema)
          object["stateHead"] = state.head.map { .string($0.description) } ?? .null
          object["stateCurrent"] = .bool(state.head == head && !state.stale)
          stateLine = (statePath as NSString).lastPathComponent + ": " + {
            guard let stateHead = state.head else { return "missing (rebuilt on the next commit or materialize)" }
            if state.stale { return "built with other materializers (rebuilt on the next commit or materialize)" }
            if stateHead == head { return "materialized through \(stateHead)" }
            return "materialized through \(stateHead), behind the eventlog (run lstore materialize)"
          }()
        } catch let error as SQLiteError where error.isDamagedFile {
          // The state file, not the schema: it is derived, and a rebuild replaces it.
          object["stateHead"] = .null
          object["stateCurrent"] = false
          object["stateError"] = .string(error.message)
          stateLine = (statePath as NSString).lastPathComponent + ": damaged (\(error.message)); lstore materialize rebuilds it"
        }
      } catch {
        object["schemaError"] = .string("\(error)")
        schemaLine = "\(store.config.schema): \(error)"
      }
    }
    // A branch other than main syncs with a remote store of its own.
    let upstream = try store.flatMap { try BranchUpstream.of(eventlog, branch: $0.branch) }
    if let store, let upstream {
      object["upstream"] = ["branch": .string(upstream.name), "storeId": .string(upstream.storeId(for: store.config.storeId)),
                            "publishedHead": .string(SeqNum(global: try upstream.publishedHead(eventlog)).description)]
    }
    let rebase = store == nil ? nil : try Rebase.loadState(eventlog)
    if let rebase {
      object["rebase"] = [
        // `onto` is for people (a branch as given, "the pulled events (e5)"); `ontoHead` is
        // the event the replay goes on top of, for scripts.
        "kind": .string(rebase.kind.rawValue), "onto": .string(rebase.ontoLabel), "ontoHead": .string(rebase.ontoHead.description),
        "step": .integer(Int64(min(rebase.next, rebase.stepCount))), "steps": .integer(Int64(rebase.stepCount)),
        "originalHead": .string(rebase.originalHead.description),
        "stop": rebase.stop.map(RebaseOutput.stopJSON) ?? .null,
      ]
    }
    if json {
      global.stdout.line(JSONValue.object(object).compactText)
      return
    }
    let out = global.stdout
    let style = global.style
    if let store {
      out.line("On branch \(style.bold(store.branch)) of store '\(store.config.storeId)' (client \(store.config.clientId), session \(store.config.sessionId))")
    } else {
      out.line("Eventlog file \(eventlog.path) (read-only)")
    }
    out.line("Head:         \(style.yellow(head.description)) (\(counted(events, "event")), \(counted(commits, "commit")))")
    // Client-only events are never pushed: all of them are counted, wherever they are.
    out.line("Backend head: \(SeqNum(global: backendHead)) — \(pending.synced) pending to push; \(counted(clientOnly, "client-only event")) (never pushed)")
    if let backendId { out.line("Backend id:   \(backendId)") }
    out.line("Format:       \(eventlog.format)")
    if let store {
      if let name = store.config.defaultRemote, let remote = store.config.remotes?[name] {
        out.line("Remote:       \(name) \(remote.url)\(remote.storeId.map { " (store \($0))" } ?? "") — \(RemoteLocation.protocolLabel(remote))")
      } else {
        out.line("Remote:       none (lstore remote add origin ws://127.0.0.1:8787)")
      }
      if let upstream {
        let published = try upstream.publishedHead(eventlog)
        out.line("Upstream:     branch '\(upstream.name)' on the remote (store \(upstream.storeId(for: store.config.storeId))), "
                 + (published == 0 ? "not pushed yet" : "holding e1..e\(published)"))
      }
      out.line("State:        \(stateLine)")
    }
    if let schemaLine { out.line("Schema:       \(schemaLine)") }
    if let rebase {
      let what = switch rebase.kind {
      case .pull: "A pull stopped while rebasing pending events"
      case .revert: "Revert in progress: replaying"
      case .rebase: "Rebase in progress"
      }
      out.line("")
      out.line(style.bold("\(what) onto \(rebase.ontoLabel)") + " (was at \(rebase.originalHead)): \(rebase.stop.map { "stopped at step \($0.step + 1)" } ?? "\(min(rebase.next, rebase.stepCount)) steps done") of \(rebase.stepCount)")
      if let stop = rebase.stop {
        out.line("  stopped: \(stop.message)")
        for line in RebaseOutput.conflictLines(stop.conflicts, ontoLabel: rebase.ontoLabel) { out.line(line) }
        out.line("  \(RebaseOutput.hint(for: stop))")
      } else {
        out.line("  interrupted between steps: 'lstore rebase --continue' goes on, '--abort' restores the branch")
      }
    }
  }
}
