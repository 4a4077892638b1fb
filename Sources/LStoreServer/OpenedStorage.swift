import Foundation
import LStoreKit
import LStorePostgres
import LStoreSync
import Logging

/// The storage a server runs on, with what it must release on exit and what `/health` says.
struct OpenedStorage: Sendable {
  let storage: any SyncBackendStorage
  /// For the log line at start: the SQLite file, or the database URL without its password.
  let name: String
  let health: @Sendable () async -> DatabaseHealth
  let close: @Sendable () -> Void
}

/// The database part of `/health`.
struct DatabaseHealth: Sendable {
  let up: Bool
  let json: JSONValue
}

/// Opens the SQLite file (locked against a second server) or connects to PostgreSQL.
///
/// - Throws: `ServerStartError` for what the user can fix (a bad URL, a database that is
///   down or refuses the login, a SQLite file another server holds).
func openStorage(_ configuration: ServerConfiguration, logger: Logger) async throws -> OpenedStorage {
  if let text = configuration.databaseURL {
    let url: PostgresURL
    do {
      url = try PostgresURL(text)
    } catch let error as PostgresURLError {
      throw ServerStartError(.usage, error.description)
    }
    let storage: PostgresSyncStorage
    do {
      storage = try await PostgresSyncStorage.open(url, logger: logger)
    } catch let error as PostgresStartError {
      switch error.kind {
      case .unreachable, .loginRefused: throw ServerStartError(.unavailable, error.message)
      case .noDatabase: throw ServerStartError(.notFound, error.message)
      case .failed: throw ServerStartError(.failed, error.message)
      }
    }
    return OpenedStorage(
      storage: storage, name: url.description,
      health: {
        let health = await storage.health()
        var json = JSONObject([("kind", "postgres"), ("reachable", .bool(health.reachable)),
                               ("listening", .bool(health.listening))])
        if let error = health.error { json["error"] = .string(error) }
        return DatabaseHealth(up: health.reachable, json: .object(json))
      },
      close: { storage.shutdown() })
  }
  let directory = (configuration.dataPath as NSString).deletingLastPathComponent
  if !directory.isEmpty {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }
  // One server per SQLite file: two would each keep their own head and acknowledge pushes
  // into different histories. The lock is held until `close`.
  let lock: DataDirectoryLock
  do {
    lock = try DataDirectoryLock(database: configuration.dataPath)
  } catch let error as DataDirectoryInUse {
    throw ServerStartError(.refused, error.description)
  }
  let storage = try SQLiteSyncStorage(path: configuration.dataPath)
  return OpenedStorage(
    storage: storage, name: configuration.dataPath,
    health: { DatabaseHealth(up: true, json: ["kind": "sqlite", "reachable": true]) },
    close: { lock.release() })
}
