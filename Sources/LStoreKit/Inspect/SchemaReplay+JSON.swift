import LStoreSQLite

/// The JSON of `lstore replay --json` and of `diff --json`'s rows. Stable: docs/replay.md
/// documents every key; keys are only ever added.
extension TableDiff {
  /// A row as an object keyed by column (values as `sql --json` prints them).
  public func rowJSON(_ row: [SQLiteValue], only indexes: [Int]? = nil) -> JSONValue {
    .object(JSONObject((indexes ?? Array(row.indices)).map { (key: columns[$0], value: row[$0].jsonValue) }))
  }

  /// `{key, old, new}`: the row's key, and the columns that differ, before and after.
  public func changeJSON(old: [SQLiteValue], new: [SQLiteValue]) -> JSONValue {
    let differing = old.indices.filter { old[$0] != new[$0] }
    let key = JSONObject(key(of: new).map { (key: $0.0, value: $0.1.jsonValue) })
    return .object(JSONObject([("key", .object(key)), ("old", rowJSON(old, only: differing)), ("new", rowJSON(new, only: differing))]))
  }
}

extension SchemaReplay.Report {
  /// One object: the whole report.
  public var json: JSONValue {
    func int(_ value: Int) -> JSONValue { .integer(Int64(value)) }
    let names: [JSONValue] = names.map { stats in
      let failures: [JSONValue] = stats.failures.map { failure in
        .object(JSONObject([
          ("seqNum", .string(failure.seqNum.description)), ("kind", .string(failure.kind.rawValue)),
          ("reason", .string(failure.reason)), ("statement", failure.statement.map { .string($0) } ?? .null),
          ("argsJson", .string(failure.argsJSON)),
        ]))
      }
      return .object(JSONObject([
        ("name", .string(stats.name)), ("inSchema", .bool(stats.inSchema)), ("count", int(stats.count)),
        ("applied", int(stats.applied)), ("failed", int(stats.failed)), ("unknown", int(stats.unknown)),
        ("invalidArgs", int(stats.invalidArgs)), ("materializerFailures", int(stats.materializerFailures)),
        ("failures", .array(failures)),
      ]))
    }
    let tables: [JSONValue] = tables.map { table in
      .object(JSONObject([
        ("table", .string(table.table)), ("inSchema", .bool(table.inSchema)), ("inserted", int(table.inserted)),
        ("updated", int(table.updated)), ("deleted", int(table.deleted)),
      ]))
    }
    var entries: [(key: String, value: JSONValue)] = [
      ("outcome", .string(outcome.rawValue)), ("schema", .string(schema)), ("eventlog", .string(eventlog)),
      ("events", int(events)), ("head", .string(head.description)), ("applied", int(applied)), ("failed", int(failed)),
      ("unknownEvents", int(unknownEvents)), ("invalidArgs", int(invalidArgs)),
      ("materializerFailures", int(materializerFailures)), ("otherUnknownEvents", int(otherUnknownEvents)),
      ("seconds", .number((seconds * 1000).rounded() / 1000)), ("names", .array(names)), ("tables", .array(tables)),
    ]
    entries.append(("against", against.map(\.json) ?? .null))
    return .object(JSONObject(entries))
  }
}

extension SchemaReplay.Against {
  var json: JSONValue {
    .object(JSONObject([("path", .string(path)), ("differs", .bool(differs)), ("tables", .array(tables.map(\.json)))]))
  }
}

extension SchemaReplay.TableComparison {
  /// The status, the counts and the sample (null when the rows were not compared), and for
  /// `columns-differ` both column lists.
  public var status: String {
    switch self {
    case .compared(let diff): return diff.isEmpty ? "same" : "differs"
    case .missing: return "missing"
    case .columnsDiffer: return "columns-differ"
    case .notInSchema: return "not-in-schema"
    }
  }

  var json: JSONValue {
    func strings(_ list: [String]) -> JSONValue { .array(list.map { .string($0) }) }
    var entries: [(key: String, value: JSONValue)] = [("table", .string(table)), ("status", .string(status))]
    switch self {
    case .compared(let diff):
      entries += [
        ("added", .integer(Int64(diff.addedCount))), ("removed", .integer(Int64(diff.removedCount))),
        ("changed", .integer(Int64(diff.changedCount))),
        ("sample", .object(JSONObject([
          ("added", .array(diff.added.map { diff.rowJSON($0) })), ("removed", .array(diff.removed.map { diff.rowJSON($0) })),
          ("changed", .array(diff.changed.map { diff.changeJSON(old: $0.old, new: $0.new) })),
        ]))),
        ("schemaColumns", .null), ("fileColumns", .null),
      ]
    case .columnsDiffer(_, let schema, let file):
      entries += [("added", .null), ("removed", .null), ("changed", .null), ("sample", .null),
                  ("schemaColumns", strings(schema)), ("fileColumns", strings(file))]
    case .missing, .notInSchema:
      entries += [("added", .null), ("removed", .null), ("changed", .null), ("sample", .null),
                  ("schemaColumns", .null), ("fileColumns", .null)]
    }
    return .object(JSONObject(entries))
  }
}
