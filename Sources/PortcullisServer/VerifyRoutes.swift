import HTTPTypes
import Hummingbird
import NIOCore
import PortcullisCore

/// The endpoints proxies call on every request: forward auth, auth request, and their aliases.
enum VerifyRoutes {
    /// The paths and the contract each speaks.
    static let endpoints: [(path: String, style: VerifyStyle)] = [
        ("/api/authz/forward-auth", .forwardAuth),
        ("/api/authz/auth-request", .authRequest),
        ("/api/verify", .forwardAuth),      // Authelia's legacy name; X-Original-URL also understood
        ("/verify", .forwardAuth),          // Forward Auth TOTP's path
        ("/auth/check", .authRequest),      // simpleotp's path (nginx auth_request)
    ]

    static func add(to router: Router<GateContext>, gate: Gate) {
        for endpoint in endpoints {
            let handler: @Sendable (Request, GateContext) -> Response = { request, context in
                answer(request, context: context, gate: gate, style: endpoint.style)
            }
            router.get(RouterPath(endpoint.path), use: handler)
            router.head(RouterPath(endpoint.path), use: handler)
        }
    }

    static func answer(_ request: Request, context: GateContext, gate: Gate, style: VerifyStyle) -> Response {
        let headers = request.headers
        let verifyRequest = VerifyRequest(
            forwardedMethod: headers[HeaderNames.forwardedMethod], forwardedProto: headers[HeaderNames.forwardedProto],
            forwardedHost: headers[HeaderNames.forwardedHost], forwardedURI: headers[HeaderNames.forwardedURI],
            originalURL: headers[HeaderNames.originalURL], originalMethod: headers[HeaderNames.originalMethod],
            accept: headers[.accept], requestedWith: headers[HeaderNames.requestedWith]
        )
        let verdict = gate.verify(verifyRequest, cookieHeader: headers[.cookie], peer: context.peerAddress,
                                  forwardedFor: headers[HeaderNames.forwardedFor], style: style)
        return response(for: verdict, head: request.method == .head)
    }

    /// The HTTP form of a verdict.
    static func response(for verdict: VerifyVerdict, head: Bool) -> Response {
        var fields: HTTPFields = [.cacheControl: "no-store"]
        let status: HTTPResponse.Status
        var text = ""
        switch verdict {
        case .allow(let identity):
            status = .ok
            fields[HeaderNames.remoteUser] = identity.user
            fields[HeaderNames.remoteGroups] = identity.groups.joined(separator: ",")
            fields[HeaderNames.remoteName] = identity.name
            fields[HeaderNames.remoteEmail] = identity.email
        case .redirect(let code, let location):
            status = HTTPResponse.Status(code: code)
            fields[.location] = location
            text = "Log in at \(location)\n"
        case .unauthorized(let location):
            status = .unauthorized
            if let location { fields[.location] = location }
            text = "Not logged in.\n"
        case .badRequest(let message):
            status = .badRequest
            text = message + "\n"
        case .forbidden(let message):
            status = .forbidden
            text = message + "\n"
        }
        guard !text.isEmpty else { return Response(status: status, headers: fields) }
        fields[.contentType] = "text/plain; charset=utf-8"
        fields[.contentLength] = String(text.utf8.count)
        return Response(status: status, headers: fields, body: head ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
