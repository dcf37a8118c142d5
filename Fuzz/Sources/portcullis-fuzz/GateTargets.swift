import PortcullisCore

/// Parsers of what a client or a proxy sends with every request.
let gateTargets: [FuzzTarget] = [
    // The Cookie header, and the session token in it.
    FuzzTarget(name: "cookie") { bytes in
        let header = text(bytes)
        for name in ["portcullis_session", "portcullis_csrf", "a"] {
            guard let value = Cookies.value(named: name, in: header) else { continue }
            require(header.utf8.count <= 8192, "a value was read from a header over 8 KiB")
            // Bytes, not Characters: U+037E (Greek question mark) is canonically equivalent to ';' but is no separator.
            require(!value.utf8.contains(UInt8(ascii: ";")) && value.utf8.last != UInt8(ascii: " "), "the value '\(value)' holds a separator or trailing space")
            if let token = SessionToken(cookieValue: value) {
                require(token.bytes.count == SessionToken.byteCount, "a token of \(token.bytes.count) bytes")
                require(SessionToken(cookieValue: token.cookieValue) == token, "a token does not survive its own cookie value")
            }
        }
    },
    // The Authorization header (HTTP Basic), and the password + code splits.
    FuzzTarget(name: "basic") { bytes in
        guard let credentials = BasicCredentials(header: text(bytes)) else { return }
        require(!credentials.user.isEmpty && !credentials.user.contains(":"), "user name '\(credentials.user)'")
        let canonical = "Basic " + Base64.encode(Array((credentials.user + ":" + credentials.password).utf8))
        if canonical.utf8.count <= BasicCredentials.maximumHeaderLength {
            require(BasicCredentials(header: canonical) == credentials, "credentials do not survive re-encoding")
        }
        for (password, code) in credentials.splits(codeLengths: [6, 8, 10]) {
            require(password + code == credentials.password, "a split loses characters")
            require([6, 8, 10].contains(code.count) && code.allSatisfy { $0.isASCII && $0.isNumber }, "code '\(code)'")
        }
    },
    // The forwarded headers (one per line, a leading byte says which are absent), the rebuilt URL,
    // the answer to a request without a session, and X-Forwarded-For.
    FuzzTarget(name: "forwarded") { bytes in
        var reader = ByteReader(bytes)
        let absent = reader.byte()
        let lines = text(reader.rest).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func header(_ index: Int) -> String? { absent & (1 << index) != 0 || index >= lines.count ? nil : lines[index] }
        let request = VerifyRequest(
            forwardedMethod: header(0), forwardedProto: header(1), forwardedHost: header(2), forwardedURI: header(3),
            originalURL: header(4), originalMethod: header(5), accept: header(6), requestedWith: header(7))
        let decider = ForwardAuthDecider(cookies: fuzzCookies)
        for style in [VerifyStyle.forwardAuth, .authRequest] {
            switch decider.original(request, style: style) {
            case .answer(let verdict):
                guard case .badRequest = verdict else { return require(false, "a header problem answered \(verdict)") }
            case .original(let original):
                require(RedirectValidator.host(ofSafeURL: original.url) == original.host, "host \(original.host) is not the URL's")
                require(original.url.utf8.count <= RedirectValidator.maximumLength, "a URL over the maximum length")
                checkUnauthenticated(decider.unauthenticated(original, request: request, style: style), original: original, decider: decider)
            }
        }
        let resolver = ClientIPResolver(trustedProxies: [CIDR("10.0.0.0/8")!, CIDR("fd00::/8")!])
        let peer = IPAddress("10.0.0.1")!
        let client = resolver.resolve(peer: peer, forwardedFor: header(8) ?? lines.last)
        if client != peer {
            require((header(8) ?? lines.last ?? "").split(separator: ",").contains { IPAddress($0.trimmingASCIIWhitespace()) == client },
                    "the client \(client) is not in X-Forwarded-For")
        }
    },
    // IP addresses and ranges (X-Forwarded-For entries, trusted_proxies).
    FuzzTarget(name: "ip") { bytes in
        let input = text(bytes)
        if let address = IPAddress(input) {
            require(IPAddress(address.description) == address, "\(address) does not survive its own text")
            require(address.bytes.count == 4 || address.bytes.count == 16, "an address of \(address.bytes.count) bytes")
        }
        if let range = CIDR(input) {
            require(CIDR(range.description) == range, "\(range) does not survive its own text")
            require(range.contains(range.network), "\(range) does not contain its network")
        }
    },
    // The `rd` redirect target.
    FuzzTarget(name: "redirect") { bytes in
        let target = text(bytes)
        let validator = RedirectValidator(cookieDomains: fuzzCookies.map(\.domain))
        guard let accepted = validator.validate(target) else { return }
        require(accepted == target, "validate changed the target")
        let host = RedirectValidator.host(ofSafeURL: target) ?? ""
        require(validator.cookieDomain(for: host) != nil, "accepted host \(host) is under no cookie domain")
        require(target.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }, "an accepted target has unsafe bytes")
        let lowered = target.lowercased()
        require(lowered.hasPrefix("https://" + host) || lowered.hasPrefix("http://" + host), "the host \(host) is not where a browser finds it")
        let next = lowered.dropFirst(lowered.hasPrefix("https://") ? 8 + host.count : 7 + host.count).first
        require(next == nil || ":/?#".contains(next!), "the host \(host) is followed by '\(next!)'")
    },
    // Form bodies and query strings.
    FuzzTarget(name: "form") { bytes in
        guard let form = FormFields(parsing: text(bytes)) else { return }
        require(form.fields.count <= FormFields.maximumFields, "\(form.fields.count) fields")
        let encoded = form.fields.map { FormFields.encode($0.name) + "=" + FormFields.encode($0.value) }.joined(separator: "&")
        require(FormFields(parsing: encoded) == form, "fields do not survive re-encoding")
    },
]

/// Two cookie domains, one with a port and a trailing slash in its portal URL.
let fuzzCookies = [
    SessionCookieConfiguration(domain: "example.com", portalURL: "https://auth.example.com"),
    SessionCookieConfiguration(domain: "home.test", portalURL: "http://auth.home.test:8080/"),
]

/// The answer to a request without a session sends to the login page of the host's own domain,
/// with the original URL as `rd`, or refuses a host under no domain.
private func checkUnauthenticated(_ verdict: VerifyVerdict, original: OriginalRequest, decider: ForwardAuthDecider) {
    let location: String?
    switch verdict {
    case .redirect(_, let target): location = target
    case .unauthorized(let target): location = target
    case .forbidden: return require(decider.cookie(for: original.host) == nil, "a covered host was refused")
    case .allow, .allowAnonymous, .denied, .badRequest: return require(false, "no session, no rules answered \(verdict)")
    }
    guard let location else { return }
    guard let cookie = decider.cookie(for: original.host) else { return require(false, "an uncovered host was sent to log in") }
    let prefix = cookie.portalBase + "/login?"
    require(location.hasPrefix(prefix), "login location \(location)")
    require(FormFields(parsing: location.dropFirst(prefix.count))?["rd"] == original.url, "rd does not carry the original URL")
}
