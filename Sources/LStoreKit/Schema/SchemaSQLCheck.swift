import LStoreSQLite

/// Checks a schema's SQL against an empty in-memory state database: tables and indexes
/// must create, and every materializer must prepare with parameters that name args.
/// Catches typos in a schema file before any event is committed.
enum SchemaSQLCheck {
  static func check(_ schema: Schema) throws {
    let connection = try Connection.inMemory()
    for table in schema.tables {
      do {
        try connection.execute(LiveStoreTables.createTableSQL(table, format: .storeDefault))
        for index in table.indexes {
          try connection.execute(LiveStoreTables.createIndexSQL(index, on: table.name, format: .storeDefault))
        }
      } catch let error as SQLiteError {
        throw SchemaError(file: schema.source, location: "table '\(table.name)'", reason: error.message)
      }
    }
    let engine = try MaterializerEngine(connection: connection, schema: schema)
    do {
      try engine.compileAll()
    } catch let error as MaterializeError {
      var reason = error.reason
      if let statement = error.statement { reason += " (in: \(statement))" }
      throw SchemaError(file: schema.source, location: "event '\(error.eventName)', materializer", reason: reason)
    }
  }
}
