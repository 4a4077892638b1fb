import ArgumentParser
import Foundation
import LStoreKit

struct ConfigCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "config",
    abstract: "Read or change the store's settings (author, schema, ids).",
    discussion: """
      Keys: author.name, author.email (used for commits unless LSTORE_AUTHOR_NAME/EMAIL are \
      set), schema (the schema file; a table change rebuilds state on the next command), \
      storeId, clientId, sessionId, remote.default. Without arguments, lists every key.
      """)

  @ParentCommand var root: LStoreCommand

  @Argument(help: "The key, e.g. author.name.") var key: String?
  @Argument(help: "The new value; omit to print the current one.") var value: String?
  @Flag(name: .long, help: "Remove the key's value (author.name, author.email, remote.default).") var unset = false

  static let keys = ["author.name", "author.email", "schema", "storeId", "clientId", "sessionId", "remote.default"]

  func validate() throws {
    if let key, !Self.keys.contains(key) {
      throw ValidationError("unknown key '\(key)' (keys: \(Self.keys.joined(separator: ", ")))")
    }
    if unset && value != nil { throw ValidationError("--unset takes no value") }
  }

  static func read(_ key: String, _ config: StoreConfig) -> String? {
    switch key {
    case "author.name": return config.author?.name
    case "author.email": return config.author?.email
    case "schema": return config.schema
    case "storeId": return config.storeId
    case "clientId": return config.clientId
    case "sessionId": return config.sessionId
    case "remote.default": return config.defaultRemote
    default: return nil
    }
  }

  func run() throws {
    let global = root.global
    let store = try global.openStore()
    guard let key else {
      for key in Self.keys {
        if let value = Self.read(key, store.config) { global.stdout.line("\(key)=\(value)") }
      }
      return
    }
    guard value != nil || unset else {
      guard let current = Self.read(key, store.config) else { throw ExitCode(1) }
      global.stdout.line(current)
      return
    }
    let newValue = value
    switch key {
    case "schema":
      guard let newValue else { throw InputError.usage("the schema cannot be unset") }
      let path = global.resolve(newValue)
      _ = try SchemaLoader.load(path: path)  // refuse a broken schema before recording it
      try store.updateConfig { $0.schema = Store.relativePath(path, from: store.workDirectory) }
    case "storeId", "clientId", "sessionId":
      guard let newValue, Identifiers.isValidStoreID(newValue) else {
        throw InputError.invalid("\(key) must be 1-64 characters from A-Z a-z 0-9 _ - .")
      }
      try store.updateConfig { config in
        switch key {
        case "storeId": config.storeId = newValue
        case "clientId": config.clientId = newValue
        default: config.sessionId = newValue
        }
      }
    case "remote.default":
      if let newValue, store.config.remotes?[newValue] == nil { throw StoreError.notFound("no remote '\(newValue)'") }
      try store.updateConfig { $0.defaultRemote = newValue }
    default:
      try store.updateConfig { config in
        var author = config.author ?? StoreConfig.AuthorConfig()
        if key == "author.name" { author.name = newValue } else { author.email = newValue }
        config.author = author.name == nil && author.email == nil ? nil : author
      }
    }
  }
}
