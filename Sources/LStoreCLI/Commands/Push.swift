import ArgumentParser
import Foundation
import LStoreKit
import LStoreRemote

struct PushCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "push",
    abstract: "Send pending events to a remote; refused (exit 3) when the remote is ahead.",
    discussion: """
      Sends the synced events after the backend head, in order, in batches. Client-only \
      events are never pushed. When the backend has events this store has not pulled, \
      nothing changes locally and lstore exits with code 3: run 'lstore pull', then push.
      """)

  @ParentCommand var root: LStoreCommand
  @OptionGroup var remote: RemoteOptions

  @Flag(name: .long, help: "Print the result as JSON.")
  var json = false

  func run() async throws {
    let global = root.global
    let store = try global.openStore()
    let (_, location, storeId) = try remote.resolve(in: store)
    let replica = try store.openReplica(schema: try store.loadSchema(), now: Clock.now())
    let transport = try await Transports.open(location: location, storeId: storeId, payload: try remote.payload(), now: Clock.now())
    let progress = ProgressReporter(quiet: global.quiet)
    let result: SyncClient.PushResult
    do {
      result = try await SyncClient(replica: replica, transport: transport).push(progress: progress.handler)
      progress.finish()
      await transport.close()
    } catch {
      progress.finish()
      await transport.close()
      throw error
    }
    if json {
      let value: JSONValue = ["pushed": .integer(Int64(result.pushed)), "backendHead": .string("e\(result.backendHead)"),
                              "remote": .string(transport.description)]
      global.stdout.line(value.compactText)
    } else if result.pushed == 0 {
      global.stdout.line("Everything up to date (backend head e\(result.backendHead))")
    } else {
      global.stdout.line("Pushed \(result.pushed) events to \(transport.description); backend head is e\(result.backendHead)")
    }
  }
}
