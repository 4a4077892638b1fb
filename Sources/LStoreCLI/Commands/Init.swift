import ArgumentParser
import Foundation
import LStoreKit

struct InitCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "init",
    abstract: "Create a store (.lstore/) with an empty eventlog and its state.",
    discussion: """
      The schema is checked first; a schema error creates nothing. The files are in \
      LiveStore 0.3's storage format 4 (eventlog@4.db) unless --format 6 asks for \
      LiveStore 0.4's (eventlog@6.db, with rebase generations); 'lstore convert' changes \
      it later. See docs/formats.md.
      """)

  @ParentCommand var root: LStoreCommand

  @Option(name: .long, help: ArgumentHelp("The schema file (YAML or JSON).", valueName: "path"),
          completion: .file(extensions: ["yaml", "yml", "json"]))
  var schema: String

  @Option(name: .customLong("store-id"), help: "The storeId used on sync backends (default: the directory's name).")
  var storeId: String?

  @Option(name: .customLong("client-id"), help: "This client's id (default: a random 6-character id).")
  var clientId: String?

  @Option(name: .customLong("session-id"), help: "The session id stamped on events (default: a random 6-character id).")
  var sessionId: String?

  @Option(name: .long, help: ArgumentHelp("LiveStore's storage format of the files: 4 (LiveStore 0.3) or 6 (LiveStore 0.4).",
                                          valueName: "4|6"))
  var format: StorageFormatArgument = .init(format: .storeDefault)

  @Argument(help: ArgumentHelp("Where to create the store (default: the current directory).", valueName: "directory"),
            completion: .directory)
  var path: String?

  func run() throws {
    let global = root.global
    let base = global.workingDirectory
    let target = StoreLocator.absolute(path ?? ".", relativeTo: base)
    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
    let schemaPath = global.resolve(schema)
    let defaultID = URL(fileURLWithPath: target).lastPathComponent.map { c -> Character in
      c.isLetter || c.isNumber || c == "-" || c == "_" || c == "." ? c : "_"
    }
    let store = try Store.initialize(
      in: target,
      options: .init(schemaPath: schemaPath, storeId: storeId ?? String(defaultID.prefix(64)), clientId: clientId,
                     sessionId: sessionId, format: format.format),
      now: Clock.now())
    global.stdout.line("Initialized store '\(store.config.storeId)' in \(store.directory)")
  }
}

/// `--format 4|6`, shared by `init` and `convert`.
struct StorageFormatArgument: ExpressibleByArgument {
  var format: StorageFormat
  init(format: StorageFormat) { self.format = format }
  init?(argument: String) {
    guard let value = Int(argument), let format = StorageFormat(rawValue: value) else { return nil }
    self.format = format
  }
  var defaultValueDescription: String { "\(format.rawValue)" }
  static var allValueStrings: [String] { StorageFormat.allCases.map { "\($0.rawValue)" } }
}
