/// SplitMix64: a small random generator that gives the same sequence from the same seed on
/// every platform, so a randomized test that fails can be replayed from its seed. Shared by
/// every test target (fuzzing, differential and workload tests).
public struct SplitMix64: RandomNumberGenerator {
  public var state: UInt64

  public init(state: UInt64) { self.state = state }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A number in `0..<n`.
  public mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }

  /// One of `items`, which must not be empty.
  public mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }
}
