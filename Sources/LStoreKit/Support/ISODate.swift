import Foundation
/// ISO-8601 dates as JavaScript reads and writes them, without Foundation's formatters
/// (which are slow and locale-sensitive).
public enum ISODate {
  /// Parses `2025-06-06`, `2025-06-06T10:00:00Z`, `…T10:00:00.123Z`, `…T10:00:00+02:00`
  /// into milliseconds since 1970-01-01T00:00:00Z.
  /// Now, or `LSTORE_DATE` when set (reproducible scripts and tests): the time stamped on
  /// commits and reflog entries.
  public static func now() -> String {
    if let fixed = fixedNow { return fixed }
    return format(millis: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
  }

  /// `LSTORE_DATE`, read once: a rebase stamps every step, and copying the environment
  /// each time showed in its profile.
  private static let fixedNow: String? = ProcessInfo.processInfo.environment["LSTORE_DATE"].flatMap(parse).map { format(millis: $0) }

  public static func parse(_ text: String) -> Int64? {
    let b = Array(text.utf8)
    var i = 0
    func number(_ digits: Int) -> Int64? {
      guard i + digits <= b.count else { return nil }
      var v: Int64 = 0
      for _ in 0..<digits {
        let c = b[i]
        guard c >= 48 && c <= 57 else { return nil }
        v = v * 10 + Int64(c - 48)
        i += 1
      }
      return v
    }
    func expect(_ c: Character) -> Bool {
      guard i < b.count, b[i] == c.asciiValue! else { return false }
      i += 1
      return true
    }
    guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2) else { return nil }
    guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month) else { return nil }
    var hour: Int64 = 0, minute: Int64 = 0, second: Int64 = 0, millis: Int64 = 0, offset: Int64 = 0
    if i < b.count {
      guard expect("T") || expect(" ") else { return nil }
      guard let h = number(2), expect(":"), let m = number(2) else { return nil }
      hour = h
      minute = m
      if expect(":") {
        guard let s = number(2) else { return nil }
        second = s
        if expect(".") {
          var digits = 0
          var fraction: Int64 = 0
          while i < b.count, b[i] >= 48, b[i] <= 57 {
            if digits < 3 { fraction = fraction * 10 + Int64(b[i] - 48) }
            digits += 1
            i += 1
          }
          guard digits > 0 else { return nil }
          // Digits past milliseconds are dropped, as JavaScript does.
          for _ in min(digits, 3)..<3 { fraction *= 10 }
          millis = fraction
        }
      }
      guard hour < 24 || (hour == 24 && minute == 0 && second == 0 && millis == 0), minute < 60, second < 60 else {
        return nil
      }
      if expect("Z") || expect("z") {
      } else if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
        let sign: Int64 = b[i] == UInt8(ascii: "+") ? 1 : -1
        i += 1
        guard let oh = number(2) else { return nil }
        _ = expect(":")
        guard let om = number(2) else { return nil }
        offset = sign * (oh * 60 + om)
      } else {
        return nil
      }
    }
    guard i == b.count else { return nil }
    let days = daysFromCivil(year: year, month: month, day: day)
    return ((days * 24 + hour) * 60 + minute - offset) * 60_000 + second * 1000 + millis
  }

  /// Formats like `Date.prototype.toISOString`: `2025-06-06T10:00:00.123Z`.
  public static func format(millis: Int64) -> String {
    var days = millis / 86_400_000
    var rest = millis % 86_400_000
    if rest < 0 {
      rest += 86_400_000
      days -= 1
    }
    let (y, m, d) = civilFromDays(days)
    let h = rest / 3_600_000
    let mi = (rest / 60_000) % 60
    let s = (rest / 1000) % 60
    let ms = rest % 1000
    // Years outside 0000...9999 take a sign and six digits, as in toISOString.
    let year = (0...9999).contains(y) ? pad(y, 4) : (y < 0 ? "-" : "+") + pad(abs(y), 6)
    return "\(year)-\(pad(m, 2))-\(pad(d, 2))T\(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2)).\(pad(ms, 3))Z"
  }

  private static func pad(_ v: Int64, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
  }

  private static func daysInMonth(year: Int64, month: Int64) -> Int64 {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  // Howard Hinnant's days-from-civil algorithm (proleptic Gregorian calendar).
  static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }

  static func civilFromDays(_ days: Int64) -> (Int64, Int64, Int64) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
  }
}
