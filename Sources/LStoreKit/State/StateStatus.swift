import Foundation
import LStoreSQLite

/// What a state file says about itself, without changing it.
public struct StateStatus: Sendable {
  /// Nil when the file is missing or was not built by lstore.
  public var head: SeqNum?
  /// Built with other materializers than the schema's.
  public var stale: Bool

  public static func read(statePath: String, schema: Schema) throws -> StateStatus {
    guard FileManager.default.fileExists(atPath: statePath) else { return StateStatus(head: nil, stale: false) }
    let connection = try Connection(path: statePath, mode: .readOnly)
    guard let state = try StateDatabase.readHead(connection) else { return StateStatus(head: nil, stale: false) }
    return StateStatus(head: state.head, stale: state.materializationHash != schema.materializationHash)
  }
}
