import Foundation
import LStoreSQLite

/// Why a revert could not be made.
public enum RevertError: Error, Equatable, Sendable, CustomStringConvertible {
  /// No event of the schema restores these rows; nothing was changed.
  case noInverse([String])
  /// Later events changed cells the commit wrote; reverting would overwrite them.
  case changedSince([String])
  case nothingToRevert(String)

  public var description: String {
    switch self {
    case .noInverse(let rows):
      return "cannot revert: no event of the schema restores \(rows.joined(separator: "; ")); nothing was changed (add an event that can, or use 'lstore commit' with events you choose)"
    case .changedSince(let cells):
      return "cannot revert: later events changed \(cells.joined(separator: "; ")) again; nothing was changed"
    case .nothingToRevert(let id): return "commit \(id.prefix(8)) changed no rows; there is nothing to revert"
    }
  }
}

public enum RevertOutcome {
  /// An unpushed commit: dropped by a rebase of what follows it, which may stop.
  case dropped(Rebase, RebaseOutcome)
  /// A pushed commit: new events that restore the rows, committed.
  case inverted(Commit, [EventRecord])
}

extension Replica {
  /// Reverts `commit`. Unpushed, it is dropped from history (the events after it are
  /// replayed without it, as `rebase` would). Pushed, new events are committed that put
  /// back every row it changed: for each row, the first event of the schema whose effect,
  /// tried in a savepoint, is exactly the inverse; when none is, nothing changes and the
  /// rows are named.
  public func revert(_ commit: Commit, store: Store?, author: Author, identity: Identity,
                     time: @escaping () -> String) throws -> RevertOutcome {
    if commit.first.isPending(backendHead: try eventlog.backendHead()) {
      let base = try eventlog.lastEvent(before: commit.first) ?? .root
      var preparation = try Rebase.prepare(self, store: store, onto: .point(base))
      // What the replayed events go onto, as the stop, status and finish name it.
      preparation.ontoLabel = "the history without \(commit.id.prefix(8))"
      let rebase = try Rebase.start(self, store: store, preparation: preparation,
                                    steps: .pickEvery(droppingCommit: commit.id), strategy: .replay,
                                    kind: .revert, time: time)
      return .dropped(rebase, try rebase.run())
    }
    let changes = try changes(of: commit)
    guard !changes.isEmpty else { throw RevertError.nothingToRevert(commit.id) }
    let inverses = try inverseInputs(for: changes.reversed(), identity: identity)
    let message = "Revert \"\(commit.message.firstLineOfMessage)\"\n\nThis reverts commit \(commit.id)."
    let result = try self.commit(inverses, message: message, author: author, time: time(), identity: identity)
    return .inverted(result.commit!, result.events)
  }

  /// The row changes a commit made, replayed into a scratch state (confirmed events keep no
  /// changesets) by the rebuild, which records a changeset for each of its events.
  func changes(of commit: Commit) throws -> [Changeset.Change] {
    let scratch = statePath + ".revert-\(getpid())-\(Identifiers.nanoid(length: 6))"
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let before = try eventlog.lastEvent(before: commit.first) ?? .root
    var changes: [Changeset.Change] = []
    _ = try Rematerializer.rebuild(eventlogPath: eventlogPath, statePath: scratch, schema: schema, until: commit.last,
                                   updatedAt: "1970-01-01T00:00:00.000Z",
                                   observing: ChangesetObserver(after: before) { _, changeset in
                                     changes.append(contentsOf: try Changeset.changes(in: changeset))
                                   })
    return changes
  }

  /// For each changed row, the first event of the schema that undoes exactly that change on
  /// the current state.
  private func inverseInputs(for changes: some Sequence<Changeset.Change>, identity: Identity) throws -> [EventInput] {
    var inputs: [EventInput] = []
    var missing: [String] = []
    var changedSince: [String] = []
    let names = ColumnNames(connection: connection)
    for change in changes {
      let columns = try names.of(change.table)
      let keyIndexes = change.primaryKey.indices.filter { change.primaryKey[$0] }
      let keyValues = keyIndexes.map { (change.operation == .insert ? change.new : change.old)[$0] ?? .null }
      let label = "\(change.table) \(JSONValue.array(keyValues.map(\.jsonValue)).compactText)"
      let current = try currentRow(change.table, columns: columns, keyIndexes: keyIndexes, keyValues: keyValues)
      // What the row must become, and what it is now, column by column.
      var wanted: [SQLiteValue?]? = nil
      switch change.operation {
      case .insert:
        guard current != nil else { continue }
        wanted = nil
      case .delete:
        guard current == nil else { changedSince.append("\(label) (re-created)"); continue }
        wanted = change.old
      case .update:
        guard let current else { changedSince.append("\(label) (deleted)"); continue }
        var row = current.map { Optional($0) }
        for (index, new) in change.new.enumerated() {
          guard let new else { continue }
          if current[index] != new { changedSince.append("\(label) column \(columns[index])") }
          row[index] = change.old[index]
        }
        wanted = row
      }
      let source = wanted.map { $0.map { $0 ?? .null } } ?? current!
      guard let input = try findInverse(table: change.table, columns: columns, keyIndexes: keyIndexes, keyValues: keyValues,
                                        values: source, current: current, wanted: wanted, identity: identity) else {
        missing.append(change.operation == .insert ? "\(label) (it inserted the row; no event deletes it)"
                       : change.operation == .delete ? "\(label) (it deleted the row; no event inserts it with its values)"
                       : "\(label) (no event sets \(change.new.indices.filter { change.new[$0] != nil }.map { columns[$0] }.joined(separator: ", ")) back)")
        continue
      }
      inputs.append(input)
    }
    if !changedSince.isEmpty { throw RevertError.changedSince(changedSince) }
    if !missing.isEmpty { throw RevertError.noInverse(missing) }
    return inputs
  }

