/// LiveStore's hashes, reproduced bit for bit (format spec §2.2 and §2.4).
public enum LiveStoreHash {
  /// JavaScript's `hashCode` as LiveStore writes it: `h = (h << 5) - h + c` over UTF-16
  /// units, where only the shift wraps to 32 bits. The result drifts outside Int32, which
  /// is why state file names carry 10–11 digit numbers.
  public static func hashCode(_ text: String) -> Int64 {
    var h: Int64 = 0
    for unit in text.utf16 {
      let shifted = Int64(Int32(truncatingIfNeeded: h) &<< 5)
      h = shifted - h + Int64(unit)
    }
    return h
  }

  /// Effect's `Hash.string`: djb2-xor over UTF-16 units from last to first, then
  /// Effect's `optimize`. Used for the per-event schema hash.
  public static func effectStringHash(_ text: String) -> Int64 {
    var h: Int32 = 5381
    let units = Array(text.utf16)
    for unit in units.reversed() {
      h = (h &* 33) ^ Int32(unit)
    }
    let bits = UInt32(bitPattern: h)
    let optimized = (bits & 0xbfff_ffff) | ((bits >> 1) & 0x4000_0000)
    return Int64(Int32(bitPattern: optimized))
  }

  /// The hash written to `eventlog.schemaHash` and `__livestore_schema_event_defs`.
  /// LiveStore hashes Effect's internal AST, which cannot be reproduced outside Effect
  /// (and LiveStore only warns on a mismatch), so lstore hashes its own canonical type
  /// descriptor instead: deterministic for a given schema file.
  public static func eventSchemaHash(_ args: ArgType) -> Int64 {
    effectStringHash(args.descriptor.compactText)
  }

  /// The trimmed-AST JSON of a table, exactly as LiveStore serializes it for hashing.
  ///
  /// LiveStore 0.4.0 (format 6) adds `"autoIncrement"` after `"nullable"` (always false
  /// here: lstore's schemas have no autoincrement columns). Its `trimInfoForHasing` would
  /// also add a `jsonSchemaHash` for JSON columns, but its test, `ast.annotations.schemaId
  /// === ParseJsonSchemaId`, never holds in 0.4.0: Effect 3.21 keeps a `schemaId`
  /// annotation under the symbol key `effect/annotation/SchemaId` (`toASTAnnotations`),
  /// and `Schema.parseJson(schema)` is a compose whose outer AST has no annotations. So no
  /// table hash of 0.4.0 includes one (read from the source, not run).
  public static func tableJSON(_ table: TableDefinition, format: StorageFormat) -> String {
    var writer = JSONWriter()
    writer.appendASCII(#"{"_tag":"table","name":"#)
    writer.writeString(table.name)
    writer.appendASCII(#","columns":["#)
    for (i, column) in table.columns.enumerated() {
      if i > 0 { writer.appendASCII(",") }
      writer.appendASCII(#"{"_tag":"column","name":"#)
      writer.writeString(column.name)
      writer.appendASCII(#","type":"#)
      writer.writeString(column.type.sqlType)
      writer.appendASCII(#","primaryKey":"#)
      writer.appendASCII(column.primaryKey ? "true" : "false")
      writer.appendASCII(#","nullable":"#)
      writer.appendASCII(column.nullable ? "true" : "false")
      if format == .v6 { writer.appendASCII(#","autoIncrement":false"#) }
      writer.appendASCII(#","default":"#)
      switch column.defaultValue {
      case nil:
        writer.appendASCII(#"{"_id":"Option","_tag":"None"}"#)
      case .value(let value):
        writer.appendASCII(#"{"_id":"Option","_tag":"Some","value":"#)
        writer.write(value)
        writer.appendASCII("}")
      case .sql(let sql):
        writer.appendASCII(#"{"_id":"Option","_tag":"Some","value":{"sql":"#)
        writer.writeString(sql)
        writer.appendASCII("}}")
      }
      writer.appendASCII("}")
    }
    writer.appendASCII(#"],"indexes":["#)
    for (i, index) in table.indexes.enumerated() {
      if i > 0 { writer.appendASCII(",") }
      writer.appendASCII(#"{"_tag":"index","columns":"#)
      writer.write(.array(index.columns.map { .string($0) }))
      writer.appendASCII(#","name":"#)
      writer.writeString(index.name)
      writer.appendASCII(#","unique":"#)
      writer.appendASCII(index.unique ? "true" : "false")
      writer.appendASCII("}")
    }
    writer.appendASCII("]}")
    return writer.string
  }

  public static func tableHash(_ table: TableDefinition, format: StorageFormat) -> Int64 {
    hashCode(tableJSON(table, format: format))
  }

  /// The state schema hash over the user tables followed by the format's state system
  /// tables (four in 0.3.1, three in 0.4.0, whose columns differ too: the two formats never
  /// share a state hash).
  public static func stateHash(userTables: [TableDefinition], format: StorageFormat) -> Int64 {
    let all = userTables + LiveStoreTables.stateSystemTables(format)
    return hashCode(#"{"_tag":"dbSchema","tables":["# + all.map { tableJSON($0, format: format) }.joined(separator: ",") + "]}")
  }
}
