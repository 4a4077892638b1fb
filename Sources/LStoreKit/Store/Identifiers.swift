/// Random identifiers in nanoid's alphabet, as LiveStore uses for client and session ids.
public enum Identifiers {
  static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

  public static func nanoid(length: Int = 6) -> String {
    var generator = SystemRandomNumberGenerator()
    return String((0..<length).map { _ in alphabet[Int(generator.next() % 64)] })
  }

  /// A commit id: 16 hex digits, random so that ids stay stable when commits are
  /// renumbered by a rebase or copied by export, import and sync.
  public static func commitID() -> String {
    var generator = SystemRandomNumberGenerator()
    let value: UInt64 = generator.next()
    let hex = String(value, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
  }

  /// Store ids travel in URLs and table names, so they are kept to a safe alphabet.
  public static func isValidStoreID(_ id: String) -> Bool {
    !id.isEmpty && id.count <= 64 && id.utf8.allSatisfy {
      ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 || $0 == 45 || $0 == 46
    }
  }
}
