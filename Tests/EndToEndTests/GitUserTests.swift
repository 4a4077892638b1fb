import Foundation
import XCTest

/// What a git user expects of the command line (issue 11): git's treatment of unknown
/// commands and options in lstore's one error format, network errors a user can act on,
/// exit codes as the README's table says.
final class GitUserTests: XCTestCase {
  var sandbox: Sandbox!

  override func setUpWithError() throws {
    sandbox = try Sandbox()
    try sandbox.initStore()
    assertStatus(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t1","text":"Buy milk"}"#, "-m", "First"), 0)
  }

  override func tearDown() { sandbox = nil }

  // MARK: - Unknown commands and options

  func testUnknownCommandNamesTheMostSimilarOne() throws {
    let typo = try sandbox.lstore("stauts")
    assertError(typo, 64, [])
    XCTAssertEqual(typo.stderr,
                   "lstore: error: 'stauts' is not an lstore command. See 'lstore --help'. The most similar command is 'status'.\n")
    // After global options too.
    assertError(try sandbox.lstore("-C", ".", "--color", "never", "sho", "e1"), 64,
                ["'sho' is not an lstore command", "The most similar command is 'show'"])
    // help of an unknown command.
    assertError(try sandbox.lstore("help", "stauts"), 64, ["'stauts' is not an lstore command", "'status'"])
    assertStatus(try sandbox.lstore("help", "status"), 0)
    // Nothing close: no suggestion.
    let far = try sandbox.lstore("frobnicate")
    assertError(far, 64, ["'frobnicate' is not an lstore command. See 'lstore --help'."])
    XCTAssertFalse(far.stderr.contains("similar"), far.stderr)
    // A subcommand of remote.
    assertError(try sandbox.lstore("remote", "ad", "origin", "ws://127.0.0.1:1"), 64,
                ["'ad' is not an 'lstore remote' command", "'lstore remote add'"])
  }

  func testGitCommandsLStoreLacksNameTheLStoreWay() throws {
    assertError(try sandbox.lstore("checkout", "main"), 64,
                ["'checkout' is not an lstore command", "The lstore way: 'lstore switch <branch>'"])
    assertError(try sandbox.lstore("add", "x"), 64, ["lstore has no index", "'lstore commit <name> <args>'"])
    assertError(try sandbox.lstore("merge", "feat"), 64, ["'lstore rebase <branch>'"])
    assertError(try sandbox.lstore("fetch"), 64, ["'lstore pull'"])
    // reset is an lstore command: its own errors, not "not a command".
    let reset = try sandbox.lstore("reset", "e3")
    XCTAssertFalse(reset.stderr.contains("not an lstore command"), "\(reset)")
    XCTAssertTrue(reset.stderr.hasPrefix("lstore: error: "), "\(reset)")
  }

  /// Every usage error, ArgumentParser's included, is one `lstore: error:` line naming the
  /// command's --help; no `Error:` prefix, no usage block.
  func testArgumentParserErrorsUseTheOneErrorFormat() throws {
    let cases: [([String], [String])] = [
      (["log", "--bogus"], ["unknown option '--bogus'", "See 'lstore log --help'."]),
      (["log", "--jsno"], ["unknown option '--jsno'", "Did you mean '--json'?"]),
      (["init"], ["missing expected argument '--schema <path>'", "See 'lstore init --help'."]),
      (["show"], ["missing expected argument '<ref>'", "See 'lstore show --help'."]),
      (["commit", "v1.TodoCreated", "{}", "--file", "x.ndjson"], ["give either an event", "See 'lstore commit --help'."]),
      (["commit", "--file"], ["missing value for '--file <path>'"]),
      (["serve", "--port", "70000"], ["--port must be between 0 and 65535"]),
      (["--color", "purple", "log"], ["purple"]),
      (["log", "extra", "words", "here"], ["unexpected argument"]),
    ]
    for (arguments, fragments) in cases {
      let result = try sandbox.lstore(arguments)
      assertError(result, 64, fragments)
      XCTAssertFalse(result.stderr.contains("Error:"), "\(arguments): \(result)")
      XCTAssertFalse(result.stderr.contains("Usage:"), "\(arguments): \(result)")
    }
    // --help and --version still print and exit 0.
    XCTAssertTrue(try sandbox.lstore("log", "--help").stdout.contains("USAGE: lstore log"))
    assertStatus(try sandbox.lstore("--version"), 0)
    assertStatus(try sandbox.lstore("help", "log"), 0)
  }

  // MARK: - Network errors

  /// A loopback port nothing listens on (bound and released by this process).
  static func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw SandboxError(message: "socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw SandboxError(message: "bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  func testNothingListeningIsSaidPlainly() throws {
    let port = try Self.closedPort()
    for url in ["ws://127.0.0.1:\(port)", "http://127.0.0.1:\(port)"] {
      for command in ["push", "pull"] {
        let result = try sandbox.lstore(command, url)
        assertError(result, 69, ["nothing listens on 127.0.0.1:\(port)", "is the server running?"])
        for leak in ["SingleConnectionFailure", "Connection errors", "errno", "Couldn't connect"] {
          XCTAssertFalse(result.stderr.contains(leak), "\(command) \(url): \(result)")
        }
      }
    }
  }

  func testARefusedAuthTokenIsSaidTheSameOverWebSocketAndHTTPAndLogged() throws {
    let server = try SyncEndToEndTests.Server(sandbox: sandbox, extra: ["--auth-token", "s3cret-token"])
    defer { server.kill() }
    for url in [server.url, server.httpURL] {
      let wrong = try sandbox.lstore("push", url, "--auth-token", "wrong-token-123")
      assertError(wrong, 69, ["the server refused the auth token (\(url)"])
      XCTAssertFalse(wrong.stderr.contains("upgrade"), wrong.stderr)
      let missing = try sandbox.lstore("push", url)
      assertError(missing, 69, ["the server requires an auth token (\(url))", "LSTORE_AUTH_TOKEN"])
    }
    assertStatus(try sandbox.lstore("push", server.httpURL, "--auth-token", "s3cret-token"), 0)
    // Each refused connection is in the server's log, with its reason and without the token.
    let log = try waitFor("the server's log of 4 refusals") { () -> String? in
      let log = server.log
      return log.components(separatedBy: "connection refused").count - 1 >= 4 ? log : nil
    }
    XCTAssertTrue(log.contains("Invalid auth token"), log)
    XCTAssertTrue(log.contains("Missing auth token"), log)
    XCTAssertFalse(log.contains("wrong-token-123"), log)
    XCTAssertFalse(log.contains("s3cret-token"), log)
    XCTAssertTrue(log.contains("storeId=todos"), log)
  }

  func testAFollowingPullSaysWhenItsConnectionDropsAndComesBack() throws {
    var server: SyncEndToEndTests.Server? = try SyncEndToEndTests.Server(sandbox: sandbox)
    let port = server!.port
    let url = server!.url
    let follow = try sandbox.start(LStoreBinary.path, ["pull", "--follow", url])
    defer { follow.kill(SIGTERM); _ = try? follow.wait() }
    let stderr = { (try? String(contentsOfFile: follow.errPath, encoding: .utf8)) ?? "" }
    _ = try waitFor("Following") { stderr().contains("Following \(url)") ? true : nil }
    server!.kill(SIGKILL)
    _ = try waitFor("the lost line") { stderr().contains("Connection to \(url) lost; reconnecting") ? true : nil }
    XCTAssertFalse(stderr().contains("Reconnected"), stderr())
    // The same port again (the follower keeps retrying it).
    server = try SyncEndToEndTests.Server(sandbox: sandbox, port: port)
    _ = try waitFor("the reconnected line") { stderr().contains("Reconnected to \(url)") ? true : nil }
    XCTAssertTrue(follow.process.isRunning)
    server?.kill()
  }

  // MARK: - materialize --until

  func testMaterializeUntilLeavesTheBranchStateCurrentAndRefusesPastTheHead() throws {
    assertStatus(try sandbox.lstore("commit", "v1.TodoCompleted", #"{"id":"t1"}"#, "-m", "Done"), 0)
    let state = try sandbox.statePath()
    let before = try sandbox.sqlite(state, "SELECT * FROM todos")
    // Without -o: refused with the command to run instead; nothing changed.
    assertError(try sandbox.lstore("materialize", "--until", "e1"), 64,
                ["--until e1 builds a past state", "'lstore materialize --until e1 -o state-e1.db'"])
    XCTAssertEqual(try sandbox.sqlite(state, "SELECT * FROM todos"), before)
    // With -o: the past state in that file, the branch's state untouched, commit works.
    assertStatus(try sandbox.lstore("materialize", "--until", "e1", "-o", "past.db"), 0)
    XCTAssertEqual(try sandbox.sqlite("past.db", "SELECT id, completed FROM todos"), "t1|0\n")
    XCTAssertEqual(try sandbox.sqlite(state, "SELECT * FROM todos"), before)
    assertStatus(try sandbox.lstore("commit", "v1.TodoCreated", #"{"id":"t2","text":"x"}"#), 0)
    // The head itself needs no -o (it is the current state).
    assertStatus(try sandbox.lstore("materialize", "--until", "e3"), 0)
    // Past the head: the error `branch x e20` gives, and no file.
    let branch = try sandbox.lstore("branch", "x", "e20")
    let past = try sandbox.lstore("materialize", "--until", "e20", "-o", "far.db")
    assertError(past, branch.status, ["no event e20 (head is e3)"])
    XCTAssertEqual(past.stderr, branch.stderr)
    XCTAssertFalse(sandbox.exists("far.db"))
  }

  // MARK: - Progress and interrupts

  /// Runs `command` (a shell line) on a pseudo-terminal (script(1)); the terminal's output
  /// goes to `transcript`. Returns the running script and the file where the shell wrote
  /// its pid (lstore's, after exec).
  func onTerminal(_ command: String, transcript: String) throws -> (RunningCommand, String) {
    let pidFile = sandbox.path("\(transcript).pid")
    // \$\$: expanded by the shell script(1) starts, not by the one that starts script.
    let line = #"echo \$\$ > '"# + pidFile + "'; exec " + command
    let running = try sandbox.start("/bin/bash", ["-c", "script -qec \"\(line)\" /dev/null > '\(sandbox.path(transcript))'"],
                                    env: ["TERM": "xterm"])
    return (running, pidFile)
  }

  func transcript(_ name: String) -> String { (try? String(contentsOfFile: sandbox.path(name), encoding: .utf8)) ?? "" }

  func testProgressOnATerminalIsClearedAndCtrlCSaysNothingWasWritten() throws {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { throw XCTSkip("no script(1)") }
    let count = 100_000
    var lines = ""
    lines.reserveCapacity(count * 64)
    for i in 0..<count { lines += #"{"name":"v1.TodoCreated","args":{"id":"p\#(i)","text":"todo \#(i)"}}"# + "\n" }
    try sandbox.write("many.ndjson", lines)
    let clearLine = "\r\u{1B}[K"

    // commit --file: progress on the terminal, cleared before the result.
    let (commit, _) = try onTerminal("lstore commit --file many.ndjson -m many", transcript: "commit.out")
    assertStatus(try commit.wait(), 0)
    let committed = transcript("commit.out")
    XCTAssertTrue(committed.contains("\rcommitting: "), committed.suffix(300).debugDescription)
    let result = try XCTUnwrap(committed.range(of: "] e2..e\(count + 1) many (\(count) events)"), committed.suffix(300).debugDescription)
    let lastProgress = try XCTUnwrap(committed.range(of: "\rcommitting: ", options: .backwards))
    XCTAssertTrue(committed[lastProgress.upperBound..<result.lowerBound].contains(clearLine + "["),
                  "cleared before the result: \(committed.suffix(300).debugDescription)")
    // Not on a terminal: no progress at all.
    try sandbox.write("few.ndjson", String(lines.prefix(64 * 5000)).split(separator: "\n").dropLast().map { $0.replacingOccurrences(of: #""p"#, with: #""q"#) }.joined(separator: "\n") + "\n")
    let piped = try sandbox.lstore("commit", "--file", "few.ndjson")
    assertStatus(piped, 0)
    XCTAssertEqual(piped.stderr, "")

    // fsck --replay and materialize: progress too, cleared.
    for (command, label) in [("lstore fsck --replay", "replaying: "), ("lstore materialize", "materializing: ")] {
      let (running, _) = try onTerminal(command, transcript: "step.out")
      assertStatus(try running.wait(), 0)
      let text = transcript("step.out")
      XCTAssertTrue(text.contains("\r" + label), "\(command): \(text.suffix(300).debugDescription)")
      let last = try XCTUnwrap(text.range(of: "\r" + label, options: .backwards))
      XCTAssertTrue(text[last.upperBound...].contains(clearLine), "\(command): the line is cleared: \(text.suffix(300).debugDescription)")
    }

    // Ctrl-C during an import: the line cleared, one line saying nothing was written, 130,
    // and nothing was.
    assertStatus(try sandbox.lstore("export", "-o", "all.ndjson"), 0)
    try sandbox.initStore("other")
    let (importing, pidFile) = try onTerminal("lstore -C other import all.ndjson", transcript: "import.out")
    try waitFor("the import's progress") { transcript("import.out").contains("\rimporting: ") ? true : nil }
    let pid = try XCTUnwrap(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
    kill(pid, SIGINT)
    let interrupted = try importing.wait()
    XCTAssertEqual(interrupted.status, 130, "\(interrupted)")
    let text = transcript("import.out")
    XCTAssertTrue(text.hasSuffix(clearLine + "lstore: error: interrupted; nothing was written\r\n"), text.suffix(300).debugDescription)
    XCTAssertFalse(text.contains("Imported"), text.suffix(300).debugDescription)
    XCTAssertEqual(jsonLines(try sandbox.lstore("-C", "other", "status", "--json")).first?["events"] as? Int, 0)
    assertStatus(try sandbox.lstore("-C", "other", "fsck"), 0)
  }

  func testFsckJSONOnACleanStorePrintsItsSummary() throws {
    let clean = try sandbox.lstore("fsck", "--json")
    assertStatus(clean, 0)
    XCTAssertEqual(clean.lines, [#"{"summary":"fsck","events":1,"errors":0,"warnings":0,"omitted":0}"#])
  }

  // MARK: - Wording

  func testWordingAfterAPushAndForBadBranchNames() throws {
    // A client-only event under the pushed head.
    assertStatus(try sandbox.lstore("commit", "uiStateSet", #"{"value":{"filter":"active"}}"#), 0)
    assertStatus(try sandbox.lstore("commit", "v1.TodoCompleted", #"{"id":"t1"}"#, "-m", "Done"), 0)
    try sandbox.initStore("remote")
    assertStatus(try sandbox.lstore("push", "remote"), 0)
    let status = try sandbox.lstore("status")
    XCTAssertTrue(status.stdout.contains("Backend head: e2 — 0 pending to push; 1 client-only event (never pushed)"), status.stdout)
    let json = try XCTUnwrap(jsonLines(try sandbox.lstore("status", "--json")).first)
    XCTAssertEqual(json["clientOnly"] as? Int, 1)
    XCTAssertEqual(json["pending"] as? Int, 0)

    // A confirmed event: its rows derived by replay, as for a pending one.
    let shown = try sandbox.lstore("show", "e1")
    assertStatus(shown, 0)
    XCTAssertTrue(shown.stdout.hasSuffix("Changes (derived by replaying the eventlog up to e1):\n  INSERT todos (id='t1', text='Buy milk', completed=0, deletedAt=NULL)\n"), shown.stdout)
    XCTAssertFalse(shown.stdout.contains("not recorded"), shown.stdout)
    let first = try XCTUnwrap(jsonLines(try sandbox.lstore("show", "--json", "e1")).first)
    XCTAssertEqual(first["changesReplayed"] as? Bool, true)
    let changes = try XCTUnwrap(first["changes"] as? [[String: Any]])
    XCTAssertEqual(changes.count, 1)
    XCTAssertEqual(changes.first?["operation"] as? String, "insert")
    XCTAssertEqual((changes.first?["new"] as? [String: Any])?["text"] as? String, "Buy milk")
    // The state itself is untouched by the replay.
    XCTAssertEqual(try sandbox.sqlite(try sandbox.statePath(), "SELECT id, completed FROM todos"), "t1|1\n")

    // Branch names are branch names, never events.
    for arguments in [["branch", "bad name"], ["branch", "bad name", "e1"], ["switch", "-c", "bad name"], ["branch", "-m", "bad name"]] {
      let result = try sandbox.lstore(arguments)
      assertError(result, 65, ["invalid branch name 'bad name'"])
      XCTAssertFalse(result.stderr.contains("event"), "\(arguments): \(result)")
    }
    // Nor names a revision reads as something else: `reset --hard e1` must stay event e1.
    let branchesBefore = try sandbox.lstore("branch", "--json").stdout
    for name in ["e1", "HEAD", "7", "e2.1"] {
      for arguments in [["branch", name], ["switch", "-c", name], ["branch", "-m", name]] {
        assertError(try sandbox.lstore(arguments), 65, ["invalid branch name '\(name)'"])
      }
    }
    assertError(try sandbox.lstore("branch", "--", "-x"), 65, ["invalid branch name '-x'"])
    XCTAssertEqual(try sandbox.lstore("branch", "--json").stdout, branchesBefore, "no branch was made or renamed")
  }

  // MARK: - Install and demo

  func testInstallPutsTheBinaryManPagesAndCompletionsUnderThePrefix() throws {
    let script = LStoreBinary.repositoryRoot.appendingPathComponent("scripts/install.sh").path
    let prefix = sandbox.path("prefix")
    // --binary: the binary under test, no build (a release build is too slow for a test).
    let installed = try sandbox.shell("bash '\(script)' --prefix '\(prefix)' --binary '\(LStoreBinary.path)'")
    assertStatus(installed, 0)
    XCTAssertTrue(installed.stdout.contains("installed lstore \(try sandbox.lstore("--version").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) as \(prefix)/bin/lstore"), "\(installed)")
    XCTAssertTrue(installed.stdout.contains("export PATH=\"\(prefix)/bin:$PATH\""), "not on PATH yet: \(installed)")
    for file in ["bin/lstore", "share/man/man1/lstore.1", "share/man/man7/lstore-revisions.7", "share/man/man1/lstore-log.1", "share/man/man1/lstore-remote-add.1",
                 "share/bash-completion/completions/lstore", "share/zsh/site-functions/_lstore",
                 "share/fish/vendor_completions.d/lstore.fish"] {
      XCTAssertTrue(sandbox.exists("prefix/" + file), "no \(file)")
    }
    // On PATH, lstore and `man lstore-log` work.
    let used = try sandbox.shell("export PATH='\(prefix)/bin':/usr/bin:/bin; cd '\(sandbox.root)'; lstore log --oneline",
                                 env: ["PATH": "/usr/bin:/bin"])
    XCTAssertTrue(used.stdout.contains(" e1 First"), "\(used)")
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/man") {
      let page = try sandbox.shell("MANPATH='\(prefix)/share/man' man -w lstore-log")
      XCTAssertEqual(page.stdout, "\(prefix)/share/man/man1/lstore-log.1\n", "\(page)")
    }
    // A second install over the first is fine; a wrong option is a usage error.
    assertStatus(try sandbox.shell("bash '\(script)' --prefix '\(prefix)' --binary '\(LStoreBinary.path)' --quiet"), 0)
    assertStatus(try sandbox.shell("bash '\(script)' --prefix '\(prefix)' --frobnicate"), 64)
    assertStatus(try sandbox.shell("bash '\(script)' --prefix '\(prefix)' --binary '\(sandbox.path("nope"))'"), 66)
  }

  func testTheDemoPrintsOnlyItsCommandsQuotedToPasteAndTheirOutput() throws {
    let script = LStoreBinary.repositoryRoot.appendingPathComponent("scripts/demo.sh").path
    let demo = try sandbox.shell("bash '\(script)' --binary '\(LStoreBinary.path)'",
                                 env: ["LSTORE_DEMO_DIR": sandbox.path("demo"), "NO_COLOR": ""])
    assertStatus(demo, 0)
    let output = demo.stdout + demo.stderr
    XCTAssertFalse(output.contains("\u{1B}"), "no escape codes into a file or pipe")
    for noise in ["Compiling", "Building", "warning:", "Fetching", "install:"] {
      XCTAssertFalse(output.contains(noise), "\(noise) in the demo's output")
    }
    XCTAssertTrue(demo.stdout.contains("Pushed 1 event to ws://"), demo.stdout)
    // Each echoed command, pasted into a shell, gives back the words that were run.
    let commandLines = demo.lines.filter { $0.hasPrefix("$ lstore ") }
    XCTAssertGreaterThan(commandLines.count, 20)
    let alice = try XCTUnwrap(commandLines.first { $0.contains("Alice") && $0.contains(" commit ") }, "\(commandLines)")
    let words = try sandbox.shell("lstore() { printf '%s\\n' \"$@\"; }; " + alice.dropFirst(2))
    XCTAssertEqual(words.lines, ["-C", sandbox.path("demo/alice"), "commit", "v1.TodoCreated",
                                 #"{"id":"t5","text":"Book the dentist"}"#, "-m", "Alice's todo"], alice)
    // Every line is a command, its output, or blank: the demo says nothing of its own but
    // its closing line and the server's port.
    XCTAssertTrue(demo.stdout.hasSuffix("Demo stores are in \(sandbox.path("demo")) (alice and bob; backend in \(sandbox.path("demo"))/backend).\n"))
  }

  // MARK: - Man pages and completions

  func testManPagesAreNamedAsGitsWithEveryCharacterIntact() throws {
    let man = LStoreBinary.repositoryRoot.appendingPathComponent("man").path
    let pages = try FileManager.default.contentsOfDirectory(atPath: man).sorted()
    XCTAssertTrue(pages.contains("lstore.1"), "\(pages)")
    for page in ["lstore-log.1", "lstore-show.1", "lstore-switch.1", "lstore-remote-add.1"] {
      XCTAssertTrue(pages.contains(page), "no \(page) in \(pages)")
    }
    XCTAssertEqual(pages.filter { $0.hasPrefix("lstore.") && $0 != "lstore.1" }, [], "git's naming is lstore-<command>.1")
    let log = try String(contentsOfFile: man + "/lstore-log.1", encoding: .utf8)
    XCTAssertTrue(log.contains(".Dt LSTORE-LOG 1"), log)
    XCTAssertFalse(log.contains(#""name":,"#), "a dropped …: \(log)")
    XCTAssertTrue(log.contains(#""name":\[u2026],"args":{\[u2026]}"#), log)
    let root = try String(contentsOfFile: man + "/lstore.1", encoding: .utf8)
    XCTAssertTrue(root.contains(".Xr lstore-log 1"), root)
    // Rendered as man shows it: the … is there, and the JSON example is not broken up.
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/man") else { return }
    let rendered = try sandbox.shell("MANWIDTH=80 man -l \(man)/lstore-log.1 2>/dev/null", env: ["LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"])
    XCTAssertTrue(rendered.stdout.contains(#"{"seqNum":"e3","parentSeqNum":"e2","name":…,"args":{…},"#), rendered.stdout)
  }

  func testLogHelpKeepsItsJSONExampleWhole() throws {
    let help = try sandbox.lstore("log", "--help")
    XCTAssertTrue(help.lines.contains(#"  {"seqNum":"e3","parentSeqNum":"e2","name":…,"args":{…},"#), help.stdout)
    XCTAssertTrue(help.lines.contains(#"   "commit":{"id":…,"message":…}|null}"#), help.stdout)
    // No command's help has a line broken into a blank-looking line (a word longer than the
    // width), or runs of spaces inside a sentence.
    let commands = try sandbox.lstore("--help").lines.filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }
      .compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0.first?.isLetter == true }
    XCTAssertGreaterThan(commands.count, 15, "\(commands)")
    for command in commands {
      let text = try sandbox.lstore(command, "--help").stdout
      for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        XCTAssertFalse(!line.isEmpty && line.allSatisfy { $0 == " " }, "\(command) --help: a line of spaces")
        XCTAssertNil(line.range(of: #"[a-z,;.]      +[a-z]"#, options: .regularExpression), "\(command) --help: \(line)")
      }
    }
  }

  /// Completes `words` (the last one being completed) with the committed bash script.
  func complete(_ words: [String], cwd: String = ".") throws -> [String] {
    let script = LStoreBinary.repositoryRoot.appendingPathComponent("completions/lstore.bash").path
    let quoted = words.map { "'" + $0 + "'" }.joined(separator: " ")
    let result = try sandbox.shell("""
      cd \(sandbox.path(cwd)) && source \(script)
      COMP_WORDS=(\(quoted)); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
      COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
      _lstore lstore "${COMP_WORDS[$COMP_CWORD]}" "${COMP_WORDS[$COMP_CWORD-1]}"
      printf '%s\\n' "${COMPREPLY[@]}"
      """)
    XCTAssertEqual(result.stderr, "", "\(words): \(result)")
    return result.lines
  }

  func testCompletionOffersBranchesRemotesAndEventNames() throws {
    assertStatus(try sandbox.lstore("branch", "feature-x"), 0)
    assertStatus(try sandbox.lstore("remote", "add", "origin", "ws://127.0.0.1:1"), 0)
    assertStatus(try sandbox.lstore("remote", "add", "backup", "http://127.0.0.1:2"), 0)
    XCTAssertEqual(try complete(["lstore", "switch", ""]), ["feature-x", "main"])
    XCTAssertEqual(try complete(["lstore", "switch", "fe"]), ["feature-x"])
    XCTAssertEqual(try complete(["lstore", "branch", "-d", ""]), ["feature-x", "main"])
    XCTAssertEqual(try complete(["lstore", "push", ""]), ["backup", "origin"])
    XCTAssertEqual(try complete(["lstore", "pull", "o"]), ["origin"])
    XCTAssertEqual(try complete(["lstore", "remote", "remove", ""]), ["backup", "origin"])
    XCTAssertEqual(try complete(["lstore", "commit", "v1.TodoC"]),
                   ["v1.TodoClearedCompleted", "v1.TodoCompleted", "v1.TodoCreated"])
    // Revisions: branches, HEAD, and commit ids by their first characters.
    XCTAssertEqual(try complete(["lstore", "reset", ""]), ["feature-x", "main", "HEAD"])
    let id = try XCTUnwrap(jsonLines(try sandbox.lstore("log", "--json")).first?["commit"] as? [String: Any])["id"] as! String
    XCTAssertEqual(try complete(["lstore", "revert", String(id.prefix(3))]), [id])
    XCTAssertEqual(try complete(["lstore", "rebase", "ma"]), ["main"])
    // From elsewhere, with -C; and outside any store, nothing (and no error).
    XCTAssertEqual(try complete(["lstore", "-C", sandbox.root, "switch", ""], cwd: "/"), ["feature-x", "main"])
    XCTAssertEqual(try complete(["lstore", "switch", ""], cwd: "/"), [])
  }

  func testServeSaysWhenItsPortIsTaken() throws {
    let server = try SyncEndToEndTests.Server(sandbox: sandbox)
    defer { server.kill() }
    let second = try sandbox.lstore("serve", "--port", String(server.port), "--data", "other")
    assertError(second, 1, ["cannot listen on 127.0.0.1:\(server.port): the port is in use", "--port 0"])
    XCTAssertFalse(second.stderr.contains("errno"), second.stderr)
    XCTAssertFalse(sandbox.exists("other"), "a server that never listened leaves no data directory behind")
    assertError(try sandbox.lstore("serve", "--host", "999.1.1.1", "--port", "0", "--data", "other"), 64,
                ["'999.1.1.1' is not an address of this machine"])
    XCTAssertFalse(sandbox.exists("other"))
    // One that existed stays, with what it holds.
    try FileManager.default.createDirectory(atPath: sandbox.path("kept"), withIntermediateDirectories: true)
    _ = try sandbox.write("kept/notes.txt", "mine")
    assertError(try sandbox.lstore("serve", "--port", String(server.port), "--data", "kept"), 1, ["the port is in use"])
    XCTAssertTrue(sandbox.exists("kept/notes.txt"))
  }
}
