/// The bounds on one event that every way in enforces (a push to `lstore serve` over
/// either transport, `commit`, `import`), so that whatever is accepted can be served and
/// read back: a pull page wraps an event's args five levels deep in its envelope and holds
/// at most `PullPaging.maxPageBytes` (900,000) bytes.
public enum EventLimits {
  /// How deep an event's args may nest (an array or object is one level; a scalar at the
  /// top is depth 0). Far below `JSONParser.maxDepth` (512), so any envelope a transport
  /// or file wraps args in stays readable.
  public static let maxArgsDepth = 256

  /// The most bytes of one event as it travels (`{"name":…,"args":…,…}`, compact JSON).
  public static let maxEventBytes = 800_000

  /// The most bytes of an event's args (compact JSON), leaving room for its name and ids.
  public static let maxArgsBytes = 790_000

  /// Why `args` is over a limit, or nil. Cheap for ordinary args: depth and an upper bound
  /// of the size are found in one walk, and the exact size is only computed near the limit.
  public static func violation(args: JSONValue) -> String? {
    var estimate = 0
    var deepest = 0
    var stack: [(JSONValue, Int)] = [(args, 0)]
    while let (value, depth) = stack.popLast() {
      switch value {
      case .null, .bool: estimate += 5
      case .integer, .number: estimate += 24
      case .string(let text): estimate += text.utf8.count * 6 + 2
      case .loneSurrogateString(let units): estimate += units.count * 6 + 2
      case .array(let elements):
        deepest = max(deepest, depth + 1)
        estimate += 2 + elements.count
        for element in elements { stack.append((element, depth + 1)) }
      case .object(let object):
        deepest = max(deepest, depth + 1)
        estimate += 2 + object.entries.count * 2
        for entry in object.entries {
          estimate += entry.key.utf8.count * 6 + 2
          stack.append((entry.value, depth + 1))
        }
      }
      if deepest > maxArgsDepth { return "args nest deeper than \(maxArgsDepth) levels" }
    }
    if estimate > maxArgsBytes, args.compactText.utf8.count > maxArgsBytes {
      return "args are larger than \(maxArgsBytes) bytes"
    }
    return nil
  }
}
