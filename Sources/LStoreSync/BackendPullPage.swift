/// One page of a pull: up to 100 events and how many are still to come after it.
public struct BackendPullPage: Equatable, Sendable {
  public var items: [PullItem]
  public var remaining: Int64

  public init(items: [PullItem], remaining: Int64) {
    self.items = items
    self.remaining = remaining
  }
}

/// LiveStore's paging arithmetic (`PULL_CHUNK_SIZE = 100`).
public enum PullPaging {
  public static let pageSize = 100

  /// `remaining` for page `index` (0-based) of a pull of `total` events:
  /// `max(0, total − (index+1)·pageSize)`.
  public static func remaining(total: Int64, pageIndex: Int, pageSize: Int = pageSize) -> Int64 {
    max(0, total - Int64(pageIndex + 1) * Int64(pageSize))
  }

  /// How many pages a pull of `total` events sends: at least one, even when empty.
  public static func pageCount(total: Int64, pageSize: Int = pageSize) -> Int {
    total == 0 ? 1 : Int((total + Int64(pageSize) - 1) / Int64(pageSize))
  }
}
