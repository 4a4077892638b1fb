import CSQLite

/// A value as SQLite stores it.
public enum SQLiteValue: Equatable, Sendable, CustomStringConvertible {
  case null
  case integer(Int64)
  case real(Double)
  case text(String)
  case blob([UInt8])

  public var description: String {
    switch self {
    case .null: return "NULL"
    case .integer(let v): return String(v)
    case .real(let v): return String(v)
    case .text(let v): return v
    case .blob(let bytes): return "x'" + bytes.map { String(format2: $0) }.joined() + "'"
    }
  }

  /// Reads an `sqlite3_value` (used for changeset values and function arguments).
  public init(raw: OpaquePointer?) {
    guard let raw else { self = .null; return }
    switch sqlite3_value_type(raw) {
    case SQLITE_INTEGER: self = .integer(sqlite3_value_int64(raw))
    case SQLITE_FLOAT: self = .real(sqlite3_value_double(raw))
    case SQLITE_TEXT:
      let count = Int(sqlite3_value_bytes(raw))
      if let p = sqlite3_value_text(raw) {
        self = .text(String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self))
      } else {
        self = .text("")
      }
    case SQLITE_BLOB:
      let count = Int(sqlite3_value_bytes(raw))
      if let p = sqlite3_value_blob(raw) {
        self = .blob(Array(UnsafeRawBufferPointer(start: p, count: count)))
      } else {
        self = .blob([])
      }
    default: self = .null
    }
  }
}

extension String {
  init(format2 byte: UInt8) {
    let digits = Array("0123456789abcdef")
    self = String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
  }
}