  private func currentRow(_ table: String, columns: [String], keyIndexes: [Int], keyValues: [SQLiteValue]) throws -> [SQLiteValue]? {
    let condition = keyIndexes.map { "\(columns[$0].quotedIdentifier) IS ?" }.joined(separator: " AND ")
    return try connection.prepare("SELECT * FROM main.\(table.quotedIdentifier) WHERE \(condition)").first(keyValues) { row in
      (0..<Int32(columns.count)).map { row.value($0) }
    }
  }

  /// Tries each declared event with args taken from the row's columns (by name), in a
  /// savepoint that is always rolled back, and keeps the first whose changeset is exactly
  /// the wanted change of this row (`wanted` nil: the row deleted).
  private func findInverse(table: String, columns: [String], keyIndexes: [Int], keyValues: [SQLiteValue],
                           values: [SQLiteValue], current: [SQLiteValue]?, wanted: [SQLiteValue?]?,
                           identity: Identity) throws -> EventInput? {
    let head = try eventlog.head()
    let types = schema.table(named: table)?.columns
    for definition in schema.events where !definition.derived {
      var object = JSONObject()
      var complete = true
      for field in definition.args.fields {
        guard let index = columns.firstIndex(of: field.name) else {
          if !field.optional && field.defaultValue == nil { complete = false }
          continue
        }
        guard let value = Self.argValue(values[index], type: field.type, column: types?.first { $0.name == field.name }) else {
          complete = false
          break
        }
        object[field.name] = value
      }
      guard complete, let args = try? definition.args.normalize(.object(object)) else { continue }
      let context = EventContext(seqNum: head.next(clientOnly: definition.clientOnly), name: definition.name,
                                 clientId: identity.clientId, sessionId: identity.sessionId)
      try connection.execute("SAVEPOINT lstore_revert_trial")
      let changeset = try? engine.apply(definition, args: args, context: context, argsJSON: args.compactText, recordChangeset: true)
      try connection.execute("ROLLBACK TO lstore_revert_trial")
      try connection.execute("RELEASE lstore_revert_trial")
      guard let changeset, let changes = try? Changeset.changes(in: changeset), changes.count == 1 else { continue }
      let change = changes[0]
      let key = keyIndexes.map { (change.operation == .insert ? change.new : change.old)[$0] ?? .null }
      guard change.table == table, key == keyValues else { continue }
      switch (wanted, change.operation) {
      case (nil, .delete): return EventInput(name: definition.name, args: args)
      case (let wanted?, .insert) where change.new.map { $0 ?? .null } == wanted.map { $0 ?? .null }:
        return EventInput(name: definition.name, args: args)
      case (let wanted?, .update):
        // An update's changeset holds only the columns it changed: exactly those that must
        // change, each to the wanted value.
        guard let current else { break }
        let needed = Set(wanted.indices.filter { (wanted[$0] ?? .null) != current[$0] })
        let changed = Set(change.new.indices.filter { change.new[$0] != nil })
        if needed == changed, needed.allSatisfy({ change.new[$0] == wanted[$0] }) {
          return EventInput(name: definition.name, args: args)
        }
      default: break
      }
    }
    return nil
  }

  /// A state value as the arg of a given type: booleans from 0/1, dates from epoch
  /// milliseconds or ISO text. Nil when it cannot be that type.
  static func argValue(_ value: SQLiteValue, type: ArgType, column: ColumnDefinition?) -> JSONValue? {
    switch (type, value) {
    case (.nullable, .null): return .null
    case (.nullable(let inner), _): return argValue(value, type: inner, column: column)
    case (.string, .text(let text)): return .string(text)
    case (.integer, .integer(let number)), (.number, .integer(let number)): return .integer(number)
    case (.number, .real(let number)): return JSONValue.number(from: number)
    case (.boolean, .integer(let number)): return .bool(number != 0)
    case (.date, .integer(let millis)): return .string(ISODate.format(millis: millis))
    case (.date, .text(let text)): return .string(text)
    case (.json, .text(let text)): return (try? JSONParser.parse(text)) ?? .string(text)
    case (.literal(let options), .text(let text)) where options.contains(.string(text)): return .string(text)
    default: return nil
    }
  }
}
