import XCTest
@testable import LStoreKit

/// Pending: fails until the importer checks the end line's "commits" count (and rejects
/// unknown keys there). Today a damaged end line such as {"end":{"events":3,"commits":9,…}}
/// or {"end":{"events":3,"bommits":2,…}} is accepted.
final class ExportEndLineTests: XCTestCase {
  func testEndLineCommitCountIsChecked() throws {
    let directory = try TemporaryDirectory()
    let source = try Fixtures.openReplica(try Fixtures.makeStore(in: directory, name: "a"))
    try Fixtures.commit(source, [("v1.TodoCreated", ["id": "t1", "text": "x"])], message: "one")
    final class Sink: ByteSink {
      var bytes: [UInt8] = []
      func write(_ raw: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: raw) }
      func finish() throws {}
    }
    let sink = Sink()
    _ = try Exporter.export(source.eventlog, storeId: "todos", to: sink, exportedAt: Fixtures.now)
    let text = String(decoding: sink.bytes, as: UTF8.self)
    for damaged in [text.replacingOccurrences(of: #""commits":1,"crc32""#, with: #""commits":9,"crc32""#),
                    text.replacingOccurrences(of: #""commits":1,"crc32""#, with: #""bommits":1,"crc32""#)] {
      XCTAssertNotEqual(damaged, text)
      let path = try directory.write("damaged-\(UUID().uuidString).ndjson", damaged)
      let target = try Fixtures.openReplica(try Fixtures.makeStore(in: directory, name: UUID().uuidString))
      XCTAssertThrowsError(try Importer.run(try LineReader.open(path: path), into: target, storeId: "todos"))
      XCTAssertEqual(try target.eventlog.count(), 0)
    }
  }
}
