import Foundation

/// The file a repair moves poisoned events into, `.lstore/quarantine/<UTC time>.ndjson`:
/// nothing is deleted silently. A header line, then one line per event in the export
/// format's event shape (docs/export-format.md) plus what an export does not need: the
/// stored text of `argsJson` and `syncMetadataJson` byte for byte (args that are not JSON
/// are kept too), the commit that held it, why it was quarantined, and the `lstore commit`
/// command that appends it again once the schema accepts it.
///
///     {"lstore":"quarantine","version":1,"storeId":…,"branch":"main","quarantinedAt":…,"backup":".lstore/backups/repair-…","events":1}
///     {"seqNum":"e3","parentSeqNum":"e2","name":…,"args":{…},"argsJson":"…","clientId":…,"sessionId":…,"schemaHash":…,"syncMetadata":{…},"syncMetadataJson":"…","commit":{…}|null,"code":"unknown-event","reason":…,"restore":"lstore commit …"}
enum Quarantine {
  static func fileName(now: String) -> String {
    "\(now.filter { $0.isNumber || $0 == "T" }.prefix(15))Z.ndjson"
  }

  /// A path under `.lstore/quarantine/` that no earlier repair used.
  static func newPath(storeDirectory: String, now: String) -> String {
    let directory = (storeDirectory as NSString).appendingPathComponent("quarantine")
    let base = fileName(now: now)
    var path = (directory as NSString).appendingPathComponent(base)
    var suffix = 2
    while FileManager.default.fileExists(atPath: path) {
      path = (directory as NSString).appendingPathComponent(String(base.dropLast(".ndjson".count)) + "-\(suffix).ndjson")
      suffix += 1
    }
    return path
  }

  /// The lines of the file: read from `eventlog` before the events leave it.
  static func lines(eventlog: Eventlog, events: [PoisonedEvent], storeId: String, branch: String, now: String,
                    backup: String) throws -> [String] {
    var lines: [String] = []
    let header: JSONValue = ["lstore": "quarantine", "version": 1, "storeId": .string(storeId), "branch": .string(branch),
                             "quarantinedAt": .string(now), "backup": .string(backup), "events": .integer(Int64(events.count))]
    lines.append(header.compactText)
    for event in events {
      guard let record = try eventlog.event(at: event.seqNum) else { continue }
      let commit = try eventlog.commit(containing: event.seqNum)
      let args = try? JSONParser.parse(record.argsJSON)
      let line: JSONValue = [
        "seqNum": .string(record.seqNum.description), "parentSeqNum": .string(record.parentSeqNum.description),
        "name": .string(record.name), "args": args ?? .null, "argsJson": .string(record.argsJSON),
        "clientId": .string(record.clientId), "sessionId": .string(record.sessionId),
        "schemaHash": .integer(record.schemaHash),
        "syncMetadata": (try? JSONParser.parse(record.syncMetadataJSON)) ?? .null,
        "syncMetadataJson": .string(record.syncMetadataJSON),
        "commit": commit.map { commit in
          ["id": .string(commit.id), "first": .string(commit.first.description), "last": .string(commit.last.description),
           "message": .string(commit.message), "author": ["name": .string(commit.author.name), "email": .string(commit.author.email)],
           "time": .string(commit.time)]
        } ?? .null,
        "code": .string(event.code.rawValue), "reason": .string(event.reason),
        "restore": .string(restoreCommand(record, message: commit?.message)),
      ]
      lines.append(line.compactText)
    }
    return lines
  }

  /// The command that appends the event again at the head, with its args as stored (and
  /// its commit's message, when it had one).
  static func restoreCommand(_ record: EventRecord, message: String?) -> String {
    "lstore commit \(ShellQuoting.quoted(record.name)) \(ShellQuoting.quoted(record.argsJSON))" + (message.map { " -m \(ShellQuoting.quoted($0))" } ?? "")
  }

}
