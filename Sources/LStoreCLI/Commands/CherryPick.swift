import ArgumentParser
import Foundation
import LStoreKit

struct CherryPickCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cherry-pick",
    abstract: "Replay commits from any branch after the head, as new commits.",
    discussion: """
      Each <commit> (an id or unique prefix, looked up on the current branch first, then on \
      the others, or any revision: a branch names its head's commit, 'feat~1' the one \
      before, 'e5' the commit holding e5; an id no branch holds any more is looked up in \
      the reflog, so a commit 'rebase --skip' or 'reset' dropped can be brought back) is replayed after the head with the same events, message and author, in \
      the order given, in one transaction: all of them or none. The events keep their client \
      and session, so a later 'rebase' onto the source branch leaves them out as already \
      there.
      """)

  @ParentCommand var root: LStoreCommand

  @Argument(help: ArgumentHelp("The commits to replay.", valueName: "commit"), completion: Completions.revisions)
  var commits: [String]

  func run() throws {
    let global = root.global
    let store = try global.openStore()
    let replica = try store.openReplica(schema: try store.loadSchema(), now: Clock.now())
    try Rebase.refuseIfInProgress(replica.eventlog, branch: store.branch)
    let picks = try commits.map { try store.findCommit($0) }
    for made in try replica.cherryPick(picks, time: Clock.now()) {
      let range = eventRange(made.first, made.last)
      global.stdout.line("[\(global.style.yellow(String(made.id.prefix(8))))] \(range) \(made.message.firstLine)")
    }
  }
}

struct RevertCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "revert",
    abstract: "Undo a commit: drop it if unpushed, or commit events that restore its rows.",
    discussion: """
      An unpushed commit is dropped: the events after it are replayed without it (a rebase, \
      which stops like one if a later event fails without it; the dropped events stay in the \
      reflog). A pushed commit cannot leave history, so lstore commits new events that put \
      back every row it changed: for each row, the first event of the schema whose effect, \
      tried and rolled back, is exactly the inverse. When no event can express an inverse \
      (a schema with no delete event cannot undo an insert), or a later event changed the \
      same cells again, nothing is changed and the rows are named (exit 2).
      """)

  @ParentCommand var root: LStoreCommand

  @Argument(help: ArgumentHelp("The commit to undo (an id or prefix, or a revision of this branch).", valueName: "commit"),
            completion: Completions.revisions)
  var commit: String

  func run() throws {
    let global = root.global
    let store = try global.openStore()
    let replica = try store.openReplica(schema: try store.loadSchema(), now: Clock.now())
    try Rebase.refuseIfInProgress(replica.eventlog, branch: store.branch)
    let resolver = RevisionResolver(eventlog: replica.eventlog, store: store)
    guard let target = try replica.eventlog.commit(containing: try resolver.point(commit)) else {
      throw StoreError.notFound("'\(commit)' is not in a commit (only commits can be reverted)")
    }
    let identity = Replica.Identity(clientId: store.config.clientId, sessionId: store.config.sessionId)
    switch try replica.revert(target, store: store, author: store.author(), identity: identity, time: Clock.now) {
    case .dropped(_, let outcome):
      switch outcome {
      case .finished(let summary):
        global.stdout.line("Dropped commit \(target.id.prefix(8)) \(target.message.firstLine) (unpushed): head \(summary.head)")
      case .stopped(let stop):
        RebaseOutput(global: global, json: false, branch: store.branch).stopped(stop)
        throw InputError(status: .conflict, message: "revert stopped: \(stop.message); \(RebaseOutput.hint(for: stop))")
      case .exec: break
      }
    case .inverted(let made, let events):
      let range = eventRange(made.first, made.last)
      global.stdout.line("[\(global.style.yellow(String(made.id.prefix(8))))] \(range) \(made.message.firstLine) (\(counted(events.count, "event")))")
    }
  }
}
