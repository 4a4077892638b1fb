/// One page of a pull: up to 100 events (and 900,000 bytes) and how many are still to come after it.
public struct BackendPullPage: Equatable, Sendable {
  public var items: [PullItem]
  public var remaining: Int64

  public init(items: [PullItem], remaining: Int64) {
    self.items = items
    self.remaining = remaining
  }
}

/// LiveStore's paging arithmetic (`PULL_CHUNK_SIZE = 100`), for pages of events of
/// ordinary size. Pages are also bounded by bytes (`maxPageBytes`), so with large events a
/// pull has more pages than `pageCount` says; `remaining` always counts the events after a page.
public enum PullPaging {
  public static let pageSize = 100
  /// The most encoded bytes of events in one page (LiveStore 0.4's bound), unless one
  /// event alone is larger.
  public static let maxPageBytes = 900_000

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
