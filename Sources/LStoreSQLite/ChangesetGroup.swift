import CSQLite

/// Changesets combined into one (SQLite's `sqlite3changegroup`): a row changed by several
/// of them appears once, with its net change. Applying the combination compiles each
/// table's statements once instead of once per changeset, which is most of the cost of
/// applying many small changesets one by one.
public final class ChangesetGroup {
  private let handle: OpaquePointer
  /// How many changesets were added.
  public private(set) var count = 0

  public init() throws {
    var group: OpaquePointer?
    let code = sqlite3changegroup_new(&group)
    guard code == SQLITE_OK, let group else { throw SQLiteError(code: code, message: "could not create a changeset group") }
    handle = group
  }

  deinit { sqlite3changegroup_delete(handle) }

  /// Adds `changeset` after the ones added before.
  public func add(_ changeset: [UInt8]) throws {
    guard !changeset.isEmpty else { return }
    let code = changeset.withUnsafeBytes { raw in
      sqlite3changegroup_add(handle, Int32(raw.count), UnsafeMutableRawPointer(mutating: raw.baseAddress))
    }
    guard code == SQLITE_OK else { throw SQLiteError(code: code, message: "could not combine a changeset") }
    count += 1
  }

  /// The combined changeset.
  public func changeset() throws -> [UInt8] {
    var size: Int32 = 0
    var output: UnsafeMutableRawPointer?
    let code = sqlite3changegroup_output(handle, &size, &output)
    defer { sqlite3_free(output) }
    guard code == SQLITE_OK else { throw SQLiteError(code: code, message: "could not output a changeset group") }
    guard size > 0, let output else { return [] }
    return Array(UnsafeRawBufferPointer(start: output, count: Int(size)))
  }
}

@available(*, unavailable)
extension ChangesetGroup: Sendable {}
