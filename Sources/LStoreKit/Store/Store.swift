import Foundation
import LStoreSQLite

/// A store: a `.lstore` directory holding the config, and per branch a LiveStore eventlog
/// and its state database (`branches/<name>/eventlog@<format>.db`,
/// `branches/<name>/state<hash>@<format>.db`, the layout of LiveStore's node adapter), in the
/// storage format the config records.
public final class Store {
  /// The `.lstore` directory.
  public let directory: String
  public private(set) var config: StoreConfig
  public let branch: String

  /// The directory that holds `.lstore`; relative schema paths start here.
  public var workDirectory: String { (directory as NSString).deletingLastPathComponent }
  public var configPath: String { Self.configPath(directory) }
  public var branchDirectory: String { (directory as NSString).appendingPathComponent("branches/\(branch)") }
  /// The storage format of the store's files (its config says which).
  public var format: StorageFormat { config.format }
  public var eventlogPath: String { (branchDirectory as NSString).appendingPathComponent(format.eventlogFileName) }
  public var schemaPath: String { StoreLocator.absolute(config.schema, relativeTo: workDirectory) }

  static func configPath(_ directory: String) -> String { (directory as NSString).appendingPathComponent("config.json") }

  public func statePath(for schema: Schema) -> String {
    (branchDirectory as NSString).appendingPathComponent(StateDatabase.fileName(for: schema, format: format))
  }

