import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LStoreKit
import LStoreSync

/// One wording for the failures a user can act on, whichever protocol met them: nothing
/// listening, a host name that does not resolve, a refused auth token. ws:// and http://
/// must say the same thing for the same cause.
enum ConnectErrors {
  static func nothingListens(host: String, port: Int, url: String) -> TransportError {
    TransportError(.unavailable, "nothing listens on \(host):\(port) (\(url)); is the server running?")
  }

  /// A server's refusal of the connect (HTTP 400/401/403 with its text): the auth token
  /// when the text or status says so, else the server's own words.
  static func refusal(url: String, status: Int, serverText: String, sentToken: Bool) -> TransportError {
    let text = serverText.trimmingCharacters(in: .whitespacesAndNewlines)
    let lower = text.lowercased()
    if lower.contains("missing auth token") || (!sentToken && (status == 401 || status == 403)) {
      return TransportError(.unauthorized, "the server requires an auth token (\(url)); give --auth-token, --auth-file or LSTORE_AUTH_TOKEN")
    }
    if lower.contains("auth token") || lower.contains("jwt") || status == 401 || status == 403 {
      return TransportError(.unauthorized, "the server refused the auth token (\(url)\(text.isEmpty ? "" : ": \(text)"))")
    }
    return TransportError(.unavailable, "\(url) refused the connection (HTTP \(status)\(text.isEmpty ? "" : ": \(text)"))")
  }

  /// Sends `request`: the body and the HTTP status, or the failure to connect translated.
  static func send(_ request: URLRequest, with session: URLSession, url: URL) async throws -> (Data, Int) {
    do {
      let (data, response) = try await session.data(for: request)
      return (data, (response as? HTTPURLResponse)?.statusCode ?? 0)
    } catch {
      throw translate(error, url: url)
    }
  }

  /// Sends `request` with the answer's body written to a temporary file (the caller removes
  /// it): the file and the HTTP status, or the failure to connect translated.
  static func download(_ request: URLRequest, with session: URLSession, url: URL) async throws -> (URL, Int) {
    do {
      let (file, response) = try await session.download(for: request)
      return (file, (response as? HTTPURLResponse)?.statusCode ?? 0)
    } catch {
      throw translate(error, url: url)
    }
  }

  /// A URLSession failure, translated.
  static func translate(_ error: Error, url: URL) -> TransportError {
    let host = url.host ?? "?"
    let port = url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
    if let error = error as? URLError {
      switch error.code {
      case .cannotConnectToHost: return nothingListens(host: host, port: port, url: url.absoluteString)
      case .cannotFindHost, .dnsLookupFailed: return TransportError(.unavailable, "cannot resolve the host name '\(host)' of \(url.absoluteString)")
      case .timedOut: return TransportError(.unavailable, "\(host):\(port) did not answer in time (\(url.absoluteString))")
      default: break
      }
    }
    return TransportError(.unavailable, "cannot reach \(url.absoluteString): \(error.localizedDescription)")
  }

  /// After a refused WebSocket upgrade (which keeps neither status nor body), asks the
  /// same URL over plain HTTP: lstore serve and LiveStore's worker run the same connect
  /// checks there and answer with the reason ("Invalid auth token"), or 426 when the
  /// connect would have been accepted.
  static func probeRefusedUpgrade(url: String, socketURL: String, storeId: String, payload: JSONValue?) async -> TransportError {
    let fallback = TransportError(.unavailable, "\(url) refused the WebSocket connection for store \(storeId)")
    var socketURL = socketURL
    if socketURL.lowercased().hasPrefix("ws://") { socketURL = "http://" + socketURL.dropFirst(5) }
    else if socketURL.lowercased().hasPrefix("wss://") { socketURL = "https://" + socketURL.dropFirst(6) }
    guard let probe = URL(string: socketURL) else { return fallback }
    var request = URLRequest(url: probe)
    request.timeoutInterval = 5
    let configuration = URLSessionConfiguration.ephemeral
    let session = URLSession(configuration: configuration)
    defer { session.invalidateAndCancel() }
    guard let (data, response) = try? await session.data(for: request),
          let status = (response as? HTTPURLResponse)?.statusCode else { return fallback }
    if status == 426 || status == 200 { return fallback }
    return refusal(url: url, status: status, serverText: String(decoding: data.prefix(500), as: UTF8.self),
                   sentToken: payload?["authToken"] != nil)
  }
}
