import ArgumentParser
import Foundation
import LStoreKit
import LStoreRemote

struct BranchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "branch",
    abstract: "List, create, rename or delete branches.",
    discussion: """
      Each branch has its own eventlog and materialized state (.lstore/branches/<name>/), so \
      switching is instant. 'lstore branch <name> [<start>]' (or --at <start>) creates a \
      branch from the current one, at its head or at an earlier revision (e20, a commit id, \
      HEAD~2); 'lstore switch <name>' makes it current. -m renames; -d deletes a branch whose \
      events the current branch has (it refuses otherwise and says how many it would lose), \
      -D deletes it anyway. --json lists {name, current, head, events} per branch. \
      -r lists the remote's branches as this store last saw them (after a push or pull), \
      with their heads; 'lstore switch <name>' fetches one.
      """)

  @ParentCommand var root: LStoreCommand

  @Argument(help: "The branch to create, delete or rename (omit to list branches).", completion: Completions.branches)
  var name: String?
  @Argument(help: ArgumentHelp("Where the new branch starts, or the new name with -m (default: the head).", valueName: "start"),
            completion: Completions.revisions)
  var startPoint: String?

  @Option(name: .long, help: ArgumentHelp("Where the new branch starts (a revision).", valueName: "revision"))
  var at: String?

  @Flag(name: [.customShort("d"), .customLong("delete")], help: "Delete the named branch if the current one has its events.")
  var delete = false
  @Flag(name: [.customShort("D")], help: "Delete the named branch even with events the current branch does not have.")
  var forceDelete = false
  @Flag(name: [.customShort("m"), .customLong("move")], help: "Rename a branch: -m <old> <new> (or -m <new> for the current one).")
  var move = false
  @Flag(name: [.customShort("r"), .customLong("remotes")], help: "List the remote's branches (as of the last push or pull).")
  var remotes = false
  @Flag(name: .long, help: "List as JSON: one {name, current, head, events} per branch (-r: {remote, name, head}).") var json = false

  func validate() throws {
    if (delete || forceDelete) && name == nil { throw ValidationError("-d/-D needs a branch name") }
    if (delete || forceDelete) && (startPoint != nil || at != nil) { throw ValidationError("-d/-D takes only a branch name") }
    if move && name == nil { throw ValidationError("-m needs the new name (-m <new>, or -m <old> <new>)") }
    if startPoint != nil && at != nil { throw ValidationError("give the start point once: as an argument or with --at") }
    if remotes && (name != nil || delete || forceDelete || move) { throw ValidationError("-r only lists; it takes no branch name") }
  }

  func run() throws {
    let global = root.global
    let store = try global.openStore()
    if let name, move {
      let (old, new) = startPoint.map { (name, $0) } ?? (store.branch, name)
      try store.renameBranch(old, to: new)
      global.stdout.line("Renamed branch '\(old)' to '\(new)'")
      return
    }
    if let name, delete || forceDelete {
      let head = try store.deleteBranch(name, force: forceDelete)
      global.stdout.line("Deleted branch '\(name)' (was \(head))")
      return
    }
    if let name {
      let schema = try store.loadSchema()
      let info = try (at ?? startPoint).map { try store.createBranch(name, atRevision: $0, schema: schema, now: Clock.now()) }
        ?? store.createBranch(name, schema: schema, now: Clock.now())
      global.stdout.line("Created branch '\(name)' at \(info.head) (\(counted(info.events, "event")))")
      return
    }
    if remotes {
      for branch in try store.remoteBranches() {
        let head = branch.head.map { SeqNum(global: $0).description }
        if json {
          let value: JSONValue = ["remote": .string(branch.remote), "name": .string(branch.name),
                                  "head": head.map { .string($0) } ?? .null]
          global.stdout.line(value.compactText)
        } else {
          global.stdout.line("  \(global.style.red("\(branch.remote)/\(branch.name)"))\t\(head ?? "(head not seen)")")
        }
      }
      return
    }
    for branch in try store.listBranches() {
      if json {
        let value: JSONValue = ["name": .string(branch.name), "current": .bool(branch.isCurrent),
                                "head": .string(branch.head.description), "events": .integer(Int64(branch.events))]
        global.stdout.line(value.compactText)
      } else {
        let marker = branch.isCurrent ? "* " : "  "
        let label = branch.isCurrent ? global.style.green(branch.name) : branch.name
        global.stdout.line("\(marker)\(label)\t\(branch.head) (\(counted(branch.events, "event")))")
      }
    }
  }
}

struct SwitchCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "switch",
    abstract: "Make another branch current (its state is already materialized).",
    discussion: """
      With -c, creates the branch from the current head first. A name that is not a local \
      branch but one of the remote's (see 'lstore branch -r') is fetched: a new local branch \
      that starts as a copy of main where the two part and pulls the rest from the branch's \
      remote store, with its commit records, then tracks it (push and pull sync with it).
      """)

  @ParentCommand var root: LStoreCommand
  @Argument(help: "The branch.", completion: Completions.branches) var name: String
  @Flag(name: [.short, .customLong("create")], help: "Create the branch from the current head first.") var create = false
  @OptionGroup var remote: RemoteOptions

  func run() async throws {
    let global = root.global
    let store = try global.openStore()
    if create {
      try store.createBranch(name, schema: try store.loadSchema(), now: Clock.now())
    } else if !store.branchExists(name) {
      let fetched = try await fetchRemoteBranch(store: store, global: global)
      global.note("Fetched branch '\(name)' from \(fetched.remote) (\(counted(fetched.events, "event")), head \(fetched.head))")
    }
    try store.switchBranch(to: name)
    global.stdout.line("Switched to branch '\(name)'")
  }

  /// Creates the local branch from the remote's branch of the same name.
  private func fetchRemoteBranch(store: Store, global: GlobalOptions) async throws -> (remote: String, events: Int, head: SeqNum) {
    let known = try store.remoteBranches().filter { $0.name == name && $0.name != Store.syncedBranch }
    guard !known.isEmpty || remote.remote != nil else {
      throw StoreError.notFound("no branch '\(name)' (see 'lstore branch'; 'lstore branch -r' lists the remote's branches after a push or pull)")
    }
    var options = remote
    options.remote = remote.remote ?? (known.contains { $0.remote == store.config.defaultRemote } ? store.config.defaultRemote : known.first?.remote)
    let (label, location, storeId) = try options.resolve(in: store)
    let payload = try options.payload()
    let schema = try store.loadSchema()
    // Where main and the remote branch part: the new branch copies main up to there.
    let version = try await options.syncProtocol(store: store, remoteName: label, location: location, storeId: storeId,
                                                 payload: payload)
    let probe = try await Transports.openCompanion(location: location, storeId: CompanionStores.branch(of: storeId, named: name),
                                                   payload: payload, now: Clock.now(), version: version)
    let fork: Int64
    do {
      fork = try await RemoteBranchIndex.forkPoint(ofRemoteBranch: probe, main: try store.onBranch(Store.syncedBranch).openEventlog())
    } catch {
      await probe.close()
      throw error
    }
    await probe.close()
    try store.createTrackingBranch(name, fork: fork, schema: schema, now: Clock.now())
    do {
      let head = try await options.withSyncClient(global, branch: name) { client -> SeqNum in
        let pulled = try await client.pull()
        _ = try await client.exchangeRecords()
        return pulled.head
      }
      return (label ?? location, try store.onBranch(name).openEventlog().count(), head)
    } catch {
      // Nothing half-fetched stays behind.
      _ = try? store.deleteBranch(name)
      throw error
    }
  }
}
