/// An error whose text may be shown to a client: it says what the client sent wrong (or
/// what the protocol refuses), never how the backend stores data.
public protocol ClientFacingError: Error, CustomStringConvertible {}

extension PushRejection: ClientFacingError {}
extension InvalidStoreID: ClientFacingError {}
extension SyncProtocolError: ClientFacingError {}
extension StorageHeadMismatch: ClientFacingError {}

public enum ClientErrorText {
  /// What a client is told in place of an internal error (a storage or I/O failure): the
  /// detail, which may hold SQL or paths, goes to the server log only.
  public static let internalError = "internal server error (the server log has the details)"

  /// The text of `error` as a client may see it: its own text for a `ClientFacingError`,
  /// else `internalError`.
  public static func text(_ error: any Error) -> String {
    if let error = error as? any ClientFacingError { return error.description }
    return internalError
  }
}
