/// The one JSON form of an event, written straight from an eventlog row: the stored
/// fields, with the args and the sync metadata verbatim. An export line is exactly this
/// object; `log --json` and `show --json` add fields after it (`clientOnly`, `commit`, and
/// for show the rows it changed), so every command prints an event the same way.
public enum EventJSON {
  /// Writes `{"seqNum":…,"syncMetadata":…` and leaves the object open for the caller's
  /// fields and closing brace.
  public static func writeStoredFields(of row: EventRow, into writer: inout JSONWriter) {
    writer.appendASCII(#"{"seqNum":""#)
    writer.writeSeqNum(row.seqNum)
    writer.appendASCII(#"","parentSeqNum":""#)
    writer.writeSeqNum(row.parentSeqNum)
    writer.appendASCII(#"","name":"#)
    writer.writeString(utf8: row.nameUTF8)
    writer.appendASCII(#","args":"#)
    writer.writeRaw(row.argsUTF8)
    writer.appendASCII(#","clientId":"#)
    writer.writeString(utf8: row.clientIdUTF8)
    writer.appendASCII(#","sessionId":"#)
    writer.writeString(utf8: row.sessionIdUTF8)
    writer.appendASCII(#","schemaHash":"#)
    writer.writeInteger(row.schemaHash)
    writer.appendASCII(#","syncMetadata":"#)
    writer.writeRaw(row.syncMetadataUTF8)
  }

  /// The stable form `log --json` prints: the stored fields, whether the event is
  /// client-only, and its commit (`null` when it has none). `extra` adds fields of its own
  /// (each starting with a comma) before the object is closed.
  public static func write(_ row: EventRow, commit: Commit?, into writer: inout JSONWriter,
                           extra: (inout JSONWriter) -> Void = { _ in }) {
    writeStoredFields(of: row, into: &writer)
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
}
