import ArgumentParser
import Foundation
import LStoreKit

struct ResetCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reset",
    abstract: "Move the branch head to a revision: an event, a commit, a past head (HEAD@{2}) or a branch.",
    discussion: """
      'lstore reset --hard <revision>' makes the branch's eventlog and state what the revision \
      names: events after an event or commit are removed; HEAD@{N} rebuilds the head as it \
      was N moves ago (see 'lstore reflog'), bringing back removed events; a branch name \
      makes this branch a copy of that branch. Removed events are kept in the reflog, so a \
      reset is undone with 'lstore reset --hard HEAD@{1}'. Events the backend has confirmed \
      are never removed: such a reset is refused (exit 2) and 'lstore revert' is the way to \
      undo them. --hard is the default.
      'lstore reset --soft <revision>' keeps every event and the state as they are and \
      ungroups the commits after the revision (an event or commit of this branch); the next \
      'lstore commit -m <message>' with no events commits those events as one: git's \
      squash idiom. It is journaled like any move ('reset --hard HEAD@{1}' brings the \
      commits back).
      """)

  @ParentCommand var root: LStoreCommand

  @Argument(help: ArgumentHelp("Where to move the head (see lstore-revisions).", valueName: "revision"),
            completion: Completions.revisions)
  var revision: String

  @Flag(name: .long, help: "Make the eventlog and state match the revision (the default).")
  var hard = false

  @Flag(name: .long, help: "Keep the events; ungroup the commits after the revision, for one new 'commit -m'.")
  var soft = false

  func validate() throws {
    if hard && soft { throw ValidationError("--hard and --soft are exclusive") }
  }

  @Flag(name: .long, help: "Print the result as JSON.")
  var json = false

  func run() throws {
    let global = root.global
    let store = try global.openStore()
    let replica = try store.openReplica(schema: try store.loadSchema(), now: Clock.now())
    try Rebase.refuseIfInProgress(replica.eventlog, branch: store.branch)
    if soft {
      let point = try RevisionResolver(eventlog: replica.eventlog, store: store).point(revision)
      let result = try replica.softReset(to: point, note: HeadMoveNote(action: "reset (soft)", message: "ungrouping after \(revision)", time: Clock.now()))
      if json {
        let value: JSONValue = ["head": .string(try replica.eventlog.head().description),
                                "commits": .integer(Int64(result.commits)), "ungrouped": .integer(Int64(result.ungrouped))]
        global.stdout.line(value.compactText)
      } else {
        global.stdout.line("Ungrouped \(counted(result.commits, "commit")) after \(point) (\(counted(result.ungrouped, "event")) kept); 'lstore commit -m <message>' commits them as one")
      }
      return
    }
    let target: ResetTarget
    switch try RevisionResolver(eventlog: replica.eventlog, store: store).resolve(revision) {
    case .point(let seqNum, nil): target = .point(seqNum)
    case .point(let seqNum, let branch?):
      guard seqNum == (try store.openEventlog(branch: branch).head()) else {
        throw InputError.usage("reset to another branch takes its head ('\(branch)'), not an earlier point of it")
      }
      target = .branch(branch)
    case .reflog(let index, _): target = .reflog(index: index)
    }
    let result = try replica.reset(to: target, store: store,
                                   note: HeadMoveNote(action: "reset", message: "moving to \(revision)", time: Clock.now()))
    let head = try replica.eventlog.head()
    if json {
      let value: JSONValue = ["head": .string(head.description), "removed": .integer(Int64(result.removed)),
                              "appended": .integer(Int64(result.appended))]
      global.stdout.line(value.compactText)
      return
    }
    let commit = try replica.eventlog.commit(containing: head)
    global.stdout.line("HEAD is now at \(head)\(commit.map { " \($0.id.prefix(8)) \($0.message.firstLine)" } ?? "") (\(counted(result.removed, "event")) removed, \(counted(result.appended, "event")) restored)")
  }
}

struct ReflogCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reflog",
    abstract: "List the moves of the branch head, newest first (HEAD@{N} names each).",
    discussion: """
      Every move of the head is journaled in the branch's eventlog: commit, commit --amend, \
      pull, rebase steps, reset, cherry-pick, revert. Events a move removed are kept with its \
      entry, so 'lstore reset --hard HEAD@{N}' brings back the head as it was after entry N; \
      an entry that removed commits names them (the first three), and 'lstore cherry-pick \
      <id>' replays one after the head. \
      --json prints one object per entry: {"ref","id","action","message","time","base", \
      "oldHead","newHead","removed"}.
      """)

  @ParentCommand var root: LStoreCommand

  @Option(name: [.customShort("n", allowingJoined: true), .customLong("max-count")], help: "Show at most this many entries.")
  var maxCount: Int?

  @Flag(name: .long, help: "One JSON object per entry (NDJSON).")
  var json = false

  func run() throws {
    let global = root.global
    let (eventlog, _) = try global.openEventlogForReading()
    let style = global.style
    for (index, entry) in try eventlog.reflog(limit: maxCount).enumerated() {
      if json {
        let value: JSONValue = [
          "ref": .string("HEAD@{\(index)}"), "id": .integer(entry.id), "action": .string(entry.action),
          "message": .string(entry.message), "time": .string(entry.time), "base": .string(entry.base.description),
          "oldHead": .string(entry.oldHead.description), "newHead": .string(entry.newHead.description),
          "removed": .integer(Int64(entry.removed)),
        ]
        global.stdout.line(value.compactText)
      } else {
        var removed = ""
        if entry.removed > 0 {
          // The commits it removed, by id: what 'cherry-pick' brings back.
          let (commits, count) = try eventlog.removedCommits(entry: entry.id, limit: 3)
          let named = commits.map { "\(style.yellow(String($0.id.prefix(8)))) \($0.message.firstLine)" }
          let more = count > commits.count ? ", and \(count - commits.count) more" : ""
          removed = " (\(counted(entry.removed, "event")) removed\(named.isEmpty ? "" : ": " + named.joined(separator: ", ") + more))"
        }
        global.stdout.line("\(style.yellow(entry.newHead.description)) HEAD@{\(index)}: \(entry.action): \(entry.message)\(removed)")
      }
    }
  }
}
