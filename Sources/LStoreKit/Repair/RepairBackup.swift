import Foundation

/// The copy a repair makes of every file it will change, before it changes any, in
/// `.lstore/backups/repair-<UTC time>/`: the files under their paths inside `.lstore`, and
/// `manifest.json` naming each with its size and CRC-32, the files that did not exist (a
/// restore removes them again) and the files the repair creates (the quarantine file).
/// `restore` puts every file back byte for byte.
public struct RepairBackup: Sendable, Equatable {
  public struct Entry: Sendable, Equatable {
    /// The path inside `.lstore`.
    public var path: String
    /// Nil: the file did not exist before the repair.
    public var size: Int?
    public var crc32: String?
  }

  /// The backup directory.
  public var directory: String
  public var entries: [Entry]
  /// Files the repair creates, inside `.lstore`; a restore removes them.
  public var created: [String]

  static let manifestName = "manifest.json"

  /// Copies `files` (absolute paths inside `storeDirectory`) into a new backup directory.
  static func write(storeDirectory: String, files: [String], created: [String], now: String) throws -> RepairBackup {
    let stamp = now.filter { $0.isNumber || $0 == "T" }.prefix(15) + "Z"
    let parent = (storeDirectory as NSString).appendingPathComponent("backups")
    var directory = (parent as NSString).appendingPathComponent("repair-\(stamp)")
    var suffix = 2
    while FileManager.default.fileExists(atPath: directory) {
      directory = (parent as NSString).appendingPathComponent("repair-\(stamp)-\(suffix)")
      suffix += 1
    }
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var entries: [Entry] = []
    for file in files {
      let relative = try relativePath(file, in: storeDirectory)
      guard FileManager.default.fileExists(atPath: file) else {
        entries.append(Entry(path: relative, size: nil, crc32: nil))
        continue
      }
      let copy = (directory as NSString).appendingPathComponent(relative)
      try FileManager.default.createDirectory(atPath: (copy as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try FileSync.clone(file, to: copy)
      let original = try checksum(file)
      guard try checksum(copy) == original else {
        throw RepairError.backupFailed("the copy of \(relative) in \(directory) differs from the original")
      }
      entries.append(Entry(path: relative, size: original.size, crc32: original.crc))
    }
    let backup = RepairBackup(directory: directory, entries: entries,
                              created: try created.map { try relativePath($0, in: storeDirectory) })
    try FileSync.write(Data((backup.manifest.prettyText() + "\n").utf8), to: (directory as NSString).appendingPathComponent(manifestName))
    return backup
  }

  var manifest: JSONValue {
    ["lstore": "repair-backup", "version": 1,
     "files": .array(entries.map { entry in
       entry.size == nil ? ["path": .string(entry.path), "existed": false]
         : ["path": .string(entry.path), "existed": true, "size": .integer(Int64(entry.size!)), "crc32": .string(entry.crc32!)]
     }),
     "created": .array(created.map { .string($0) })]
  }

  /// Reads the backup in `directory`.
  public static func read(directory: String) throws -> RepairBackup {
    let manifestPath = (directory as NSString).appendingPathComponent(manifestName)
    guard let data = FileManager.default.contents(atPath: manifestPath) else {
      throw RepairError.notABackup("\(directory) is not a repair backup (no \(manifestName))")
    }
    guard let value = try? JSONParser.parse(Array(data)), value["lstore"]?.stringValue == "repair-backup",
          let files = value["files"]?.arrayValue else {
      throw RepairError.notABackup("\(manifestPath) is not a repair backup manifest")
    }
    var entries: [Entry] = []
    for file in files {
      guard let path = file["path"]?.stringValue, isInside(path) else { throw RepairError.notABackup("\(manifestPath) names a file outside the store") }
      if case .bool(false)? = file["existed"] {
        entries.append(Entry(path: path, size: nil, crc32: nil))
      } else {
        guard case .integer(let size)? = file["size"], let crc = file["crc32"]?.stringValue else {
          throw RepairError.notABackup("\(manifestPath): \(path) has no size or crc32")
        }
        entries.append(Entry(path: path, size: Int(size), crc32: crc))
      }
    }
    let created = (value["created"]?.arrayValue ?? []).compactMap(\.stringValue).filter(isInside)
    return RepairBackup(directory: directory, entries: entries, created: created)
  }

  /// Puts every file back as it was when the backup was made (each checked against the
  /// manifest first, each renamed into place), removes the files that did not exist then and
  /// the ones the repair created. Returns the paths restored, inside `.lstore`.
  @discardableResult
  public func restore(into storeDirectory: String) throws -> [String] {
    // Every copy is checked before any file is touched: a damaged backup restores nothing.
    for entry in entries where entry.size != nil {
      let copy = (directory as NSString).appendingPathComponent(entry.path)
      guard FileManager.default.fileExists(atPath: copy) else { throw RepairError.notABackup("\(copy) is missing from the backup") }
      let sum = try Self.checksum(copy)
      guard sum.size == entry.size, sum.crc == entry.crc32 else {
        throw RepairError.notABackup("\(copy) does not match the backup's manifest (size or CRC-32 differs)")
      }
    }
    var restored: [String] = []
    for entry in entries {
      let target = (storeDirectory as NSString).appendingPathComponent(entry.path)
      // A journal beside a file belongs to the file being replaced.
      try? FileManager.default.removeItem(atPath: target + "-journal")
      if entry.size == nil {
        if FileManager.default.fileExists(atPath: target) { try FileManager.default.removeItem(atPath: target) }
      } else {
        let temporary = target + ".restoring-\(getpid())"
        try FileSync.clone((directory as NSString).appendingPathComponent(entry.path), to: temporary)
        try FileSync.replace(temporary, with: target)
      }
      restored.append(entry.path)
    }
    for path in created {
      let target = (storeDirectory as NSString).appendingPathComponent(path)
      if FileManager.default.fileExists(atPath: target) { try FileManager.default.removeItem(atPath: target) }
    }
    return restored
  }

  static func checksum(_ path: String) throws -> (size: Int, crc: String) {
    guard let handle = FileHandle(forReadingAtPath: path) else { throw RepairError.backupFailed("cannot read \(path)") }
    defer { try? handle.close() }
    var crc = CRC32()
    var size = 0
    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
      size += chunk.count
      chunk.withUnsafeBytes { crc.update($0) }
    }
    return (size, crc.hex)
  }

  private static func relativePath(_ file: String, in directory: String) throws -> String {
    let prefix = directory.hasSuffix("/") ? directory : directory + "/"
    guard file.hasPrefix(prefix) else { throw RepairError.backupFailed("\(file) is not inside \(directory)") }
    return String(file.dropFirst(prefix.count))
  }

  private static func isInside(_ path: String) -> Bool {
    !path.hasPrefix("/") && !path.split(separator: "/").contains("..")
  }
}
