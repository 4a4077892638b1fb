import Foundation

/// The one JSON form of an event, written straight from an eventlog row: the stored
/// fields, with the args and the sync metadata as stored when that text is compact JSON. An
/// export line is exactly this object; `log --json` and `show --json` add fields after it
/// (`clientOnly`, `commit`, and for show the rows it changed), so every command prints an
/// event the same way.
///
/// The stored `argsJson` and `syncMetadataJson` are LiveStore's `JSON.stringify` text, copied
/// as they are (cheaply checked first: `JSONParser.isCompact`). Text that is valid JSON but
/// not compact (a raw newline between two keys, say, which would split an NDJSON line) is
/// parsed and written again compactly. Text that is not JSON cannot be written as JSON:
/// `export` refuses it (an export that import cannot read back is no backup), and `log` and
/// `show` carry it as a string under `argsJson` / `syncMetadataJson` (the keys `replay
/// --json` and the quarantine file use for the stored text) with `null` in its place.
public enum EventJSON {
  /// Writes `{"seqNum":…,"syncMetadata":…` and leaves the object open for the caller's
  /// fields and closing brace. Throws `StoredEventError` when the stored args or sync
  /// metadata are not JSON, or the sync metadata is not an Option: what export writes must
  /// import again.
  public static func writeStoredFields(of row: EventRow, into writer: inout JSONWriter) throws {
    try writeStoredFields(of: row, into: &writer, carryingDamaged: false)
  }

