extension JSONValue {
  /// Indented JSON for people (two spaces, like `JSON.stringify(v, null, 2)`).
  public func prettyText(indent: Int = 2, level: Int = 0) -> String {
    let pad = String(repeating: " ", count: indent * (level + 1))
    let closePad = String(repeating: " ", count: indent * level)
    switch self {
    case .array(let elements) where !elements.isEmpty:
      return "[\n" + elements.map { pad + $0.prettyText(indent: indent, level: level + 1) }.joined(separator: ",\n")
        + "\n" + closePad + "]"
    case .object(let object) where !object.isEmpty:
      return "{\n" + object.entries.enumerated().map { index, entry in
        pad + object.keyValue(at: index).compactText + ": " + entry.value.prettyText(indent: indent, level: level + 1)
      }.joined(separator: ",\n") + "\n" + closePad + "}"
    default:
      return compactText
    }
  }
}
