import Hummingbird
import NIOCore

/// A request body read whole, for the two endpoints that take one (the HTTP API's push and
/// LiveStore 0.4's HTTP RPC), with the same limit and the same refusals.
enum RequestBody {
  /// The most either endpoint reads: a push of the largest batch a client sends fits many
  /// times over.
  static let maxBytes = 16 << 20

  /// Why a body was not read.
  enum Refusal: Error {
    /// Over `maxBytes`: declared so by `Content-Length` (refused before any of it is read,
    /// so no connection makes the server buffer 16 MiB for nothing), or found so while
    /// reading a chunked one.
    case tooLarge
    /// The HTTP framing of the body is broken (a chunk size that is not hex, say): the
    /// client's fault, answered 400 (it was a 500).
    case malformed

    var message: String {
      switch self {
      case .tooLarge: "Request refused: the body exceeds \(RequestBody.maxBytes >> 20) MiB"
      case .malformed: "Request refused: malformed HTTP body"
      }
    }
  }

  static func collect(_ request: Request) async throws(Refusal) -> ByteBuffer {
    if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maxBytes { throw .tooLarge }
    do {
      return try await request.body.collect(upTo: maxBytes)
    } catch is NIOTooManyBytesError {
      throw .tooLarge
    } catch {
      throw .malformed
    }
  }
}
