import ArgumentParser
import Foundation
import LStoreKit
import LStoreRemote

struct RemoteCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "remote",
    abstract: "Manage the backends this store pushes to and pulls from.",
    discussion: """
      A remote is a URL: ws://host:port (LiveStore's sync protocol over WebSocket, as lstore \
      serve and LiveStore's Cloudflare backend speak it), http://host:port (LiveStore 0.4's \
      protocol over HTTP, or lstore's HTTP API for 0.3), or a path to another store on disk \
      (offline transfer). The first remote added becomes the default for push and pull.
      A network remote speaks LiveStore 0.3 (sync-cf 0.3) or 0.4 (Effect RPC): 'remote add' \
      asks the backend once and keeps the answer in the remote's config, or takes \
      --protocol. A backend that speaks both (lstore serve) is used with the store's own: \
      0.4 for a format-6 store, 0.3 for a format-4 one. A remote added before lstore spoke \
      0.4, or whose backend could not be asked, is asked on its first use. \
      'lstore remote -v' shows each remote's protocol.
      """,
    subcommands: [Add.self, Remove.self, List.self, SetDefault.self],
    defaultSubcommand: List.self)

  struct Add: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Add a remote.")
    @ParentCommand var remote: RemoteCommand
    @Argument(help: "The remote's name, e.g. origin.") var name: String
    @Argument(help: "ws://host:port, http://host:port, or a path to another store.") var url: String
    @Option(name: .customLong("store-id"), help: "The storeId on that backend (default: this store's).")
    var storeId: String?
    @Flag(name: .long, help: "Make it the default remote.") var `default` = false
    @Option(name: .customLong("protocol"), help: ArgumentHelp(
      "livestore-0.3 or livestore-0.4 (default: asked of the backend now, else on first use).", valueName: "protocol"))
    var syncProtocol: SyncProtocolVersion?

    func run() async throws {
      let store = try remote.root.global.openStore()
      guard Identifiers.isValidStoreID(name) else { throw InputError.usage("invalid remote name '\(name)'") }
      if store.config.remotes?[name] != nil {
        throw StoreError.remoteExists(name)
      }
      if let storeId, !Identifiers.isValidStoreID(storeId) { throw StoreError.invalidStoreId(storeId) }
      try RemoteLocation.checkScheme(url)
      let location = RemoteLocation.normalize(url, relativeTo: FileManager.default.currentDirectoryPath)
      var version = syncProtocol
      var note: String? = nil
      if version == nil {
        // The token, if any, from the environment (LSTORE_AUTH_TOKEN, LSTORE_SYNC_PAYLOAD).
        let payload = try RemoteOptions.parse([]).payload()
        switch await ProtocolProbe.probe(location: location, storeId: storeId ?? store.config.storeId, payload: payload,
                                         preferred: .preferred(for: store.format)) {
        case .found(let found)?: version = found
        case .unknown(let reason)?: note = "Protocol not detected (\(reason)); it is asked again on first use"
        case nil: break
        }
      } else if !RemoteLocation.isNetwork(location) {
        throw InputError.usage("--protocol is for network remotes (ws://, http://); '\(url)' is a path")
      }
      try store.updateConfig { config in
        config.remotes = (config.remotes ?? [:]).merging([name: .init(url: location, storeId: storeId, protocol: version)]) { $1 }
        if `default` || config.defaultRemote == nil { config.defaultRemote = name }
      }
      let updated = try remote.root.global.openStore()
      remote.root.global.stdout.line("Added remote '\(name)' → \(location)\(version.map { " (\($0.rawValue))" } ?? "")\(updated.config.defaultRemote == name ? " (default)" : "")")
      if let note { remote.root.global.note(note) }
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
    @Flag(name: [.short, .long], help: "Show each remote's sync protocol.") var verbose = false

    func run() throws {
      let store = try remote.root.global.openStore()
      let out = remote.root.global.stdout
      for (name, config) in (store.config.remotes ?? [:]).sorted(by: { $0.key < $1.key }) {
        let isDefault = store.config.defaultRemote == name
        if json {
          let value: JSONValue = ["name": .string(name), "url": .string(config.url),
                                  "storeId": .string(config.storeId ?? store.config.storeId), "default": .bool(isDefault),
                                  "protocol": config.protocol.map { .string($0.rawValue) } ?? .null]
          out.line(value.compactText)
        } else if verbose {
          out.line("\(isDefault ? "*" : " ") \(name)\t\(config.url)\t\(RemoteLocation.protocolLabel(config))\(config.storeId.map { "\t(store \($0))" } ?? "")")
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
