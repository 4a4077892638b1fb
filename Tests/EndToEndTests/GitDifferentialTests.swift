import Foundation
import TestSupport
import XCTest

/// Random scenarios of commit / branch / switch / rebase onto a branch / rebase with a plan
/// (drop, squash, fixup, reorder), played in lstore and in git, with one git commit per
/// lstore commit (commit N creates todo tN in lstore and file tN in git, so git never has a
/// conflict). After every step both histories must list the same commits, in the same
/// order, holding the same todos/files.
///
/// Reproducible: LSTORE_DIFF_SEED=<seed> replays one scenario (printed on failure);
/// LSTORE_DIFF_SCENARIOS sets how many are played.
final class GitDifferentialTests: XCTestCase {
  typealias Generator = SplitMix64

  /// One commit of a history: its subject and the todos (files) it adds.
  struct Entry: Equatable, CustomStringConvertible {
    var subject: String
    var items: [String]
    var description: String { "\(subject)[\(items.joined(separator: ","))]" }
  }

  final class Scenario {
    let seed: UInt64
    let sandbox: Sandbox
    let store: VCStore
    var random: Generator
    var next = 1
    var branches = ["main"]
    var current = "main"
    var log: [String] = []
    /// Squash and fixup into commits other branches also have (see rebaseWithPlan).
    var allowSharedSquash = false

    init(seed: UInt64) throws {
      self.seed = seed
      sandbox = try Sandbox()
      sandbox.environment["GIT_CONFIG_NOSYSTEM"] = "1"
      sandbox.environment["GIT_CONFIG_GLOBAL"] = "/dev/null"
      sandbox.environment["GIT_EDITOR"] = "true"
      store = try VCStore(sandbox: sandbox, directory: "ls")
      random = Generator(state: seed)
      try git("init", "-q", "-b", "main")
    }

    @discardableResult
    func git(_ arguments: String..., env: [String: String] = [:]) throws -> CommandResult {
      try FileManager.default.createDirectory(atPath: sandbox.path("git"), withIntermediateDirectories: true)
      let result = try sandbox.start("/usr/bin/env", ["git", "-c", "user.name=Test User", "-c", "user.email=test@example.com",
                                                      "-c", "advice.detachedHead=false", "-c", "rebase.missingCommitsCheck=ignore"]
                                       + arguments, cwd: "git", env: env).wait()
      guard result.status == 0 else { throw SandboxError(message: "git \(arguments.joined(separator: " ")): \(result)") }
      return result
    }

    func lstore(_ arguments: String...) throws -> CommandResult {
      let result = try store.run(arguments)
      guard result.status == 0 else { throw SandboxError(message: "lstore \(arguments.joined(separator: " ")): \(result)") }
      return result
    }

    // MARK: Operations

