import ArgumentParser
import Foundation
import LStoreKit

/// The root command. Subcommands are one file each under Commands/.
public struct LStoreCommand: AsyncParsableCommand {
  public static let version = "0.1.0"

  public static let configuration = CommandConfiguration(
    commandName: "lstore",
    abstract: "A git-like toolkit for LiveStore eventlogs.",
    discussion: """
      lstore works on LiveStore's own files (eventlog@4.db and state<hash>@4.db, or \
      LiveStore 0.4's eventlog@6.db and state<hash>@6.db): commit \
      events, read history, rebuild state, export and import. A store is a .lstore \
      directory, found from the current directory upward like git's .git.

      Exit codes: 0 success, 1 failure, 2 refused by the store's state, 3 push rejected \
      (remote ahead), 4 rebase stopped on a conflict, 5 replay: the state differs from \
      --against, 6 replay: events failed, 64 usage error, 65 invalid input, 66 not found, \
      69 remote unavailable, 130 interrupted.
      """,
    version: version,
    groupedSubcommands: [
      CommandGroup(name: "Start a store", subcommands: [InitCommand.self, ConfigCommand.self]),
      CommandGroup(name: "Record and inspect", subcommands: [
        CommitCommand.self, LogCommand.self, ShowCommand.self, StatusCommand.self, SqlCommand.self, DiffCommand.self, BlameCommand.self,
      ]),
      CommandGroup(name: "Branches and history", subcommands: [
        BranchCommand.self, SwitchCommand.self, RebaseCommand.self, CherryPickCommand.self, RevertCommand.self,
        ResetCommand.self, ReflogCommand.self,
      ]),
      CommandGroup(name: "State and repair", subcommands: [MaterializeCommand.self, FsckCommand.self, RepairCommand.self, ReplayCommand.self, ConvertCommand.self]),
      CommandGroup(name: "Move events", subcommands: [ExportCommand.self, ImportCommand.self]),
      CommandGroup(name: "Sync", subcommands: [RemoteCommand.self, PushCommand.self, PullCommand.self, ServeCommand.self]),
    ]
  )

  @OptionGroup public var global: GlobalOptions

  public init() {}

  /// The position (1-based) of the first command-line argument that is not UTF-8.
  static func invalidUTF8Argument() -> Int? {
    for index in 1..<Int(CommandLine.argc) {
      guard let pointer = CommandLine.unsafeArgv[index] else { continue }
      let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer))
      if String(validating: bytes, as: UTF8.self) == nil { return index }
    }
    return nil
  }

  /// Parses, runs, and maps library errors to one line on stderr and a documented exit code.
  public static func entryPoint() async {
    signal(SIGPIPE, SIG_DFL)
    // Swift repairs invalid UTF-8 in arguments with U+FFFD; the same bytes in a file are
    // refused, so they are refused here too, before anything reads them.
    if let bad = invalidUTF8Argument() {
      OutputStream.standardError.line("lstore: error: argument \(bad) is not valid UTF-8")
      OutputStream.standardError.flush()
      Foundation.exit(ExitStatus.invalidInput.rawValue)
    }
    // An unknown command word: git's message, before ArgumentParser calls it an unexpected
    // argument of the root command.
    if let message = UsageErrors.unknownCommand(in: Array(CommandLine.arguments.dropFirst())) {
      OutputStream.standardError.line("lstore: error: \(message)")
      OutputStream.standardError.flush()
      Foundation.exit(ExitStatus.usage.rawValue)
    }
    do {
      var command = try parseAsRoot(LogCommand.expandingCountShorthand(Array(CommandLine.arguments.dropFirst())))
      if var asyncCommand = command as? AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
      OutputStream.standardOutput.flush()
    } catch {
      OutputStream.standardOutput.flush()
      ProgressReporter.clearAll()
      if let (status, message) = ExitStatus.classify(error) {
        OutputStream.standardError.line("lstore: error: \(message)")
        OutputStream.standardError.flush()
        Foundation.exit(status.rawValue)
      }
      if let error = error as? StreamError {
        OutputStream.standardError.line("lstore: error: \(error.description)")
        Foundation.exit(ExitStatus.failure.rawValue)
      }
      // A command's own exit status (fsck with findings): it has said what it had to.
      if let exit = error as? ExitCode { Foundation.exit(exit.rawValue) }
      if String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
        // --help, --version, completion requests: ArgumentParser prints those itself.
        guard exitCode(for: error) != .success else { exit(withError: error) }
        // Usage errors: one line in lstore's format, like every other error.
        OutputStream.standardError.line("lstore: error: \(UsageErrors.oneLine(fullMessage(for: error)))")
        OutputStream.standardError.flush()
        Foundation.exit(ExitStatus.usage.rawValue)
      }
      OutputStream.standardError.line("lstore: error: \(error)")
      Foundation.exit(ExitStatus.failure.rawValue)
    }
  }
}