  /// Opens the store on its current branch (`HEAD`), or on `branch` when given (a command
  /// that names another branch, such as `push origin experiment`).
  public init(directory: String, branch: String? = nil) throws {
    self.directory = directory
    self.config = try StoreConfig.read(from: Self.configPath(directory))
    guard config.formatVersion <= StoreConfig.currentFormatVersion else {
      throw StoreError.corrupt("this store was written by a newer lstore (format \(config.formatVersion)); upgrade lstore")
    }
    let headPath = (directory as NSString).appendingPathComponent("HEAD")
    let head = (try? String(contentsOfFile: headPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    self.branch = branch ?? (head?.isEmpty == false ? head : nil) ?? "main"
    Self.recoverInterruptedTransactions(in: branchDirectory)
  }

  /// Rolls back what a killed process left half-written. SQLite undoes an interrupted
  /// transaction from its hot journal only through a read-write connection; lstore reads
  /// with read-only ones, which would otherwise fail ("attempt to write a readonly
  /// database") on every command after a crash, commit and import included.
  static func recoverInterruptedTransactions(in directory: String) {
    guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
    for journal in files where journal.hasSuffix("-journal") {
      let database = (directory as NSString).appendingPathComponent(String(journal.dropLast("-journal".count)))
      // Best effort: a file that cannot be recovered here fails later with its own error.
      try? Connection.recoverInterruptedTransaction(at: database)
    }
  }

  /// Finds the store from `directory` upward (or `LSTORE_DIR`) and opens it.
  /// The same store opened on another branch.
  public func onBranch(_ name: String) throws -> Store {
    guard branchExists(name) else { throw StoreError.notFound("no branch '\(name)' (see 'lstore branch')") }
    return try Store(directory: directory, branch: name)
  }

  public static func discover(from directory: String) throws -> Store {
    try Store(directory: StoreLocator.find(from: directory))
  }

  public struct InitOptions: Sendable {
    public var schemaPath: String
    public var storeId: String
    public var clientId: String?
    public var sessionId: String?
    public var format: StorageFormat
    public init(schemaPath: String, storeId: String, clientId: String? = nil, sessionId: String? = nil,
                format: StorageFormat = .storeDefault) {
      self.format = format
      self.schemaPath = schemaPath
      self.storeId = storeId
      self.clientId = clientId
      self.sessionId = sessionId
    }
  }

  /// Creates `.lstore/` in `workDirectory`, an empty eventlog on branch `main` and its
  /// state. The schema is loaded and checked first: a broken schema creates nothing.
  @discardableResult
  public static func initialize(in workDirectory: String, options: InitOptions, now: String) throws -> Store {
    guard Identifiers.isValidStoreID(options.storeId) else { throw StoreError.invalidStoreId(options.storeId) }
    let work = StoreLocator.absolute(workDirectory, relativeTo: FileManager.default.currentDirectoryPath)
    let directory = (work as NSString).appendingPathComponent(StoreLocator.directoryName)
    if FileManager.default.fileExists(atPath: directory) { throw StoreError.alreadyExists(path: directory) }
    let schemaAbsolute = StoreLocator.absolute(options.schemaPath, relativeTo: FileManager.default.currentDirectoryPath)
    let schema = try SchemaLoader.load(path: schemaAbsolute)
    let staging = directory + ".init-\(getpid())"
    try? FileManager.default.removeItem(atPath: staging)
    do {
      try FileManager.default.createDirectory(atPath: staging + "/branches/main", withIntermediateDirectories: true)
      let config = StoreConfig(storeId: options.storeId, clientId: options.clientId ?? Identifiers.nanoid(),
                               sessionId: options.sessionId ?? Identifiers.nanoid(),
                               schema: relativePath(schemaAbsolute, from: work), format: options.format)
      try config.write(to: configPath(staging))
      try "main\n".write(toFile: staging + "/HEAD", atomically: true, encoding: .utf8)
      let eventlogPath = staging + "/branches/main/" + options.format.eventlogFileName
      try Eventlog.create(path: eventlogPath, format: options.format)
      try Eventlog.setMetaStandalone(path: eventlogPath, key: "storeId", value: options.storeId)
      _ = try Rematerializer.rebuild(eventlogPath: eventlogPath,
                                     statePath: staging + "/branches/main/" + StateDatabase.fileName(for: schema, format: options.format),
                                     schema: schema, updatedAt: now)
      // The store appears all at once, or not at all.
      try FileSync.replace(staging, with: directory)
    } catch {
      try? FileManager.default.removeItem(atPath: staging)
      throw error
    }
    return try Store(directory: directory)
  }

  public static func relativePath(_ path: String, from base: String) -> String {
    let pathParts = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
    let baseParts = URL(fileURLWithPath: base).standardizedFileURL.pathComponents
    var common = 0
    while common < min(pathParts.count, baseParts.count), pathParts[common] == baseParts[common] { common += 1 }
    if common <= 1 { return path }
    let ups = Array(repeating: "..", count: baseParts.count - common)
    return (ups + pathParts[common...]).joined(separator: "/")
  }

  /// Loads the store's schema, or `override` when given.
  public func loadSchema(override: String? = nil) throws -> Schema {
    try SchemaLoader.load(path: override.map { StoreLocator.absolute($0, relativeTo: FileManager.default.currentDirectoryPath) } ?? schemaPath)
  }

  /// The branch's eventlog alone, for commands that only read events.
  public func openEventlog(readOnly: Bool = true) throws -> Eventlog {
    guard FileManager.default.fileExists(atPath: eventlogPath) else {
      throw StoreError.corrupt("the eventlog of branch '\(branch)' is missing: \(eventlogPath)")
    }
    let connection = try Connection(path: eventlogPath, mode: readOnly ? .readOnly : .readWrite)
    let eventlog = Eventlog(connection: connection)
    do {
      try eventlog.validate()
    } catch let error as SQLiteError where error.isDamagedFile {
      throw StoreError.damagedEventlog(path: eventlogPath, reason: error.message)
    }
    return eventlog
  }

  /// Eventlog and state together, the state brought up to date first when it is missing
  /// (a table change selects a new state file) or was built by other materializers.
  public func openReplica(schema: Schema, now: String, progress: ProgressHandler? = nil) throws -> Replica {
    return try Replica.open(eventlogPath: eventlogPath, statePath: statePath(for: schema), schema: schema, now: now,
                     progress: progress)
  }

  /// The author for new commits: config, then `LSTORE_AUTHOR_NAME`/`_EMAIL`, then git's
  /// variables, then the user name.
  public func author(environment: [String: String] = ProcessInfo.processInfo.environment) -> Author {
    let name = environment["LSTORE_AUTHOR_NAME"] ?? config.author?.name ?? environment["GIT_AUTHOR_NAME"]
      ?? environment["USER"] ?? "unknown"
    let email = environment["LSTORE_AUTHOR_EMAIL"] ?? config.author?.email ?? environment["GIT_AUTHOR_EMAIL"] ?? ""
    return Author(name: name, email: email)
  }

  public func updateConfig(_ change: (inout StoreConfig) -> Void) throws {
    var updated = config
    change(&updated)
    try updated.write(to: configPath)
    config = updated
  }
}

extension Eventlog {
  static func setMetaStandalone(path: String, key: String, value: String) throws {
    let connection = try Connection(path: path, mode: .readWrite)
    try Eventlog(connection: connection).setMeta(key, value)
  }
}
