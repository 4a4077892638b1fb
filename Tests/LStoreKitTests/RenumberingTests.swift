import XCTest
@testable import LStoreKit

/// `Renumbering`: a rebase's (original, new) pairs kept as runs, given back exactly.
final class RenumberingTests: XCTestCase {
  private func e(_ global: Int64, _ client: Int64 = 0, r generation: Int64 = 0) -> SeqNum {
    SeqNum(global: global, client: client, rebaseGeneration: generation)
  }

  /// Every pair comes back, in order, with its client part and generation, whatever breaks
  /// the runs: client-only events, gaps on either side, a change of generation.
  func testEveryPairComesBackInOrder() {
    var pairs: [(SeqNum, SeqNum)] = []
    for global in Int64(1)...1_000 { pairs.append((e(global), e(global + 10, r: 1))) }
    pairs.append((e(1_000, 1), e(1_010, 1, r: 1)))
    pairs.append((e(1_000, 2), e(1_010, 2, r: 1)))
    pairs.append((e(1_001), e(1_011, r: 1)))
    pairs.append((e(1_003), e(1_012, r: 1)))      // a gap in the originals
    pairs.append((e(1_004), e(1_014, r: 1)))      // a gap in the new numbers
    pairs.append((e(1_005), e(1_015, r: 2)))      // another generation
    var renumbering = Renumbering()
    for (original, new) in pairs { renumbering.append(original, new) }
    let back = Array(renumbering)
    XCTAssertEqual(back.count, pairs.count)
    XCTAssertEqual(renumbering.count, pairs.count)
    for (index, pair) in pairs.enumerated() {
      XCTAssertEqual(back[index].0, pair.0, "pair \(index)")
      XCTAssertEqual(back[index].1, pair.1, "pair \(index)")
      XCTAssertEqual(back[index].0.rebaseGeneration, pair.0.rebaseGeneration, "pair \(index)")
      XCTAssertEqual(back[index].1.rebaseGeneration, pair.1.rebaseGeneration, "pair \(index)")
    }
    // The thousand synced pairs are one run.
    XCTAssertEqual(renumbering.runs.count, 7)
  }

  /// A step's pairs added to the total join its last run when they continue it.
  func testAppendingContinuesTheLastRun() {
    var total = Renumbering()
    var step = Renumbering()
    for global in Int64(1)...5 { total.append(e(global), e(global + 3)) }
    for global in Int64(6)...9 { step.append(e(global), e(global + 3)) }
    total.append(contentsOf: step)
    XCTAssertEqual(total.runs.count, 1)
    XCTAssertEqual(total.count, 9)
    XCTAssertEqual(total.map { "\($0.0)→\($0.1)" }, (Int64(1)...9).map { "e\($0)→e\($0 + 3)" })
    // A step that does not continue the last run adds its runs as they are.
    var other = Renumbering()
    other.append(e(20), e(30))
    other.append(e(21), e(31))
    other.append(e(21, 1), e(31, 1))
    total.append(contentsOf: other)
    XCTAssertEqual(total.runs.count, 3)
    XCTAssertEqual(total.count, 12)
    XCTAssertEqual(total.suffix(3).map { "\($0.0)→\($0.1)" }, ["e20→e30", "e21→e31", "e21+1→e31+1"])
    XCTAssertTrue(Renumbering().isEmpty)
    XCTAssertEqual(Array(Renumbering()).count, 0)
  }
}
