import HTTPTypes
import Hummingbird
import NIOCore
import PortcullisCore
import PortcullisStore
import Logging

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

    static func add(to router: Router<GateContext>, gate: Gate, basic: BasicSupport) {
        for endpoint in endpoints {
            let handler: @Sendable (Request, GateContext) async throws -> Response = { request, context in
                let response: Response, outcome: VerifyOutcome
                do {
                    (response, outcome) = try await answer(request, context: context, gate: gate, basic: basic, style: endpoint.style)
                } catch {
                    // The store failed while HTTP Basic credentials were checked: a 503 to retry, never a 500
                    // (which nginx's auth_request would pass on as a server error).
                    context.logger.error("could not check HTTP Basic credentials", metadata: ["error": "\(error)"])
                    (response, outcome) = (refusal("The session store does not answer. Try again in a moment.", status: .serviceUnavailable,
                                                   retryAfter: 1, style: endpoint.style, head: request.method == .head), .unavailable)
                }
                gate.metrics.verified(endpoint.style, outcome)
                return response
            }
            router.get(RouterPath(endpoint.path), use: handler)
            router.head(RouterPath(endpoint.path), use: handler)
        }
    }

    /// The contract of a verify path (with or without a query), or nil for any other path.
    static func style(ofPath path: String) -> VerifyStyle? {
        let bare = path.utf8.firstIndex(of: UInt8(ascii: "?")).map { path[..<$0] } ?? path[...]
        return endpoints.first { $0.path == bare }?.style
    }

    /// The headers of a 200 answer: who it is, for the app behind the proxy.
    static func allowedFields(_ identity: Identity) -> HTTPFields {
        var fields: HTTPFields = [.cacheControl: "no-store"]
        fields[HeaderNames.remoteUser] = identity.user
        fields[HeaderNames.remoteGroups] = identity.groups.joined(separator: ",")
        fields[HeaderNames.remoteName] = identity.name
        fields[HeaderNames.remoteEmail] = identity.email
        return fields
    }

    /// The headers of a 200 for nobody (a bypass rule): the identity headers present and empty, so
    /// that a proxy copying them replaces whatever the client sent — some Caddy versions copy only
    /// headers the answer has, and one version wrote its placeholder's name for a missing one.
    static let anonymousFields: HTTPFields = {
        var fields: HTTPFields = [.cacheControl: "no-store"]
        for name in [HeaderNames.remoteUser, HeaderNames.remoteGroups, HeaderNames.remoteName, HeaderNames.remoteEmail] { fields[name] = "" }
        return fields
    }()

    /// The answer to a verify request the channel handler passed on, and what it was (for the metrics).
    static func answer(_ request: Request, context: GateContext, gate: Gate, basic: BasicSupport,
                       style: VerifyStyle) async throws -> (Response, VerifyOutcome) {
        let headers = request.headers
        let read = VerifyHeaders(headers)
        let head = request.method == .head
        func respond(_ verdict: VerifyVerdict) -> (Response, VerifyOutcome) {
            guard case .denied(let user, let portal) = verdict, ForwardAuthDecider.isBrowser(read.request) else {
                return (response(for: verdict, head: head), VerifyOutcome(verdict))
            }
            return (deniedPage(user: user, portal: portal, read: read, gate: gate, style: style, head: head), .denied)
        }
        // The common case is answered from memory; a session this server has not seen costs one store read.
        let verdict: VerifyVerdict
        let cookie: SessionCookieConfiguration?
        do {
            (verdict, cookie) = try await gate.verify(read.request, cookieHeader: read.cookie, peer: context.peerAddress,
                                                      forwardedFor: read.forwardedFor, style: style)
        } catch {
            context.logger.error("could not read a session from the store", metadata: ["error": "\(error)"])
            return (refusal("The session store does not answer. Try again in a moment.", status: .serviceUnavailable, retryAfter: 1, style: style, head: head),
                    .unavailable)
        }
        switch verdict {
        case .allow, .allowAnonymous, .badRequest, .forbidden, .denied:
            return respond(verdict)
        case .redirect, .unauthorized:
            break
        }
        guard let cookie, basic.isEnabled(for: cookie) else { return (response(for: verdict, head: head), VerifyOutcome(verdict)) }

        let client = gate.resolver.resolve(peer: context.peerAddress, forwardedFor: read.forwardedFor)
        guard let authorization = read.authorization, let credentials = BasicCredentials(header: authorization),
              let key = basic.cache.key(forHeader: authorization, client: client) else {
            // Scripts learn that Basic works here; browsers are sent to the login page instead.
            var answer = response(for: verdict, head: head)
            if case .unauthorized(location: nil) = verdict { answer.headers[.wwwAuthenticate] = basic.challenge }
            return (answer, VerifyOutcome(verdict))
        }
        let now = gate.clock.now()
        // The rules decide again with who the credential names: a rule may name users or groups.
        func authorized(_ identity: Identity, _ level: AuthLevel) -> (Response, VerifyOutcome) {
            respond(gate.authorize(identity, level: level, request: read.request, peer: context.peerAddress, forwardedFor: read.forwardedFor,
                                   style: style, cookie: cookie))
        }
        if let (identity, level) = basic.lingeringIdentity(key, now: now, writes: gate.writes) { return authorized(identity, level) }
        // Noted before anything is read, so that a change of the user applied meanwhile is not undone.
        let readSince = basic.cache.generation
        // Accepted by another instance (the proxy spreads the client's requests): its code was used there.
        let checkedAfter: Int64?
        switch try await basic.storedLinger(key, now: now, writes: gate.writes) {
        case .lingering(let identity, let level): return authorized(identity, level)
        case .check(let after): checkedAfter = after
        }
        switch try await basic.gate.check(credentials, client: client, now: now) {
        case .allowed(let identity, let level, let userID, let appPasswordID):
            await basic.remember(key, identity: identity, level: level, userID: userID, appPasswordID: appPasswordID, now: now,
                                 checkedAfter: checkedAfter, readSince: readSince)
            return authorized(identity, level)
        case .refused:
            var answer = response(for: .unauthorized(location: nil), head: head)
            answer.headers[.wwwAuthenticate] = basic.challenge
            return (answer, .loginRequired)
        case .banned(let ban):
            return (refusal("Too many failed attempts. Try again in \(ban.retryAfter(now: now)) seconds.", status: .tooManyRequests,
                            retryAfter: ban.retryAfter(now: now), style: style, head: head), .rateLimited)
        case .busy(let retryAfter):
            return (refusal("Too many sign-ins are being checked right now. Try again in \(retryAfter) seconds.", status: .serviceUnavailable,
                            retryAfter: retryAfter, style: style, head: head), .rateLimited)
        case .unavailable(let retryAfter):
            return (refusal("Sign-in is unavailable for a moment: the server cannot read the one-time-code secrets. Try again later; the server log says why.",
                            status: .serviceUnavailable, retryAfter: retryAfter, style: style, head: head), .unavailable)
        }
    }

    /// A browser refused by a `deny` rule sees a page saying who is logged in and where to log out;
    /// other clients keep the plain 403. Proxies that pass the answer's body show it (Caddy,
    /// HAProxy); nginx drops it and asks the portal's `/denied` page instead.
    static func deniedPage(user: String?, portal: String, read: VerifyHeaders, gate: Gate, style: VerifyStyle, head: Bool) -> Response {
        // The logo stays out: proxies such as HAProxy build this answer in one buffer.
        let page = PortalPage(title: gate.settings.current.page.title, logoDataURI: nil)
        var address: String?
        if case .original(let original) = gate.decider.original(read.request, style: style) { address = original.url }
        let nonce = PortalResponses.nonce()
        var response = PortalResponses.page(page.denied(user: user, address: address, portal: portal, nonce: nonce), status: .forbidden, nonce: nonce, cookie: nil)
        if head { response.body = ResponseBody() }
        return response
    }

    /// A refusal to try again later: `status` with `Retry-After` for forward auth; 403 with
    /// `Retry-After` for nginx's auth request, which turns anything but 401 and 403 into 500.
    static func refusal(_ message: String, status: HTTPResponse.Status, retryAfter: Int64, style: VerifyStyle, head: Bool) -> Response {
        var answer = response(for: .forbidden(message), head: head)
        if style == .forwardAuth { answer.status = status }
        answer.headers[.retryAfter] = String(retryAfter)
        return answer
    }

    /// The HTTP form of a verdict.
    static func response(for verdict: VerifyVerdict, head: Bool) -> Response {
        var fields: HTTPFields = [.cacheControl: "no-store"]
        let status: HTTPResponse.Status
        var text = ""
        switch verdict {
        case .allow(let identity):
            return Response(status: .ok, headers: allowedFields(identity))
        case .allowAnonymous:
            return Response(status: .ok, headers: anonymousFields)
        case .denied(let user, let portal):
            status = .forbidden
            text = (user.map { "You are logged in as \($0) and" } ?? "You") + " have no access to this address. To use another account, log out at \(portal)/logout\n"
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
