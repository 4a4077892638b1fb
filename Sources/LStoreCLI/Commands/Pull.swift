import ArgumentParser
import Foundation
import LStoreKit
import LStoreRemote

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
      unchanged. To resolve it, fix the materializer (or the schema) and pull again, or drop \
      the event: export, remove its line and its commit line, and import into a fresh store.
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
    let store = try global.openStore()
    let (_, location, storeId) = try remote.resolve(in: store)
    let replica = try store.openReplica(schema: try store.loadSchema(), now: Clock.now())
    let transport = try await Transports.open(location: location, storeId: storeId, payload: try remote.payload(), now: Clock.now())
    let client = SyncClient(replica: replica, transport: transport)
    let progress = ProgressReporter(quiet: global.quiet)
    do {
      let result = try await client.pull(progress: progress.handler)
      progress.finish()
      report(result, transport: transport, global: global)
      if follow {
        global.note("Following \(transport.description); Ctrl-C to stop")
        try await client.follow { result in
          report(result, transport: transport, global: global)
          global.stdout.flush()
        }
      }
      await transport.close()
    } catch {
      progress.finish()
      await transport.close()
      throw error
    }
  }

  func report(_ result: PullIntegration.Result, transport: SyncTransport, global: GlobalOptions) {
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
    var line = "Pulled \(result.pulled) events from \(transport.description); head is \(result.head), backend head e\(result.backendHead)"
    if result.confirmed > 0 { line += "; \(result.confirmed) of ours confirmed" }
    if result.rebased > 0 { line += "; rebased \(result.rebased) pending events" }
    global.stdout.line(line)
  }
}
