import ArgumentParser
import Foundation
import LStoreKit

/// Options that apply to every command; given before the subcommand (`lstore -C dir log`).
public struct GlobalOptions: ParsableArguments {
  @Option(name: [.customShort("C")], help: ArgumentHelp(
    "Use the store found from <dir> (like git -C, but file arguments stay relative to the current directory).",
    valueName: "dir"),
          completion: .directory)
  public var directory: String?

  @Option(name: .long, help: ArgumentHelp(
    "Open a LiveStore eventlog file directly, read-only, without a store: storage format 4 (LiveStore 0.3) or 6 (0.4), found from its columns (log, show, status, export, fsck, sql, replay, diff, blame, materialize).",
    valueName: "path"), completion: .file(extensions: ["db"]))
  public var eventlog: String?

  @Option(name: .long, help: "When to color output: auto (only on a terminal, not with NO_COLOR), always, never.")
  public var color: ColorMode = .auto

  @Flag(name: [.short, .long], help: "Print no progress and no notes on stderr.")
  public var quiet = false

  public init() {}

  /// The directory commands start from.
  public var workingDirectory: String {
    StoreLocator.absolute(directory ?? ".", relativeTo: FileManager.default.currentDirectoryPath)
  }

  /// A path given on the command line: relative to the directory lstore was started in.
  /// The schema a command replays with: `--schema` when given, else the store's; an
  /// eventlog file alone has none (diff and blame need one).
  func replaySchema(_ override: String?, store: Store?) throws -> Schema {
    if let override { return try SchemaLoader.load(path: resolve(override)) }
    guard let store else { throw StateDiffError.noSchema }
    return try store.loadSchema()
  }

  public func resolve(_ path: String) -> String {
    StoreLocator.absolute(path, relativeTo: FileManager.default.currentDirectoryPath)
  }

  public func openStore() throws -> Store {
    if eventlog != nil {
      throw InputError.usage("--eventlog opens a file read-only; this command needs a store")
    }
    var isDirectory: ObjCBool = false
    if let directory, !FileManager.default.fileExists(atPath: workingDirectory, isDirectory: &isDirectory) || !isDirectory.boolValue {
      // As git: the directory itself is the problem, not a store missing above it.
      throw StoreError.notFound("cannot use -C \(directory): no such directory")
    }
    return try Store.discover(from: workingDirectory)
  }

  /// The eventlog to read: the `--eventlog` file, or the current branch's.
  public func openEventlogForReading() throws -> (Eventlog, Store?) {
    if let path = eventlog {
      let absolute = resolve(path)
      guard FileManager.default.fileExists(atPath: absolute) else {
        throw StoreError.notFound("no such file: \(path)")
      }
      let eventlog = try EventlogFile.openReadOnly(path: absolute)
      return (eventlog, nil)
    }
    let store = try openStore()
    return (try store.openEventlog(readOnly: true), store)
  }

  public var stdout: OutputStream { .standardOutput }
  public var stderr: OutputStream { .standardError }

  public var style: Style { Style(mode: color, isTerminal: OutputStream.standardOutput.isTerminal) }

  /// A note on stderr, unless --quiet.
  public func note(_ text: String) {
    if !quiet { stderr.line(text) }
  }
}

extension ColorMode: ExpressibleByArgument {}

/// The time stamped on commits: `LSTORE_DATE` when set (for reproducible scripts and
/// tests), else now.
enum Clock {
  static func now() -> String { ISODate.now() }
}
