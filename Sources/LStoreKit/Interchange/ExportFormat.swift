/// The lstore export format, version 1 (NDJSON, optionally gzip). Stable: see
/// docs/export-format.md.
///
///     {"lstore":"export","version":1,"storeId":…,"firstParent":"e0","head":"e5","events":5,"commits":1,"backendHead":0,"exportedAt":…}
///     {"commit":{"id":…,"first":"e1","last":"e3","message":…,"author":{"name":…,"email":…},"time":…}}
///     {"seqNum":"e1","parentSeqNum":"e0","name":…,"args":{…},"clientId":…,"sessionId":…,"schemaHash":…,"syncMetadata":{"_tag":"None"}}
///     …
///     {"end":{"events":5,"commits":1,"crc32":"…"}}
///
/// A commit line comes right before the first event of its commit. The trailer's CRC-32
/// covers every byte before it, so a truncated or altered file is detected before the
/// import commits anything.
public enum ExportFormat {
  public static let version = 1

  /// What identifies an event across stores: its name, origin and args.
  static func identity(of record: EventRecord) -> JSONValue {
    ["name": .string(record.name), "clientId": .string(record.clientId), "sessionId": .string(record.sessionId),
     "args": (try? JSONParser.parse(record.argsJSON)) ?? .string(record.argsJSON)]
  }

  /// Adds the header to the trailer's CRC: the header line without `exportedAt`, so
  /// re-exporting the same events gives a byte-identical file apart from that one field.
  static func checksum(header: JSONValue, into crc: inout CRC32) {
    var object = header.objectValue ?? JSONObject()
    object["exportedAt"] = nil
    var writer = JSONWriter()
    writer.write(.object(object))
    writer.bytes.append(0x0A)
    writer.bytes.withUnsafeBytes { crc.update($0) }
  }
}

public struct ExportHeader: Equatable, Sendable {
  public var storeId: String
  /// The event the importing store's head must be at.
  public var firstParent: SeqNum
  public var head: SeqNum
  public var events: Int
  public var commits: Int
  public var backendHead: Int64
  public var exportedAt: String
  /// The identity of the `firstParent` event (partial exports only).
  public var firstParentEvent: JSONValue? = nil
}

/// The file is not a valid lstore export.
public struct ExportFormatError: Error, Sendable, CustomStringConvertible {
  public var line: Int?
  public var reason: String

  public var description: String {
    "invalid export\(line.map { " at line \($0)" } ?? ""): \(reason)"
  }
}

/// The export is valid but cannot be imported into this store.
public struct ImportError: Error, Sendable, CustomStringConvertible {
  public var line: Int?
  public var reason: String
  public var isHeadMismatch: Bool

  public var description: String {
    "cannot import\(line.map { " (line \($0))" } ?? ""): \(reason)"
  }
}
