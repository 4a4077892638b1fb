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
      switch claims.storeId {
      case .unlimited:
        break
      case .invalid:
        throw Refusal(message: "Invalid auth token: its storeId claim must be a store id")
      case .only(let allowed):
        guard Self.scope(allowed, covers: storeId) else {
          // lstore's branch stores are named by a hash of the store id and branch name, which
          // this server cannot check against the token (and a name a client picks could be made
          // to collide): a store-scoped token does not reach them.
          throw Refusal(message: storeId.hasPrefix(CompanionStores.branchStorePrefix)
            ? "Invalid auth token: a token limited to one storeId does not cover lstore's branch stores (publish branches with a token without a storeId claim)"
            : "Invalid auth token: not valid for this storeId")
        }
      }
    }
  }
}

extension PayloadAuthenticator {
  /// Whether a token limited to `allowed` may sync `storeId`: that store, and the companion
  /// stores lstore derives from it alone (its commit records and its list of branches), so
  /// that push and pull with such a token work as they do with any other. Both are derived
  /// from the store id the token's issuer chose, never from anything a client sends.
  static func scope(_ allowed: String, covers storeId: String) -> Bool {
    storeId == allowed || storeId == CompanionStores.records(of: allowed) || storeId == CompanionStores.branches(of: allowed)
  }

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
  /// What the `storeId` claim says. A claim that is there but null (or empty, or not a
  /// store id) limits the token to nothing it could name, so it is refused rather than read
  /// as "no limit": an issuer that meant to scope a token and had no store id at hand must
  /// not mint one for every store.
  enum StoreScope: Sendable, Equatable {
    case unlimited
    case only(String)
    case invalid
  }

  var exp: ExpirationClaim
  var storeId: StoreScope

  enum CodingKeys: String, CodingKey { case exp, storeId }

  init(exp: ExpirationClaim, storeId: StoreScope) {
    self.exp = exp
    self.storeId = storeId
  }

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    exp = try container.decode(ExpirationClaim.self, forKey: .exp)
    if !container.contains(.storeId) {
      storeId = .unlimited
    } else if let text = try? container.decode(String.self, forKey: .storeId), Identifiers.isValidStoreID(text) {
      storeId = .only(text)
    } else {
      storeId = .invalid
    }
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(exp, forKey: .exp)
    switch storeId {
    case .unlimited: break
    case .only(let text): try container.encode(text, forKey: .storeId)
    case .invalid: try container.encodeNil(forKey: .storeId)
    }
  }

  func verify(using algorithm: some JWTAlgorithm) async throws {
    try exp.verifyNotExpired()
  }
}
