/// A problem in a schema file. Its text names the file, the table or event, and the field.
public struct SchemaError: Error, Equatable, Sendable, CustomStringConvertible {
  public var file: String
  /// Where in the schema: `event 'v1.TodoCreated', field 'text'`.
  public var location: String
  public var reason: String

  public init(file: String, location: String, reason: String) {
    self.file = file
    self.location = location
    self.reason = reason
  }

  /// The reason given when the schema file does not exist.
  public static let noSuchFile = "no such schema file"

  /// The file named is not there (rather than there and wrong).
  public var isMissingFile: Bool { reason == Self.noSuchFile && location.isEmpty }

  public var description: String {
    location.isEmpty ? "\(file): \(reason)" : "\(file): \(location): \(reason)"
  }
}
