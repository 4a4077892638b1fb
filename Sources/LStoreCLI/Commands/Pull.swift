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
      their commits. It all happens in one transaction: if a pending event's materializer \
      fails on top of the pulled events, the pull stops, names the event, and the store is \
      unchanged (exit code 4); docs/sync.md explains how to resolve it.
      With --follow, stays connected and applies live updates until interrupted.
      """)

  @ParentCommand var root: LStoreCommand
  @OptionGroup var remote: RemoteOptions

  @Flag(name: .long, help: "Stay connected and apply live updates until interrupted (Ctrl-C).")
  var follow = false

  @Flag(name: .long, help: "Print the result as JSON.")
  var json = false

  func run() async throws {
    let global = root.global
    let progress = ProgressReporter(quiet: global.quiet)
    defer { progress.finish() }
    try await remote.withSyncClient(global, live: follow) { client in
      let result = try await client.pull(progress: progress.handler)
      progress.finish()
      report(result, remote: client.transport.description, global: global)
      if follow {
        global.note("Following \(client.transport.description); Ctrl-C to stop")
        global.stdout.flush()
        try await client.follow { result in
          report(result, remote: client.transport.description, global: global)
          global.stdout.flush()
        }
      }
    }
  }

  func report(_ result: PullIntegration.Result, remote: String, global: GlobalOptions) {
    if json {
      let value: JSONValue = [
        "pulled": .integer(Int64(result.pulled)), "confirmed": .integer(Int64(result.confirmed)),
        "rebased": .integer(Int64(result.rebased)), "head": .string(result.head.description),
        "backendHead": .string("e\(result.backendHead)"),
        "renumbered": .array(result.renumbered.map { .array([.string($0.0.description), .string($0.1.description)]) }),
      ]
      global.stdout.line(value.compactText)
      return
    }
    if result.pulled == 0 {
      global.stdout.line("Already up to date (backend head e\(result.backendHead), head \(result.head))")
      return
    }
    var line = "Pulled \(counted(result.pulled, "event")) from \(remote); head is \(result.head), backend head e\(result.backendHead)"
    if result.confirmed > 0 { line += "; \(result.confirmed) of ours confirmed" }
    if result.rebased > 0 { line += "; rebased \(counted(result.rebased, "pending event"))" }
    global.stdout.line(line)
  }
}
