import LStoreKit

/// The connect URL of LiveStore's Cloudflare protocol:
/// `<base>/websocket?storeId=<id>&payload=<encodeURIComponent(JSON)>`, serialized as
/// `URLSearchParams` does, so `payload` ends up percent-encoded twice.
public enum SyncURL {
  public struct InvalidQuery: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public var description: String { reason }
  }

  /// The WebSocket URL a LiveStore client would open for `storeId` and `payload`.
  public static func webSocketURL(base: String, storeId: String, payload: JSONValue?) -> String {
    var base = base
    while base.hasSuffix("/") { base.removeLast() }
    var query = "storeId=" + formEncode(storeId)
    if let payload {
      query += "&payload=" + formEncode(encodeURIComponent(payload.compactText))
    }
    return base + "/websocket?" + query
  }

  /// Reads `storeId` and `payload` from a raw query string the way LiveStore's worker does
  /// (`URL.searchParams`, then `decodeURIComponent` and `JSON.parse` for the payload).
  public static func parseConnectQuery(_ query: String) throws -> (storeId: String, payload: JSONValue?) {
    let parameters = try formDecode(query)
    guard let storeId = parameters.first(where: { $0.0 == "storeId" })?.1 else {
      throw InvalidQuery(reason: "storeId is missing")
    }
    guard let rawPayload = parameters.first(where: { $0.0 == "payload" })?.1 else { return (storeId, nil) }
    guard let json = percentDecode(rawPayload, plusIsSpace: false) else {
      throw InvalidQuery(reason: "payload is not a valid URI component")
    }
    do {
      return (storeId, try JSONParser.parse(json))
    } catch {
      throw InvalidQuery(reason: "payload is not JSON: \(error)")
    }
  }

  /// LiveStore 0.4's transports (`SearchParamsSchema.transport`): its clients add
  /// `transport=ws` or `transport=http` to the query, on any path; 0.3's add none.
  public enum Transport04: String, Sendable {
    case webSocket = "ws"
    case http = "http"
  }

  /// The 0.4 transport a query names, nil for a 0.3 (or non-sync) request. A query with
  /// `storeId` and a `transport` other than `ws`/`http` is not a 0.4 request either
  /// (LiveStore's worker does not match it).
  public static func transport04(inQuery query: String) -> Transport04? {
    guard query.contains("transport="), let pairs = try? formDecode(query),
      let value = pairs.first(where: { $0.0 == "transport" })?.1
    else { return nil }
    return Transport04(rawValue: value)
  }

  /// The URL a LiveStore 0.4 client opens: `<url>?storeId=…[&payload=…]&transport=ws|http`,
  /// the parameters in `SearchParamsSchema`'s order; nothing is added to the path.
  public static func url04(base: String, storeId: String, payload: JSONValue?, transport: Transport04) -> String {
    var query = "storeId=" + formEncode(storeId)
    if let payload {
      query += "&payload=" + formEncode(encodeURIComponent(payload.compactText))
    }
    return base + "?" + query + "&transport=" + transport.rawValue
  }

  /// `application/x-www-form-urlencoded` pairs, in order.
  public static func formDecode(_ query: String) throws -> [(String, String)] {
    var pairs: [(String, String)] = []
    for part in query.split(separator: "&", omittingEmptySubsequences: true) {
      let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      guard let name = percentDecode(String(pieces[0]), plusIsSpace: true),
        let value = percentDecode(pieces.count > 1 ? String(pieces[1]) : "", plusIsSpace: true)
      else { throw InvalidQuery(reason: "malformed percent-encoding in the query") }
      pairs.append((name, value))
    }
    return pairs
  }

  /// JavaScript's `encodeURIComponent`.
  public static func encodeURIComponent(_ text: String) -> String {
    percentEncode(text) { byte in
      isAlphanumeric(byte) || "-_.!~*'()".utf8.contains(byte)
    }
  }

  /// The `URLSearchParams` serializer: space becomes `+`.
  public static func formEncode(_ text: String) -> String {
    percentEncode(text, spaceAsPlus: true) { byte in
      isAlphanumeric(byte) || "*-._".utf8.contains(byte)
    }
  }

  /// Decodes `%XX` sequences (and `+` as space for forms); nil for malformed sequences or
  /// bytes that are not UTF-8, where `decodeURIComponent` would throw.
  public static func percentDecode(_ text: String, plusIsSpace: Bool) -> String? {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.utf8.count)
    var iterator = Array(text.utf8)[...]
    while let byte = iterator.popFirst() {
      if byte == UInt8(ascii: "%") {
        guard iterator.count >= 2, let high = hexValue(iterator.removeFirst()), let low = hexValue(iterator.removeFirst())
        else { return nil }
        bytes.append(high << 4 | low)
      } else if byte == UInt8(ascii: "+") && plusIsSpace {
        bytes.append(UInt8(ascii: " "))
      } else {
        bytes.append(byte)
      }
    }
    return String(validating: bytes, as: UTF8.self)
  }

  private static func percentEncode(_ text: String, spaceAsPlus: Bool = false, keep: (UInt8) -> Bool) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(text.utf8.count * 3)
    for byte in text.utf8 {
      if keep(byte) {
        out.append(byte)
      } else if spaceAsPlus && byte == UInt8(ascii: " ") {
        out.append(UInt8(ascii: "+"))
      } else {
        out.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  private static func isAlphanumeric(_ byte: UInt8) -> Bool {
    (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
  }

  private static func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 48...57: return byte - 48
    case 65...70: return byte - 55
    case 97...102: return byte - 87
    default: return nil
    }
  }
}