    func commit() throws {
      let n = next
      next += 1
      log.append("commit c\(n)")
      _ = try lstore("commit", "v1.TodoCreated", #"{"id":"t\#(n)","text":"\#(n)"}"#, "-m", "c\(n)")
      try "\(n)\n".write(toFile: sandbox.path("git/t\(n)"), atomically: true, encoding: .utf8)
      try git("add", "t\(n)")
      try git("commit", "-q", "-m", "c\(n)")
    }

    func branch() throws {
      let name = "b\(branches.count)"
      log.append("branch \(name)")
      _ = try lstore("branch", name)
      try git("branch", name)
      branches.append(name)
    }

    func switchBranch() throws {
      let others = branches.filter { $0 != current }
      guard let target = others.randomElement(using: &random) else { return }
      log.append("switch \(target)")
      _ = try lstore("switch", target)
      try git("switch", "-q", target)
      current = target
    }

    func rebaseOntoBranch() throws {
      let others = branches.filter { $0 != current }
      guard let onto = others.randomElement(using: &random) else { return }
      log.append("rebase \(onto)")
      _ = try lstore("rebase", onto)
      try git("rebase", "-q", onto)
    }

    func rebaseWithPlan() throws {
      let history = try lstoreHistory()
      guard history.count >= 2 else { return try commit() }
      let count = Int.random(in: min(2, history.count - 1)...min(5, history.count - 1), using: &random)
      let commits = Array(history.suffix(count))
      var order = Array(commits.indices)
      if count > 1 && Bool.random(using: &random) { order.shuffle(using: &random) }
      var verbs: [String] = []
      for position in order.indices {
        let roll = Int.random(in: 0..<10, using: &random)
        verbs.append(roll < 4 || position == 0 ? "pick" : roll < 6 ? "drop" : roll < 8 ? "squash" : "fixup")
      }
      // A squash or fixup needs a kept commit before it; a plan needs one kept commit.
      if let firstKept = verbs.firstIndex(where: { $0 != "drop" }) { verbs[firstKept] = "pick" } else { verbs[0] = "pick" }
      let omitDrops = Bool.random(using: &random)
      let lstoreRefs = try lstoreReferences()
      let gitRefs = try gitReferences()
      if !allowSharedSquash {
        // A squash keeps the id of the commit it melds into; when another branch still has
        // that commit, a later rebase between them corrupts the commit records (the FAILING
        // commit's testRebaseOfASquashedCommitOntoTheBranchWithTheOriginal). Meld only into
        // commits no other branch has, until that is fixed.
        var target: String? = nil
        for position in verbs.indices {
          let subject = commits[order[position]].subject
          switch verbs[position] {
          case "pick": target = subject
          case "squash", "fixup":
            if let target, try isShared(gitRefs[target] ?? "") { verbs[position] = "pick" }
            if verbs[position] == "pick" { target = subject }
          default: break
          }
        }
      }
      var lstorePlan = "", gitPlan = ""
      for (position, index) in order.enumerated() {
        let subject = commits[index].subject
        let verb = verbs[position]
        if verb == "drop" && omitDrops { continue }
        lstorePlan += "\(verb) \(lstoreRefs[subject] ?? "?") \(subject)\n"
        gitPlan += "\(verb) \(gitRefs[subject] ?? "?") \(subject)\n"
      }
      log.append("rebase -i HEAD~\(count): " + order.enumerated().map { "\(verbs[$0.offset]) \(commits[$0.element].subject)" }.joined(separator: ", ")
                 + (omitDrops ? " (drops omitted)" : ""))
      try sandbox.write("lstore-plan.txt", lstorePlan)
      try sandbox.write("git-plan.txt", gitPlan)
      _ = try lstore("rebase", "--plan", sandbox.path("lstore-plan.txt"), "HEAD~\(count)")
      try git("rebase", "-q", "-i", "HEAD~\(count)", env: ["GIT_SEQUENCE_EDITOR": "cp '\(sandbox.path("git-plan.txt"))'"])
    }

    // MARK: Reading both histories

    /// The current branch's commits, oldest first, from `log --events --json`.
    func lstoreHistory() throws -> [Entry] {
      var entries: [Entry] = []
      var lastId: String? = nil
      for line in try lstore("log", "--events", "--json", "--reverse").lines {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let commit = object["commit"] as? [String: Any]
        let id = commit?["id"] as? String ?? "-"
        let item = (object["args"] as? [String: Any])?["id"] as? String ?? "?"
        if id == lastId, id != "-" {
          entries[entries.count - 1].items.append(item)
        } else {
          let message = commit?["message"] as? String ?? "(no commit)"
          entries.append(Entry(subject: String(message.split(separator: "\n", omittingEmptySubsequences: false).first ?? ""),
                               items: [item]))
        }
        lastId = id
      }
      return entries.map { Entry(subject: $0.subject, items: $0.items.sorted()) }
    }

    func gitHistory() throws -> [Entry] {
      var entries: [Entry] = []
      for line in try git("log", "--reverse", "--format=>%s", "--name-only").lines {
        if line.hasPrefix(">") { entries.append(Entry(subject: String(line.dropFirst()), items: [])) } else if !entries.isEmpty {
          entries[entries.count - 1].items.append(line)
        }
      }
      return entries.map { Entry(subject: $0.subject, items: $0.items.sorted()) }
    }

    /// How a plan names each commit: its id, or its event range when the id starts with "e"
    /// (read as an event today: see the FAILING commit).
    func lstoreReferences() throws -> [String: String] {
      var refs: [String: String] = [:]
      for line in try lstore("log", "--oneline", "--reverse").lines where !line.hasPrefix("- ") {
        let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
        guard parts.count == 3 else { continue }
        let full = Bool.random(using: &random)  // drawn for every commit, so scenarios stay reproducible
        refs[parts[2]] = parts[0].hasPrefix("e") ? parts[1] : (full ? parts[0] : String(parts[0].prefix(7)))
      }
      return refs
    }

    /// Whether a branch other than the current one contains the git commit.
    func isShared(_ hash: String) throws -> Bool {
      try git("branch", "--contains", hash, "--format=%(refname:short)").lines.contains { $0 != current }
    }

    func gitReferences() throws -> [String: String] {
      var refs: [String: String] = [:]
      for line in try git("log", "--format=%h %s").lines {
        let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
        if parts.count == 2 { refs[parts[1]] = parts[0] }
      }
      return refs
    }
  }

