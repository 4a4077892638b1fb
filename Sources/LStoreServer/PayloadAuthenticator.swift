import Foundation
import JWTKit
import LStoreKit
import LStoreSync

/// Checks the connect payload (`{"authToken": …}`), as LiveStore's `validatePayload` does
/// in its examples, against a static token or an HS256 JWT secret. With neither, every
/// payload is accepted.
struct PayloadAuthenticator: Sendable {
  enum Mode: Sendable {
    case open
    case token(String)
    case jwt(JWTKeyCollection)
  }

  /// A refusal, with the text sent back (never the token itself).
  struct Refusal: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
  }

  let mode: Mode

  static func make(authToken: String?, jwtSecret: String?) async -> PayloadAuthenticator {
    if let jwtSecret {
      let keys = JWTKeyCollection()
      await keys.add(hmac: HMACKey(from: jwtSecret), digestAlgorithm: .sha256)
      return PayloadAuthenticator(mode: .jwt(keys))
    }
    if let authToken { return PayloadAuthenticator(mode: .token(authToken)) }
    return PayloadAuthenticator(mode: .open)
  }

  var isOpen: Bool { if case .open = mode { return true }; return false }

  /// Throws `Refusal` unless the payload may connect to `storeId`.
  func check(payload: JSONValue?, storeId: String) async throws {
    if case .open = mode { return }
    guard let token = payload?["authToken"]?.stringValue else {
      throw Refusal(message: "Missing auth token: the payload must be {\"authToken\": …}")
    }
    try await check(token: token, storeId: storeId)
  }

  func check(token: String, storeId: String) async throws {
    switch mode {
    case .open:
      return
    case .token(let expected):
      guard ConstantTime.equal(token, expected) else { throw Refusal(message: "Invalid auth token") }
    case .jwt(let keys):
      // The key signs with HS256 whatever a token's header names (JWTKit does not compare
      // them); a token naming another algorithm (`none`, `HS512`) was not made for this
      // server, so it is refused as RFC 8725 advises, even when its signature would pass.
      let algorithm = Self.headerAlgorithm(of: token)
      guard algorithm == "HS256" else {
        throw Refusal(message: algorithm == nil ? "Invalid auth token" : "Invalid auth token: the JWT must be signed with HS256")
      }
      let claims: SyncTokenClaims
      do {
        claims = try await keys.verify(token, as: SyncTokenClaims.self)
      } catch let error as JWTError where error.errorType == .claimVerificationFailure {
        throw Refusal(message: "Invalid auth token: expired")
      } catch {
        throw Refusal(message: "Invalid auth token")
      }
      if let allowed = claims.storeId, allowed != storeId {
        throw Refusal(message: "Invalid auth token: not valid for this storeId")
      }
    }
  }
}

extension PayloadAuthenticator {
  /// The `alg` of a compact JWT's header (its first, base64url-encoded, segment), or nil
  /// when that is not a JSON object with a string `alg`.
  static func headerAlgorithm(of token: String) -> String? {
    guard let segment = token.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first,
          segment.utf8.count <= 4096 else { return nil }
    var base64 = segment.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
    guard let bytes = Data(base64Encoded: base64), let header = try? JSONParser.parse(Array(bytes)) else { return nil }
    return header["alg"]?.stringValue
  }
}

/// The claims lstore reads from a JWT: `exp` (required) and an optional `storeId` that
/// limits the token to one store.
struct SyncTokenClaims: JWTPayload {
  var exp: ExpirationClaim
  var storeId: String?

  func verify(using algorithm: some JWTAlgorithm) async throws {
    try exp.verifyNotExpired()
  }
}
