import Foundation

/// `.lstore/config.json`: what identifies this store and this client.
public struct StoreConfig: Codable, Equatable, Sendable {
  /// The layout version of the `.lstore` directory.
  public var formatVersion: Int
  /// LiveStore's storage format of the branches' files (`init --format`, `convert`).
  /// Absent in configs written before format 6 existed: those stores are format 4.
  public var storageFormat: StorageFormat?
  public var storeId: String
  public var clientId: String
  public var sessionId: String
  /// The schema file, relative to the directory that holds `.lstore` unless absolute.
  public var schema: String
  public var author: AuthorConfig?
  /// Named remotes (`lstore remote add`).
  public var remotes: [String: RemoteConfig]?
  public var defaultRemote: String?

  public struct RemoteConfig: Codable, Equatable, Sendable {
    /// `ws://…` (LiveStore's WebSocket protocol), `http://…` (lstore's HTTP API), or a path
    /// to another store.
    public var url: String
    /// The storeId used on that backend, when it differs from this store's.
    public var storeId: String?
    /// The sync protocol of a network remote: named with `remote add --protocol`, or found
    /// by probing the backend (at `remote add`, else on first use). Absent for paths, and
    /// in remotes added before lstore spoke 0.4 (probed on their first use).
    public var `protocol`: SyncProtocolVersion?

    public init(url: String, storeId: String? = nil, protocol: SyncProtocolVersion? = nil) {
      self.url = url
      self.storeId = storeId
      self.protocol = `protocol`
    }
  }

  public struct AuthorConfig: Codable, Equatable, Sendable {
    public var name: String?
    public var email: String?
    public init(name: String? = nil, email: String? = nil) {
      self.name = name
      self.email = email
    }
  }

  /// 2 since stores can be in storage format 6: a format-6 store says 2, so an lstore that
  /// knows only format 4 refuses it ("upgrade lstore") instead of missing its files; a
  /// format-4 store still says 1 and opens with older versions.
  public static let currentFormatVersion = 2

  static func layoutVersion(for format: StorageFormat) -> Int { format == .v4 ? 1 : 2 }

  /// Records the storage format, and the layout version that goes with it.
  public mutating func setFormat(_ format: StorageFormat) {
    storageFormat = format
    formatVersion = Self.layoutVersion(for: format)
  }

  /// The storage format every file of the store is in: what names files and writes rows.
  public var format: StorageFormat { storageFormat ?? .v4 }

  public init(storeId: String, clientId: String, sessionId: String, schema: String, format: StorageFormat = .storeDefault) {
    self.formatVersion = Self.layoutVersion(for: format)
    self.storageFormat = format
    self.storeId = storeId
    self.clientId = clientId
    self.sessionId = sessionId
    self.schema = schema
  }

  static func read(from path: String) throws -> StoreConfig {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw StoreError.corrupt("cannot read \(path)")
    }
    do {
      return try JSONDecoder().decode(StoreConfig.self, from: data)
    } catch {
      throw StoreError.corrupt("\(path) is not a valid lstore config: \(error)")
    }
  }

  func write(to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    var data = try encoder.encode(self)
    data.append(0x0A)
    try FileSync.write(data, to: path)
  }
}

/// Store-level failures: the kind a user can act on.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
  case notAStore(searchedFrom: String)
  case alreadyExists(path: String)
  case remoteExists(String)
  case branchExists(String)
  case busy(String)
  case corrupt(String)
  /// The eventlog file is not a database, or its pages are damaged: the one file nothing
  /// rebuilds.
  case damagedEventlog(path: String, reason: String)
  case invalidStoreId(String)
  case invalidBranchName(String)
  case unknownEvent(name: String, origin: String?, known: [String])
  case invalidArgs(name: String, origin: String?, reason: String)
  case stateBehind(state: SeqNum, eventlog: SeqNum)
  case notFound(String)
  case ambiguous(String)
  case readOnly(String)
  case empty(String)

  public var description: String {
    switch self {
    case .notAStore(let path): return "not an lstore store (or any parent up to /): \(path); run 'lstore init' or pass -C"
    case .alreadyExists(let path): return "a store already exists at \(path)"
    case .remoteExists(let name): return "a remote named '\(name)' already exists (lstore remote remove \(name) first)"
    case .branchExists(let name): return "a branch named '\(name)' already exists"
    case .busy(let what): return what
    case .corrupt(let detail): return detail
    case .damagedEventlog(let path, let reason):
      return "the eventlog \(path) is damaged (\(reason)): it holds the events themselves, so nothing can rebuild it; restore it from a backup ('lstore repair --restore <backup>' for one a repair made) or from an export ('lstore import' into a new store)"
    case .invalidStoreId(let id): return "invalid store id '\(id)': use 1-64 characters from A-Z a-z 0-9 _ - ."
    case .invalidBranchName(let name):
      return "invalid branch name '\(name)': use 1-64 characters from A-Z a-z 0-9 _ - . not starting with '.' or '-', and not HEAD or a sequence number such as e1"
    case .unknownEvent(let name, let origin, let known):
      let list = known.prefix(12).joined(separator: ", ") + (known.count > 12 ? ", …" : "")
      return "\(origin.map { "\($0): " } ?? "")unknown event '\(name)' (the schema defines: \(list))"
    case .invalidArgs(let name, let origin, let reason):
      return "\(origin.map { "\($0): " } ?? "")event '\(name)': \(reason)"
    case .stateBehind(let state, let eventlog):
      return "the state is materialized through \(state) but the eventlog is at \(eventlog); run 'lstore materialize' first"
    case .notFound(let what): return what
    case .ambiguous(let what): return what
    case .readOnly(let what): return what
    case .empty(let what): return what
    }
  }
}