  func testRandomScenariosMatchGit() throws {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/git")
      || (try? Sandbox().start("/usr/bin/env", ["git", "--version"]).wait().status) == 0 else {
      throw XCTSkip("git is not installed")
    }
    let environment = ProcessInfo.processInfo.environment
    let seeds: [UInt64]
    if let text = environment["LSTORE_DIFF_SEED"], let seed = UInt64(text) {
      seeds = [seed]
    } else {
      let count = environment["LSTORE_DIFF_SCENARIOS"].flatMap(Int.init) ?? 15
      seeds = (0..<UInt64(count)).map { 1000 + $0 }
    }
    var steps: [String] = []
    for seed in seeds {
      steps += try play(seed: seed, operations: 9)
    }
    // The scenarios exercise what they claim to (over 15 seeds or more).
    if seeds.count >= 15 {
      for kind in ["squash", "fixup", "drop", "drops omitted", "rebase b", "rebase main", "switch"] {
        XCTAssertGreaterThanOrEqual(steps.filter { $0.contains(kind) }.count, 3, "too few steps with \(kind)")
      }
      XCTAssertGreaterThanOrEqual(steps.filter { $0.hasPrefix("rebase -i") }.count, 12)
    }
  }

  @discardableResult
  func play(seed: UInt64, operations: Int, allowSharedSquash: Bool = false) throws -> [String] {
    let scenario = try Scenario(seed: seed)
    scenario.allowSharedSquash = allowSharedSquash
    let environment = ProcessInfo.processInfo.environment
    let replay = "replay with LSTORE_DIFF_SEED=\(seed) swift test --skip-build --filter GitDifferentialTests"
    defer { if environment["LSTORE_DIFF_VERBOSE"] != nil { print("seed \(seed): \(scenario.log.joined(separator: " | "))") } }
    func check(_ label: String) throws -> Bool {
      let mine = try scenario.lstoreHistory()
      let theirs = try scenario.gitHistory()
      guard mine == theirs else {
        XCTFail("""
          seed \(seed), after \(label), on branch \(scenario.current): lstore and git differ (\(replay))
            lstore: \(mine)
            git:    \(theirs)
            steps:  \(scenario.log.joined(separator: " | "))
          """)
        return false
      }
      return true
    }
    do {
      // Two branches that have diverged: main c1 c2 c3, b1 c1 c2 c4.
      try scenario.commit()
      try scenario.commit()
      try scenario.branch()
      try scenario.commit()
      guard try check("setup") else { return scenario.log }
      try scenario.switchBranch()
      try scenario.commit()
      guard try check("setup") else { return scenario.log }
      for _ in 0..<operations {
        let roll = Int.random(in: 0..<100, using: &scenario.random)
        switch roll {
        case ..<30: try scenario.commit()
        case ..<38: try scenario.branches.count < 4 ? scenario.branch() : scenario.commit()
        case ..<55: try scenario.switchBranch()
        case ..<77: try scenario.rebaseOntoBranch()
        default: try scenario.rebaseWithPlan()
        }
        guard try check(scenario.log.last ?? "?") else { return scenario.log }
      }
      let fsck = try scenario.store.run("fsck", "--replay")
      XCTAssertEqual(fsck.status, 0, "seed \(seed): \(fsck) (\(replay)); steps: \(scenario.log.joined(separator: " | "))")
    } catch {
      XCTFail("seed \(seed): \(error) (\(replay)); steps: \(scenario.log.joined(separator: " | "))")
    }
    return scenario.log
  }
}
