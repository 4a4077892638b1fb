import ArgumentParser
import Foundation
import LStoreKit

struct PushCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "push",
    abstract: "Send pending events to a remote; refused (exit 3) when the remote is ahead.",
    discussion: """
      Sends the synced events after the backend head, in order, in batches. Client-only \
      events are never pushed. When the backend has events this store has not pulled, \
      nothing changes locally and lstore exits with code 3: run 'lstore pull', then push.
      On main, events go to the store id itself; any other branch has a remote store of its \
      own (a companion store id, see docs/version-control.md), which the first push fills \
      with the branch's whole history and adds to the remote's branch list. \
      'lstore push origin experiment' pushes branch experiment from any branch; \
      'lstore push origin --delete experiment' takes it off the remote's branch list (its \
      remote store keeps the events: the protocol cannot delete them).
      A network remote speaks LiveStore 0.3's or 0.4's sync protocol (see 'lstore remote'; \
      --protocol names it). Over 0.4, a backend whose id is not the one this store synced \
      with (it was reset or replaced) stops the push with exit code 2 and nothing changed: \
      'lstore pull --adopt-backend', then push (docs/sync-client.md).
      """)

  @ParentCommand var root: LStoreCommand
  @OptionGroup var remote: RemoteOptions

  @Argument(help: ArgumentHelp("The branch to push (default: the current one).", valueName: "branch"),
            completion: Completions.branches)
  var branch: String?

  @Flag(name: [.customShort("d"), .customLong("delete")], help: "Take <branch> off the remote's branch list instead of pushing.")
  var delete = false

  @Flag(name: .long, help: "Print the result as JSON.")
  var json = false

  func validate() throws {
    if delete && (branch == nil || branch == Store.syncedBranch) {
      throw ValidationError("--delete needs the branch to delete from the remote's list (not main)")
    }
  }

  func run() async throws {
    let global = root.global
    if delete, let branch {
      try await remote.deleteRemoteBranch(branch, global)
      global.stdout.line("Deleted branch '\(branch)' from the remote's list")
      return
    }
    let progress = ProgressReporter(quiet: global.quiet)
    defer { progress.finish() }
    let (result, remoteName, records) = try await remote.withSyncClient(global, branch: branch, publishBranch: true) { client in
      let pushed = try await client.push(progress: progress.handler)
      return (pushed, client.transport.description, try await client.exchangeRecords())
    }
    if let records, records.published > 0 { global.note("Published \(counted(records.published, "commit record"))") }
    progress.finish()
    if json {
      let value: JSONValue = ["pushed": .integer(Int64(result.pushed)), "backendHead": .string("e\(result.backendHead)"),
                              "remote": .string(remoteName),
                              "commitRecordsPublished": .integer(Int64(records?.published ?? 0))]
      global.stdout.line(value.compactText)
    } else if result.pushed == 0 {
      global.stdout.line("Everything up to date (backend head e\(result.backendHead))")
    } else {
      global.stdout.line("Pushed \(counted(result.pushed, "event")) to \(remoteName); backend head is e\(result.backendHead)")
    }
  }
}
