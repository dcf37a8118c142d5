/// Which proxy contract an endpoint speaks.
public enum VerifyStyle: Sendable {
    /// Caddy `forward_auth`, Traefik `forwardAuth`, HAProxy: `X-Forwarded-*`; redirects reach the client.
    case forwardAuth
    /// nginx `auth_request`: `X-Original-URL`; only 200, 401 and 403 may be answered.
    case authRequest
}

/// The few headers a verify request carries, as text.
public struct VerifyRequest: Sendable {
    public var forwardedMethod: String?
    public var forwardedProto: String?
    public var forwardedHost: String?
    public var forwardedURI: String?
    public var originalURL: String?
    public var originalMethod: String?
    public var accept: String?
    public var requestedWith: String?

    public init(forwardedMethod: String? = nil, forwardedProto: String? = nil, forwardedHost: String? = nil,
                forwardedURI: String? = nil, originalURL: String? = nil, originalMethod: String? = nil,
                accept: String? = nil, requestedWith: String? = nil) {
        self.forwardedMethod = forwardedMethod
        self.forwardedProto = forwardedProto
        self.forwardedHost = forwardedHost
        self.forwardedURI = forwardedURI
        self.originalURL = originalURL
        self.originalMethod = originalMethod
        self.accept = accept
        self.requestedWith = requestedWith
    }
}

/// The original request, rebuilt from the proxy's headers.
public struct OriginalRequest: Sendable, Equatable {
    public let method: String
    public let url: String
    /// The URL's host, lowercased, without the port.
    public let host: String

    public init(method: String, url: String, host: String) {
        self.method = method
        self.url = url
        self.host = host
    }
}

/// The original request, or the answer to give when it cannot be rebuilt.
public enum OriginalOrAnswer: Sendable, Equatable {
    case original(OriginalRequest)
    case answer(VerifyVerdict)
}

/// The identity sent to the app on success.
public struct Identity: Sendable, Equatable {
    public var user: String
    public var groups: [String]
    public var name: String
    public var email: String

    public init(user: String, groups: [String], name: String, email: String) {
        self.user = user
        self.groups = groups
        self.name = name
        self.email = email
    }
}

/// What a verify endpoint answers.
public enum VerifyVerdict: Sendable, Equatable {
    /// 200 with `Remote-User`, `Remote-Groups`, `Remote-Name`, `Remote-Email`.
    case allow(Identity)
    /// 302 or 303 to the login page.
    case redirect(status: Int, location: String)
    /// 401; with `Location` for nginx's `auth_request_set`.
    case unauthorized(location: String?)
    /// 400: the proxy is not sending what it must; the message names the header.
    case badRequest(String)
    /// 403: the host is not under any configured cookie domain.
    case forbidden(String)
    /// 200 with the identity headers empty: a `bypass` rule matched.
    case allowAnonymous
    /// 403: a `deny` rule matched, or no rule lets this user in; `user` is who is logged in, if
    /// known, and `portal` the portal's address (for its logout page).
    case denied(user: String?, portal: String)
}

/// Turns a verify request and the session lookup into an answer. Pure and synchronous: this is the
/// hot path, so it does no I/O, no hashing and no date formatting.
public struct ForwardAuthDecider: Sendable {
    public let cookies: [SessionCookieConfiguration]
    let validator: RedirectValidator

    public init(cookies: [SessionCookieConfiguration]) {
        self.cookies = cookies
        self.validator = RedirectValidator(cookieDomains: cookies.map(\.domain))
    }

