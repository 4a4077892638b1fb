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

  public var description: String {
    location.isEmpty ? "\(file): \(reason)" : "\(file): \(location): \(reason)"
  }
}
