import HTTPTypes
import Hummingbird
import Logging
import PortcullisStore

/// Where a page fails because the store does not answer (PostgreSQL stopped or restarting, SQLite
/// locked for too long): one answer for every page, a 503 with `Retry-After` that says to try again
/// in a moment, never a 500. The verify endpoints answer for themselves (``VerifyRoutes``).
struct StoreOutageMiddleware: RouterMiddleware {
    let portal: Portal

    /// How long a browser is told to wait before trying again, in seconds.
    static let retryAfter = 10

    func handle(_ request: Request, context: GateContext, next: (Request, GateContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as StoreError where error.code == .unavailable || error.code == .locked {
            portal.logger.error("a page could not be served: the store does not answer", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            guard case .success(let visit) = portal.visit(request, context) else { return portal.wrongHostPage(request, context) }
            var response = portal.messagePage(visit, status: .serviceUnavailable, heading: "Sign-in is unavailable for a moment",
                                              text: "The server cannot reach its store right now. Wait a few seconds and try again; nothing you entered was saved.",
                                              link: ("Try again", "/login"))
            response.headers[.retryAfter] = String(Self.retryAfter)
            return response
        }
    }
}
