public import PortcullisCore

/// The verify pipeline: from a proxy's headers to an answer, synchronously.
///
/// This runs on every request the proxy handles, so it does no I/O and does not wait: sessions come
/// from the in-memory ``SessionCache`` and store writes are only enqueued (``SessionWrites``).
public struct Gate: Sendable {
    public let decider: ForwardAuthDecider
    public let policy: SessionPolicy
    public let resolver: ClientIPResolver
    public let cache: SessionCache
    public let writes: SessionWrites
    public let clock: GateClock

    public init(configuration: Configuration, cache: SessionCache, writes: SessionWrites, clock: GateClock) {
        decider = ForwardAuthDecider(cookies: configuration.effectiveSessionCookies)
        policy = SessionPolicy(inactivity: configuration.sessionInactivity, binding: configuration.sessionIPBinding)
        resolver = ClientIPResolver(trustedProxies: configuration.trustedProxies)
        self.cache = cache
        self.writes = writes
        self.clock = clock
    }

    /// Answers a verify request.
    /// - Parameters:
    ///   - request: the proxy's headers.
    ///   - cookieHeader: the `Cookie` header the proxy passed on.
    ///   - peer: the TCP peer (the proxy).
    ///   - forwardedFor: `X-Forwarded-For`, believed only when `peer` is a trusted proxy.
    ///   - style: the endpoint's contract.
    /// - Returns: the answer, and the cookie settings of the original host when it has some (so a
    ///   caller that goes on, as HTTP Basic does, need not rebuild the request).
    public func verify(_ request: VerifyRequest, cookieHeader: String?, peer: IPAddress, forwardedFor: String?,
                       style: VerifyStyle) -> (verdict: VerifyVerdict, cookie: SessionCookieConfiguration?) {
        let original: OriginalRequest
        switch decider.original(request, style: style) {
        case .answer(let verdict): return (verdict, nil)
        case .original(let rebuilt): original = rebuilt
        }
        guard let cookie = decider.cookie(for: original.host) else {
            return (decider.unauthenticated(original, request: request, style: style), nil)
        }
        if let identity = session(cookieHeader: cookieHeader, cookie: cookie, client: resolver.resolve(peer: peer, forwardedFor: forwardedFor)) {
            return (.allow(identity), cookie)
        }
        return (decider.unauthenticated(original, request: request, style: style), cookie)
    }

    /// The identity of a valid session in `cookieHeader` for `cookie`'s domain, recording its use.
    public func session(cookieHeader: String?, cookie: SessionCookieConfiguration, client: IPAddress) -> Identity? {
        guard let value = Cookies.value(named: cookie.name, in: cookieHeader), let token = SessionToken(cookieValue: value) else {
            return nil
        }
        switch cache.use(token, now: clock.now(), client: client, cookieDomain: cookie.domain, policy: policy) {
        case .valid(let identity, let touch, let idHash):
            if let touch {
                writes.enqueue(.touch(idHash: idHash, at: touch))
            }
            return identity
        case .ended(let idHash):
            writes.enqueue(.delete(idHash: idHash))
            return nil
        case .none:
            return nil
        }
    }
}
