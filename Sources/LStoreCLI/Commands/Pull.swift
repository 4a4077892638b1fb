import ArgumentParser
import Foundation
import LStoreKit

struct PullCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pull",
    abstract: "Fetch events from a remote and rebase pending local events on top.",
    discussion: """
      Pages until caught up, then integrates by LiveStore's rules: pulled events that are \
      this store's own pending events confirm them; otherwise pending events are rolled back \
      with their changesets, the pulled events applied, and the pending events renumbered \
      after the new head (synced e<head+1>…, client-only e<g>+<c+1>) and re-applied, keeping \
      their commits. It all happens in one transaction. If a pending event's materializer \
      fails on top of the pulled events, the pulled events are kept and the replay stops \
      as a rebase (exit code 4): 'lstore status' shows it, 'lstore rebase --skip' drops the \
      failing commit (kept in the reflog), '--continue' retries it after a schema fix, and \
      '--abort' restores the store as it was before the pull (docs/version-control.md).
      With --follow, stays connected and applies live updates until interrupted (over \
      HTTP remotes it asks again every 2 seconds).
      A LiveStore 0.4 backend has an id, which a format-6 store keeps (see 'lstore status'). \
      When the backend answers with another id (it was reset or replaced), lstore stops with \
      exit code 2 and changes nothing, where LiveStore's own client would wipe its eventlog \
      and state. 'lstore pull --adopt-backend' then syncs with the new backend: every local \
      event is kept, those the old backend had confirmed become pending again (the state is \
      rebuilt so they can be rebased), the pull confirms the ones the new backend also has \
      and rebases the rest onto its events, and 'lstore push' sends them (docs/sync-client.md).
      Another store used as a remote is checked the same way: when it rewrote the events \
      this store confirmed from it (it rebased what it took from a push when it pulled from \
      its own remote), pull and push stop with exit code 2, and '--adopt-backend' takes its \
      history, leaving out the pending events it already holds under other numbers.
      """)

  @ParentCommand var root: LStoreCommand
  @OptionGroup var remote: RemoteOptions

  @Flag(name: .long, help: "Stay connected and apply live updates until interrupted (Ctrl-C).")
  var follow = false

  @Flag(name: .customLong("adopt-backend"), help: ArgumentHelp(
    "Sync with a backend whose id differs from the one this store knows (it was reset or replaced), or a store used as a remote that rewrote its history: keeps every event, makes them pending again (on a branch other than main: forgets what the branch's remote store held, so the next push sends the branch whole), then pulls."))
  var adoptBackend = false

  @Flag(name: .long, help: "Print the result as JSON.")
  var json = false

  /// `git pull --rebase` is what a pull always does here (LiveStore's rule: pending events
  /// are rebased onto the pulled ones), so a git user's habit is accepted as it is.
  @Flag(name: .long, help: ArgumentHelp("Accepted for git users: a pull always rebases pending events.", visibility: .hidden))
  var rebase = false

  func run() async throws {
    let global = root.global
    let progress = ProgressReporter(quiet: global.quiet)
    defer { progress.finish() }
    try await remote.withSyncClient(global, live: follow, adoptBackend: adoptBackend) { client in
      let result = try await client.pull(progress: progress.handler)
      progress.finish()
      report(result, remote: client.transport.description, global: global)
      // Records first: the pulled events are kept even when the replay stopped.
      if let records = try await client.exchangeRecords(), records.received > 0 {
        global.note("Received \(counted(records.received, "commit record"))")
      }
      try stopIfStopped(result, global: global)
      if follow {
        global.note("Following \(client.transport.description); Ctrl-C to stop")
        global.stdout.flush()
        try await client.follow { result in
          report(result, remote: client.transport.description, global: global)
          global.stdout.flush()
          try stopIfStopped(result, global: global)
        }
      }
    }
  }

  /// A pending event that fails on top of the pulled ones leaves the pull in place and a
  /// rebase in progress: say what stopped and how to go on (exit 4).
  func stopIfStopped(_ result: PullIntegration.Result, global: GlobalOptions) throws {
    guard let stop = result.stopped else { return }
    if !json { for line in RebaseOutput.conflictLines(stop.conflicts, ontoLabel: nil) { global.stdout.line(line) } }
    global.stdout.flush()
    throw InputError(status: .conflict, message: "pull stopped replaying pending events: \(stop.message); \(RebaseOutput.hint(for: stop)) to before the pull")
  }

  func report(_ result: PullIntegration.Result, remote: String, global: GlobalOptions) {
    if json {
      let counts: JSONValue = [
        "pulled": .integer(Int64(result.pulled)), "confirmed": .integer(Int64(result.confirmed)),
        "rebased": .integer(Int64(result.rebased)), "alreadyOnRemote": .integer(Int64(result.alreadyOnRemote)),
        "head": .string(result.head.description),
        "backendHead": .string("e\(result.backendHead)"),
      ]
      // The renumbered pairs are written as they are read, not made into one JSONValue: a
      // pull into 1,000,000 pending events has a million of them, which as a tree took
      // more than 100 MB. (Sequence numbers are written without characters to escape.)
      var opening = counts.compactText
      opening.removeLast()
      global.stdout.write(opening + #","renumbered":["#)
      var separator = ""
      for (original, new) in result.renumbered {
        global.stdout.write(#"\#(separator)["\#(original)","\#(new)"]"#)
        separator = ","
      }
      global.stdout.line(#"],"stopped":"# + (result.stopped.map(RebaseOutput.stopJSON) ?? .null).compactText + "}")
      return
    }
    if result.pulled == 0 {
      global.stdout.line("Already up to date (backend head e\(result.backendHead), head \(result.head))")
      return
    }
    var line = "Pulled \(counted(result.pulled, "event")) from \(remote); head is \(result.head), backend head e\(result.backendHead)"
    if result.confirmed > 0 { line += "; \(result.confirmed) of ours confirmed" }
    if let stop = result.stopped {
      // The pulled events are kept; the replay of ours is what stopped (told next).
      line += "; replaying pending events stopped at step \(stop.step + 1)"
    } else if result.rebased > 0 {
      line += "; rebased \(counted(result.rebased, "pending event"))"
    }
    if result.alreadyOnRemote > 0 {
      line += "; \(counted(result.alreadyOnRemote, "pending event")) left out: the remote holds \(result.alreadyOnRemote == 1 ? "it" : "them") already"
    }
    global.stdout.line(line)
  }
}