  /// The stable form `log --json` prints: the stored fields, whether the event is
  /// client-only, and its commit (`null` when it has none). `extra` adds fields of its own
  /// (each starting with a comma) before the object is closed. Stored text that is not
  /// JSON is carried as a string (see the type's comment), so the line is always JSON.
  public static func write(_ row: EventRow, commit: Commit?, into writer: inout JSONWriter,
                           extra: (inout JSONWriter) -> Void = { _ in }) {
    // Cannot throw: damaged text is carried, not refused.
    try? writeStoredFields(of: row, into: &writer, carryingDamaged: true)
    writer.appendASCII(#","clientOnly":"#)
    writer.appendASCII(row.seqNum.isClientOnly ? "true" : "false")
    writer.appendASCII(#","commit":"#)
    if let commit {
      writer.appendASCII(#"{"id":"#)
      writer.writeString(commit.id)
      writer.appendASCII(#","message":"#)
      writer.writeString(commit.message)
      writer.appendASCII("}")
    } else {
      writer.appendASCII("null")
    }
    extra(&writer)
    writer.appendASCII("}")
  }

  private static func writeStoredFields(of row: EventRow, into writer: inout JSONWriter, carryingDamaged: Bool) throws {
    writer.appendASCII(#"{"seqNum":""#)
    writer.writeSeqNum(row.seqNum)
    writer.appendASCII(#"","parentSeqNum":""#)
    writer.writeSeqNum(row.parentSeqNum)
    writer.appendASCII(#"","name":"#)
    writer.writeString(utf8: row.nameUTF8)
    writer.appendASCII(#","args":"#)
    let args = row.argsUTF8
    if let error = writeStoredJSON(args, into: &writer) {
      guard carryingDamaged else {
        throw StoredEventError(seqNum: row.seqNum, name: row.name, column: "argsJson", reason: "is not valid JSON (\(error))")
      }
      writer.appendASCII(#"null,"argsJson":"#)
      writer.writeString(utf8: args)
    }
    writer.appendASCII(#","clientId":"#)
    writer.writeString(utf8: row.clientIdUTF8)
    writer.appendASCII(#","sessionId":"#)
    writer.writeString(utf8: row.sessionIdUTF8)
    writer.appendASCII(#","schemaHash":"#)
    writer.writeInteger(row.schemaHash)
    writer.appendASCII(#","syncMetadata":"#)
    let metadata = row.syncMetadataUTF8
    // Nearly every event's metadata is one of two forms: `None`, or `Some` with the
    // backend's value; both are recognized by their first bytes after the compact check.
    if metadata.count == noneUTF8.count, memcmp(metadata.baseAddress!, noneUTF8, noneUTF8.count) == 0 {
      writer.writeRaw(metadata)
      return
    }
    let start = writer.bytes.count
    let error = writeStoredJSON(metadata, into: &writer)
    var reason = error.map { "is not valid JSON (\($0))" }
    if reason == nil, !carryingDamaged, !writer.bytes.withUnsafeBufferPointer({ isOption(UnsafeBufferPointer(rebasing: $0[start...])) }) {
      // Import reads only an Option here (docs/export-format.md).
      reason = #"is not an Option ({"_tag":"None"} or {"_tag":"Some","value":…})"#
    }
    if let reason {
      guard carryingDamaged else {
        throw StoredEventError(seqNum: row.seqNum, name: row.name, column: "syncMetadataJson", reason: reason)
      }
      writer.appendASCII(#"null,"syncMetadataJson":"#)
      writer.writeString(utf8: metadata)
    }
  }

  /// The args as the text forms of `log` and `show` print them, always on one line: the
  /// stored JSON compactly (as `writeStoredJSON` writes it), or, when it is not JSON, the
  /// stored text as a JSON string, so a raw newline in a damaged row cannot split a line a
  /// script reads.
  public static func writeArgsOnOneLine(of row: EventRow, into writer: inout JSONWriter) {
    let args = row.argsUTF8
    if writeStoredJSON(args, into: &writer) != nil { writer.writeString(utf8: args) }
  }

  /// `writeArgsOnOneLine` as a string.
  public static func argsOnOneLine(of row: EventRow) -> String {
    var writer = JSONWriter(reservingCapacity: row.argsUTF8.count + 2)
    writeArgsOnOneLine(of: row, into: &writer)
    return writer.string
  }

  private static let noneUTF8: [UInt8] = Array(EventRecord.noSyncMetadata.utf8)
  private static let somePrefixUTF8: [UInt8] = Array(#"{"_tag":"Some""#.utf8)

  /// Writes stored JSON text compactly: as it is when `JSONParser.isCompact` says it is
  /// already, else parsed and written again. Returns the parser's error, and writes nothing,
  /// when the text is not JSON.
  static func writeStoredJSON(_ text: UnsafeBufferPointer<UInt8>, into writer: inout JSONWriter) -> JSONSyntaxError? {
    if JSONParser.isCompact(text) {
      writer.writeRaw(text)
      return nil
    }
    do {
      writer.write(try JSONParser.parse(text))
      return nil
    } catch let error as JSONSyntaxError {
      return error
    } catch {
      return JSONSyntaxError(offset: 0, reason: "\(error)")
    }
  }

  /// Whether compact JSON is an Option as import takes it: an object whose `_tag` is
  /// `"None"` or `"Some"`. `Some` written by LiveStore starts with its tag; anything else
  /// is parsed to find it.
  private static func isOption(_ json: UnsafeBufferPointer<UInt8>) -> Bool {
    if json.starts(with: somePrefixUTF8), json.count > somePrefixUTF8.count,
       json[somePrefixUTF8.count] == UInt8(ascii: ",") || json[somePrefixUTF8.count] == UInt8(ascii: "}") {
      return true
    }
    guard let value = try? JSONParser.parse(json) else { return false }
    return value["_tag"] == "None" || value["_tag"] == "Some"
  }
}

/// A stored event whose text cannot be written as JSON: its args or sync metadata are not
/// JSON (or the metadata is not an Option). The eventlog is damaged there; `lstore fsck`
/// reports it and `lstore repair` quarantines or fixes it.
public struct StoredEventError: Error, Sendable, CustomStringConvertible {
  public var seqNum: SeqNum
  public var name: String
  /// `argsJson` or `syncMetadataJson`.
  public var column: String
  public var reason: String

  public var description: String {
    "event \(seqNum) \(name): its stored \(column) \(reason); an export import cannot read back is no backup, so the export stopped there. 'lstore fsck' shows the damage, 'lstore repair' fixes it"
  }
}