    /// Rebuilds the original request from the headers of `style` (legacy endpoints accept either).
    public func original(_ request: VerifyRequest, style: VerifyStyle) -> OriginalOrAnswer {
        if style == .authRequest || (request.originalURL != nil && request.forwardedHost == nil) {
            guard let url = request.originalURL, !url.isEmpty else {
                return .answer(.badRequest("Missing header X-Original-URL. nginx must send it: proxy_set_header X-Original-URL $scheme://$http_host$request_uri;"))
            }
            guard let host = RedirectValidator.host(ofSafeURL: url) else {
                return .answer(.badRequest("X-Original-URL is not an absolute http(s) URL of printable ASCII."))
            }
            return .original(OriginalRequest(method: (request.originalMethod ?? "GET").uppercased(), url: url, host: host))
        }
        guard let proto = request.forwardedProto?.lowercased(), !proto.isEmpty else {
            return .answer(.badRequest("Missing header X-Forwarded-Proto. The proxy must send X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-URI (Caddy's forward_auth does)."))
        }
        guard proto == "http" || proto == "https" else {
            return .answer(.badRequest("X-Forwarded-Proto must be http or https."))
        }
        guard let host = request.forwardedHost, !host.isEmpty else {
            return .answer(.badRequest("Missing header X-Forwarded-Host. The proxy must send the original Host in X-Forwarded-Host."))
        }
        // Only host[:port]: a Host header such as "app.example.com:443/x" would otherwise move part of
        // itself into the path the rules see, while the proxy routes on the part before the colon.
        guard !host.utf8.contains(where: { "/?#@\\".utf8.contains($0) }) else {
            return .answer(.badRequest("X-Forwarded-Host must be a host name with an optional port."))
        }
        let uri = request.forwardedURI.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        guard uri.hasPrefix("/") else {
            return .answer(.badRequest("X-Forwarded-URI must start with '/'."))
        }
        let url = proto + "://" + host + uri
        guard let parsedHost = RedirectValidator.host(ofSafeURL: url) else {
            return .answer(.badRequest("X-Forwarded-Host and X-Forwarded-URI do not form a valid URL."))
        }
        return .original(OriginalRequest(method: (request.forwardedMethod ?? "GET").uppercased(), url: url, host: parsedHost))
    }

    /// The cookie configuration covering `host`.
    public func cookie(for host: String) -> SessionCookieConfiguration? {
        guard let domain = validator.cookieDomain(for: host) else { return nil }
        return cookies.first { $0.domain == domain }
    }

    /// The answer for a request with no valid session.
    public func unauthenticated(_ original: OriginalRequest, request: VerifyRequest, style: VerifyStyle) -> VerifyVerdict {
        guard let cookie = cookie(for: original.host) else {
            return .forbidden("The host \(original.host) is not under any domain in session.cookies.")
        }
        // A client that is not a browser gets a plain 401 in both styles: no login page to go to.
        guard Self.isBrowser(request) else { return .unauthorized(location: nil) }
        let login = cookie.portalBase + "/login?rd=" + PercentEncoding.encode(original.url)
        switch style {
        case .authRequest:
            return .unauthorized(location: login)
        case .forwardAuth:
            let status = original.method == "GET" || original.method == "HEAD" ? 302 : 303
            return .redirect(status: status, location: login)
        }
    }

    /// A browser navigation accepts HTML and is not an XHR.
    public static func isBrowser(_ request: VerifyRequest) -> Bool {
        if request.requestedWith?.lowercased() == "xmlhttprequest" { return false }
        guard let accept = request.accept?.lowercased() else { return false }
        return accept.contains("text/html")
    }

    /// `rd` when it may be followed from `cookie`'s domain (an http(s) URL on it), else nil.
    public func acceptedRedirect(_ rd: String?, cookie: SessionCookieConfiguration) -> String? {
        guard let rd else { return nil }
        return RedirectValidator(cookieDomains: [cookie.domain]).validate(rd)
    }

    /// Where to go after login: `rd` when it is on `cookie`'s domain, else the domain's default.
    public func redirectTarget(_ rd: String?, cookie: SessionCookieConfiguration) -> String {
        acceptedRedirect(rd, cookie: cookie) ?? cookie.fallbackRedirect
    }
}
