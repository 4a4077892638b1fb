import ArgumentParser
import Foundation
import LStoreKit

struct BranchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "branch",
    abstract: "List, create or delete branches.",
    discussion: """
      Each branch has its own eventlog and materialized state (.lstore/branches/<name>/), so \
      switching is instant. 'lstore branch <name> [<seqNum>]' creates a branch from the \
      current one, at its head or at an earlier event; 'lstore switch <name>' makes it current.
      """)

  @ParentCommand var root: LStoreCommand

  @Argument(help: "The branch to create (omit to list branches).") var name: String?
  @Argument(help: ArgumentHelp("Where the new branch starts (default: the head).", valueName: "seqNum")) var startPoint: String?

  @Flag(name: [.short, .customLong("delete")], help: "Delete the named branch.") var delete = false
  @Flag(name: .long, help: "List as JSON: one {name, current, head, events} per branch.") var json = false

  func validate() throws {
    if delete && name == nil { throw ValidationError("--delete needs a branch name") }
    if delete && startPoint != nil { throw ValidationError("--delete takes only a branch name") }
  }

  func run() throws {
    let global = root.global
    let store = try global.openStore()
    if let name, delete {
      try store.deleteBranch(name)
      global.stdout.line("Deleted branch '\(name)'")
      return
    }
    if let name {
      let start = try startPoint.map { text -> SeqNum in
        guard let seq = SeqNum(text) else { throw InputError.usage("'\(text)' is not a sequence number like e5") }
        return seq
      }
      let info = try store.createBranch(name, at: start, schema: try store.loadSchema(), now: Clock.now())
      global.stdout.line("Created branch '\(name)' at \(info.head) (\(counted(info.events, "event")))")
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

struct SwitchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "switch",
    abstract: "Make another branch current (its state is already materialized).")

  @ParentCommand var root: LStoreCommand
  @Argument(help: "The branch.") var name: String
  @Flag(name: [.short, .customLong("create")], help: "Create the branch from the current head first.") var create = false

  func run() throws {
    let global = root.global
    let store = try global.openStore()
    if create { try store.createBranch(name, schema: try store.loadSchema(), now: Clock.now()) }
    try store.switchBranch(to: name)
    global.stdout.line("Switched to branch '\(name)'")
  }
}
