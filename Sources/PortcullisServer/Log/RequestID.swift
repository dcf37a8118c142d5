public import HTTPTypes
public import Hummingbird
public import Logging
import PortcullisCore

/// The id of the request being handled, added to every log line written while handling it
/// (`request_id=…` in text, `"request_id"` in JSON) and sent back in `X-Request-Id`.
///
/// The id a trusted proxy sends is kept when it is safe to log (1 to 64 letters, digits, `.`, `_`
/// or `-`; nginx: `proxy_set_header X-Request-Id $request_id;`), so its access log and ours can be
/// matched; otherwise (another client's header included) a random one is made.
public enum RequestID {
    @TaskLocal public static var current: String?

    /// Adds ``current`` to the log lines of every logger made by the logging system.
    public static let metadataProvider = Logger.MetadataProvider {
        guard let id = RequestID.current else { return [:] }
        return ["request_id": .string(id)]
    }

    public static let header = HTTPField.Name("X-Request-Id")!

    /// The proxy's id when it is safe to log, else a new random one (64 bits, hex).
    static func id(fromHeader value: String?) -> String {
        if let value, (1...64).contains(value.utf8.count),
           value.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }) {
            return value
        }
        let random = UInt64.random(in: .min ... .max)
        let hex = String(random, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// Runs each request routed by Hummingbird with its ``RequestID``.
struct RequestIDMiddleware: RouterMiddleware {
    /// Whose `X-Request-Id` is believed: `server.trusted_proxies`.
    let resolver: ClientIPResolver

    func handle(_ request: Request, context: GateContext, next: (Request, GateContext) async throws -> Response) async throws -> Response {
        let sent = resolver.isTrusted(context.peerAddress) ? request.headers[RequestID.header] : nil
        let id = RequestID.id(fromHeader: sent)
        var response = try await RequestID.$current.withValue(id) { try await next(request, context) }
        response.headers[RequestID.header] = id
        return response
    }
}
