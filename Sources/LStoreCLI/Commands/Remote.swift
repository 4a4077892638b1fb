import ArgumentParser
import Foundation
import LStoreKit

struct RemoteCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "remote",
    abstract: "Manage the backends this store pushes to and pulls from.",
    discussion: """
      A remote is a URL: ws://host:port (LiveStore's sync protocol, as lstore serve and \
      LiveStore's Cloudflare backend speak it), http://host:port (lstore's HTTP API), or a \
      path to another store on disk (offline transfer). The first remote added becomes the \
      default for push and pull.
      """,
    subcommands: [Add.self, Remove.self, List.self, SetDefault.self],
    defaultSubcommand: List.self)

  struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Add a remote.")
    @ParentCommand var remote: RemoteCommand
    @Argument(help: "The remote's name, e.g. origin.") var name: String
    @Argument(help: "ws://host:port, http://host:port, or a path to another store.") var url: String
    @Option(name: .customLong("store-id"), help: "The storeId on that backend (default: this store's).")
    var storeId: String?
    @Flag(name: .long, help: "Make it the default remote.") var `default` = false

    func run() throws {
      let store = try remote.root.global.openStore()
      guard Identifiers.isValidStoreID(name) else { throw InputError.usage("invalid remote name '\(name)'") }
      if store.config.remotes?[name] != nil {
        throw StoreError.remoteExists(name)
      }
      if let storeId, !Identifiers.isValidStoreID(storeId) { throw StoreError.invalidStoreId(storeId) }
      try RemoteLocation.checkScheme(url)
      let location = RemoteLocation.normalize(url, relativeTo: FileManager.default.currentDirectoryPath)
      try store.updateConfig { config in
        config.remotes = (config.remotes ?? [:]).merging([name: .init(url: location, storeId: storeId)]) { $1 }
        if `default` || config.defaultRemote == nil { config.defaultRemote = name }
      }
      remote.root.global.stdout.line("Added remote '\(name)' → \(location)\(store.config.defaultRemote == name ? " (default)" : "")")
    }
  }

  struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove a remote.")
    @ParentCommand var remote: RemoteCommand
    @Argument(help: "The remote's name.", completion: Completions.remotes) var name: String

    func run() throws {
      let store = try remote.root.global.openStore()
      guard store.config.remotes?[name] != nil else { throw StoreError.notFound("no remote '\(name)'") }
      try store.updateConfig { config in
        config.remotes?[name] = nil
        if config.defaultRemote == name { config.defaultRemote = config.remotes?.keys.sorted().first }
      }
      remote.root.global.stdout.line("Removed remote '\(name)'")
    }
  }

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List remotes (the default is marked *).")
    @ParentCommand var remote: RemoteCommand
    @Flag(name: .long, help: "One JSON object per remote.") var json = false

    func run() throws {
      let store = try remote.root.global.openStore()
      let out = remote.root.global.stdout
      for (name, config) in (store.config.remotes ?? [:]).sorted(by: { $0.key < $1.key }) {
        let isDefault = store.config.defaultRemote == name
        if json {
          let value: JSONValue = ["name": .string(name), "url": .string(config.url),
                                  "storeId": .string(config.storeId ?? store.config.storeId), "default": .bool(isDefault)]
          out.line(value.compactText)
        } else {
          out.line("\(isDefault ? "*" : " ") \(name)\t\(config.url)\(config.storeId.map { "\t(store \($0))" } ?? "")")
        }
      }
    }
  }

  struct SetDefault: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set-default", abstract: "Make a remote the default.")
    @ParentCommand var remote: RemoteCommand
    @Argument(help: "The remote's name.", completion: Completions.remotes) var name: String

    func run() throws {
      let store = try remote.root.global.openStore()
      guard store.config.remotes?[name] != nil else { throw StoreError.notFound("no remote '\(name)'") }
      try store.updateConfig { $0.defaultRemote = name }
      remote.root.global.stdout.line("Default remote is now '\(name)'")
    }
  }

  @ParentCommand var root: LStoreCommand
}
