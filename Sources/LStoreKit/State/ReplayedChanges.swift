import Foundation
import LStoreSQLite

extension RowChanges {
  /// The rows `seqNum` changed, derived by replay: the eventlog up to the event before it is
  /// materialized into a scratch state, then the event is applied with its changeset
  /// recorded, and read back as `read(statePath:seqNum:)` reads a kept one. For events
  /// whose changeset the state no longer keeps (LiveStore trims those of confirmed
  /// events). Nil when the eventlog has no such event. Costs a replay of everything before
  /// the event; the scratch file is removed.
  public static func replayed(eventlogPath: String, schema: Schema, seqNum: SeqNum, now: String) throws -> [RowChange]? {
    let eventlog = try EventlogFile.openReadOnly(path: eventlogPath)
    guard let record = try eventlog.event(at: seqNum) else { return nil }
    let before = try eventlog.lastEvent(before: seqNum) ?? .root
    let scratch = NSTemporaryDirectory() + "lstore-show-\(UUID().uuidString).db"
    defer {
      try? FileManager.default.removeItem(atPath: scratch)
      try? FileManager.default.removeItem(atPath: scratch + "-journal")
    }
    _ = try Rematerializer.rebuild(eventlogPath: eventlogPath, statePath: scratch, schema: schema, until: before, updatedAt: now)
    let connection = try Connection(path: scratch, mode: .readWrite)
    let engine = try MaterializerEngine(connection: connection, schema: schema)
    let definition = try EventReplayer.definition(named: record.name, in: schema, at: seqNum)
    let args = try EventReplayer.normalizedArgs(of: record, definition: definition)
    try connection.transaction {
      let changeset = try engine.apply(definition, args: args,
                                       context: EventContext(seqNum: seqNum, name: record.name, clientId: record.clientId,
                                                             sessionId: record.sessionId),
                                       argsJSON: record.argsJSON, recordChangeset: true)
      try StateDatabase.insertChangeset(connection, seqNum: seqNum, changeset: changeset, format: eventlog.format)
    }
    return try read(statePath: scratch, seqNum: seqNum)
  }
}

extension EventReplayer {
  /// The schema's definition of `name`, or `ReplayError.unknownEvent` (without a replica).
  static func definition(named name: String, in schema: Schema, at seqNum: SeqNum) throws -> EventDefinition {
    guard let definition = schema.event(named: name) else {
      throw ReplayError.unknownEvent(seqNum: seqNum, name: name, schema: schema.source)
    }
    return definition
  }
}
