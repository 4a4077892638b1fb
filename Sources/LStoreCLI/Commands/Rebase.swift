import ArgumentParser
import Foundation
import LStoreKit

extension RebaseStrategy: ExpressibleByArgument {}

struct RebaseCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rebase",
    abstract: "Replay this branch's commits after another branch's head (or interactively in place).",
    discussion: """
      'lstore rebase main' moves the events this branch has after its merge base with main \
      to follow main's head: main's events are appended, then each commit of the branch is \
      replayed, renumbered by LiveStore's rules, keeping its id, message and author. An event \
      main already has (same name, args, client and session) is left out, as git leaves out \
      commits already upstream; each of main's events stands for one replayed event, so an \
      event made twice and on main once is replayed once. <upstream> is any revision (see lstore-revisions): a branch, \
      a branch's earlier point (main~2), a point of this branch (HEAD~3, to edit history in \
      place with -i), or @{u} (the backend head). Without it: main, or @{u} on main.

      Interactive plans (-i opens $LSTORE_SEQUENCE_EDITOR, $GIT_SEQUENCE_EDITOR, $VISUAL, \
      $EDITOR or vi; --plan reads a file) are git's todo list: one 'pick <commit> <message>' \
      line per commit, oldest first, with pick, reword (the new message follows on the line), \
      edit, squash, fixup, exec and drop.

      Conflicts are found at cell level (Dolt's rule): a replayed event whose changeset \
      writes a column of a row (same primary key) that main changed since the merge base to \
      another value, or that changes a row one side deleted. A conflict stops the rebase \
      (exit 4) and prints table, key, column and the base / ours (the new base) / theirs (the \
      replayed event) values; a materializer that fails on replay stops it too. \
      --strategy decides conflicts without stopping: ours drops conflicting and failing \
      events (kept in the reflog), theirs keeps conflicting ones, replay does what \
      LiveStore's pull does (no conflict detection); with theirs and replay an event whose \
      materializer fails still stops (it cannot be kept). Every stop is saved in the store: 'lstore status' shows it, \
      '--continue' keeps the stopped commit (after a conflict), retries it (after a failure) \
      or goes on (after edit or exec); '--skip' drops the stopped commit (kept in the \
      reflog: 'lstore cherry-pick <its id>' replays it later); '--abort' restores the \
      branch exactly as it was.

      --dry-run plays the whole rebase and rolls it back: it reports every conflict and \
      failure it would meet and exits 0 when clean, 4 when it would stop or drop events.
      """)

  @ParentCommand var root: LStoreCommand

  @Argument(help: ArgumentHelp("Where to replay the branch (a revision; default: main, or @{u} on main).", valueName: "upstream"),
            completion: Completions.revisions)
  var upstream: String?

  @Flag(name: [.short, .customLong("interactive")], help: "Edit the plan in an editor before the rebase starts.")
  var interactive = false

  @Option(name: .long, help: ArgumentHelp("Read the plan from a file (git's todo format).", valueName: "path"),
          completion: .file())
  var plan: String?

  @Option(name: .long, help: "What to do with conflicts: stop, ours, theirs, replay.")
  var strategy: RebaseStrategy = .stop

  @Flag(name: .long, help: "Report what the rebase would do and every conflict, change nothing.")
  var dryRun = false

  @Flag(name: .customLong("continue"), help: "Go on with a stopped rebase.")
  var continueRebase = false

  @Flag(name: .long, help: "Drop the stopped commit and go on.")
  var skip = false

  @Flag(name: .long, help: "Stop the rebase and restore the branch as it was before it.")
  var abort = false

  @Flag(name: .long, help: "Print results and conflicts as JSON.")
  var json = false

  func validate() throws {
    let controls = [continueRebase, skip, abort].filter { $0 }.count
    if controls > 1 { throw ValidationError("give only one of --continue, --skip, --abort") }
    if controls == 1 && (upstream != nil || interactive || plan != nil || dryRun) {
      throw ValidationError("--continue, --skip and --abort take no upstream, plan or --dry-run")
    }
    if interactive && plan != nil { throw ValidationError("give either -i or --plan, not both") }
  }

  func run() throws {
    let global = root.global
    let store = try global.openStore()
    let schema = try store.loadSchema()
    let replica = try store.openReplica(schema: schema, now: Clock.now())
    let output = RebaseOutput(global: global, json: json, branch: store.branch)
    if continueRebase || skip || abort {
      guard let rebase = try Rebase.inProgress(replica, time: Clock.now) else { throw RebaseError.notInProgress }
      if abort {
        let original = rebase.state.originalHead
        try rebase.abort()
        output.aborted(at: try replica.eventlog.head(), original: original)
        return
      }
      try drive(rebase, outcome: try continueRebase ? rebase.continueRebase() : rebase.skip(), output: output, store: store)
      return
    }
    try Rebase.refuseIfInProgress(replica.eventlog, branch: store.branch)
    let onto = try resolveUpstream(store: store, eventlog: replica.eventlog)
    let preparation = try Rebase.prepare(replica, store: store, onto: onto)
    if preparation.upToDate && !interactive && plan == nil {
      output.upToDate(preparation)
      return
    }
    var steps = RebaseSteps.pickEvery()
    if let plan {
      steps = .listed(try RebasePlan.parse(try readPlan(plan), units: try preparation.units(in: replica.eventlog)))
    } else if interactive {
      steps = .listed(try editPlan(preparation, units: try preparation.units(in: replica.eventlog), store: store))
    }
    if case .listed(let listed) = steps, listed.isEmpty, preparation.replayedEvents > 0 { throw RebaseError.emptyPlan }
    if dryRun {
      let report = try Rebase.dryRun(replica, store: store, preparation: preparation, steps: steps, strategy: strategy,
                                     time: Clock.now)
      output.dryRun(report)
      if !report.clean { throw ExitCode(ExitStatus.conflict.rawValue) }
      return
    }
    let rebase = try Rebase.start(replica, store: store, preparation: preparation, steps: steps, strategy: strategy,
                                  time: Clock.now)
    try drive(rebase, outcome: try rebase.run(), output: output, store: store)
  }

  /// Runs exec steps as the library asks for them, and renders where the rebase ends.
  private func drive(_ rebase: Rebase, outcome: @autoclosure () throws -> RebaseOutcome, output: RebaseOutput,
                     store: Store) throws {
    // Every step is its own transaction and the state between them is on disk: Ctrl-C
    // leaves the rebase where its last finished step left it, as `status` shows.
    InterruptNotice.install("lstore: error: interrupted; the rebase of '\(store.branch)' is in progress: "
                            + "'lstore rebase --continue' goes on, 'lstore rebase --abort' restores the branch (see 'lstore status')\n")
    var outcome = try outcome()
    while case .exec(let command) = outcome {
      output.global.note("Executing: \(command)")
      OutputStream.standardOutput.flush()
      outcome = try rebase.execFinished(status: Shell.run(command, in: FileManager.default.currentDirectoryPath))
    }
    switch outcome {
    case .finished(let summary): output.finished(summary)
    case .stopped(let stop):
      output.stopped(stop)
      // An edit stop is the plan's own pause; every other stop needs the user.
      guard stop.reason != .edit else { return }
      throw InputError(status: .conflict, message: "rebase stopped: \(stop.message); \(RebaseOutput.hint(for: stop))")
    case .exec: break
    }
  }

  private func resolveUpstream(store: Store, eventlog: Eventlog) throws -> RebaseOnto {
    let text = upstream ?? (store.branch == "main" ? "@{u}" : "main")
    switch try RevisionResolver(eventlog: eventlog, store: store).resolve(text) {
    case .point(let seqNum, nil): return text.hasPrefix("@{u") ? .upstream : .point(seqNum)
    case .point(let seqNum, let branch?):
      let otherHead = try store.openEventlog(branch: branch).head()
      return .branch(branch, through: seqNum == otherHead ? nil : seqNum)
    case .reflog: throw RevisionError.notAPoint(text)
    }
  }

  private func readPlan(_ path: String) throws -> String {
    if path == "-" { return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) }
    guard let data = FileManager.default.contents(atPath: root.global.resolve(path)) else {
      throw InputError.notFound("no such plan file: \(path)")
    }
    return String(decoding: data, as: UTF8.self)
  }

  private func editPlan(_ preparation: RebasePreparation, units: [HistoryUnit], store: Store) throws -> [RebaseStep] {
    let path = (store.branchDirectory as NSString).appendingPathComponent("rebase-plan")
    try RebasePlan.render(units, header: preparation.planHeader).write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let environment = ProcessInfo.processInfo.environment
    let editor = ["LSTORE_SEQUENCE_EDITOR", "GIT_SEQUENCE_EDITOR", "VISUAL", "EDITOR"].lazy
      .compactMap { environment[$0] }.first { !$0.isEmpty } ?? "vi"
    let status = Shell.run("\(editor) \"$1\"", arguments: [path], in: FileManager.default.currentDirectoryPath)
    guard status == 0 else {
      throw InputError(status: .failure, message: "the editor (\(editor)) exited with status \(status); the rebase was not started")
    }
    return try RebasePlan.parse(try String(contentsOfFile: path, encoding: .utf8), units: units)
  }
}

/// Runs shell commands for exec steps and editors, with the terminal inherited.
enum Shell {
  static func run(_ command: String, arguments: [String] = [], in directory: String) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command, "sh"] + arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    do {
      try process.run()
    } catch {
      return 127
    }
    process.waitUntilExit()
    return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
  }
}
