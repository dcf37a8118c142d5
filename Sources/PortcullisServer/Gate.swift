public import PortcullisCore
public import PortcullisStore

/// The verify pipeline: from a proxy's headers to an answer.
///
/// This runs on every request the proxy handles, so its common case does no I/O and does not wait:
/// sessions come from the in-memory ``SessionCache`` and store writes are only enqueued
/// (``SessionWrites``). Only a token this server has not seen lately costs one store read.
public struct Gate: Sendable {
    /// What a reload can change: cookies, session policy, access rules, portal text.
    public let settings: LiveSettings
    /// `session.cookies`, as now in force.
    public var decider: ForwardAuthDecider { settings.current.decider }
    /// `session.inactivity` and `session.ip_binding`, as now in force.
    public var policy: SessionPolicy { settings.current.policy }
    /// `access_control`: who may open what, as now in force.
    public var access: AccessControl { settings.current.access }
    /// `server.trusted_proxies` (fixed until a restart).
    public let resolver: ClientIPResolver
    public let cache: SessionCache
    public let writes: SessionWrites
    public let clock: GateClock
    /// Where sessions not in memory are read from.
    public let store: any SessionStore
    /// `auth.mode`: whether a code alone counts as two factors.
    public let mode: AuthMode
    /// Counts of verify answers and logins.
    public let metrics: GateMetrics
    /// Whether the store answers; past `storage.outage_grace` without it, memory no longer answers.
    public let outage: StoreOutage

    /// - Parameter logoDataURI: `portal.logo_file` read as a `data:` URI, for the portal's pages.
    public init(configuration: Configuration, cache: SessionCache, writes: SessionWrites, clock: GateClock, store: any SessionStore,
                metrics: GateMetrics = .off, logoDataURI: String? = nil) {
        settings = LiveSettings(GateSettings(configuration: configuration, logoDataURI: logoDataURI))
        resolver = ClientIPResolver(trustedProxies: configuration.trustedProxies)
        self.cache = cache
        self.writes = writes
        self.clock = clock
        self.store = store
        self.mode = configuration.authMode
        self.metrics = metrics
        self.outage = StoreOutage(grace: configuration.storageOutageGrace, now: StoreOutage.monotonicNow())
    }

    /// Answers a verify request from memory; nil when its session token must be read from the store
    /// first (``load(_:)``, then ask again).
    /// - Parameters:
    ///   - request: the proxy's headers.
    ///   - cookieHeader: the `Cookie` header the proxy passed on.
    ///   - peer: the TCP peer (the proxy).
    ///   - forwardedFor: `X-Forwarded-For`, believed only when `peer` is a trusted proxy.
    ///   - style: the endpoint's contract.
    /// - Returns: the answer, and the cookie settings of the original host when it has some (so a
    ///   caller that goes on, as HTTP Basic does, need not rebuild the request).
    ///   - confirmed: the session was just read from the store into memory: memory answers for it even
    ///     past the outage grace.
    public func verifyFromMemory(_ request: VerifyRequest, cookieHeader: String?, peer: IPAddress, forwardedFor: String?,
                                 style: VerifyStyle, confirmed: Bool = false) -> (verdict: VerifyVerdict, cookie: SessionCookieConfiguration?)? {
        // One reading of the settings for the whole answer, even if a reload lands meanwhile.
        let current = settings.current
        let decider = current.decider, access = current.access
        let original: OriginalRequest
        switch decider.original(request, style: style) {
        case .answer(let verdict): return (verdict, nil)
        case .original(let rebuilt): original = rebuilt
        }
        guard let cookie = decider.cookie(for: original.host) else {
            return (decider.unauthenticated(original, request: request, style: style), nil)
        }
        let client = resolver.resolve(peer: peer, forwardedFor: forwardedFor)
        // With no rules (the common case) every request needs a session of the default policy's
        // level and nothing else is read.
        var required = access.defaultPolicy
        var accessRequest: AccessRequest?
        if !access.rules.isEmpty {
            if let refusal = AccessTarget.refusal(ofURL: original.url) { return (.badRequest(refusal), cookie) }
            if access.namesMethods, request.forwardedMethod == nil, request.originalMethod == nil { return (.badRequest(Self.methodMissing), cookie) }
            let described = AccessRequest(original, client: client)
            switch access.decide(described, identity: nil) {
            case .apply(.bypass, _):
                return (.allowAnonymous, cookie)
            case .apply(.deny, _):
                // Named on the page when the session is at hand; a deny needs no store read.
                guard case .valid(let identity, _) = sessionFromMemory(cookieHeader: cookieHeader, cookie: cookie, client: client, policy: current.policy, confirmed: confirmed) else {
                    return (.denied(user: nil, portal: cookie.portalBase), cookie)
                }
                return (.denied(user: identity.user, portal: cookie.portalBase), cookie)
            case .apply(let policy, _):
                required = policy
            case .identify:
                accessRequest = described
            }
        }
        switch sessionFromMemory(cookieHeader: cookieHeader, cookie: cookie, client: client, policy: current.policy, confirmed: confirmed) {
        case .valid(let identity, let level):
            if let accessRequest {
                switch access.decide(accessRequest, identity: identity) {
                case .apply(.bypass, _): return (.allowAnonymous, cookie)
                case .apply(.deny, _), .identify: return (.denied(user: identity.user, portal: cookie.portalBase), cookie)
                case .apply(let policy, _): required = policy
                }
            }
            // A session with fewer factors than the address needs goes to the login page, which
            // asks for what is missing (the code, for a session made with the password alone).
            guard level.satisfies(required, mode: mode) else { return (decider.unauthenticated(original, request: request, style: style), cookie) }
            return (.allow(identity), cookie)
        case .none: return (decider.unauthenticated(original, request: request, style: style), cookie)
        case .unknown: return nil
        }
    }

    /// The answer for a request whose identity came from HTTP Basic with a credential of `level`:
    /// the rules decide again with it, as a rule may name users or groups.
    public func authorize(_ identity: Identity, level: AuthLevel, request: VerifyRequest, peer: IPAddress, forwardedFor: String?,
                          style: VerifyStyle, cookie: SessionCookieConfiguration) -> VerifyVerdict {
        let current = settings.current
        let decider = current.decider, access = current.access
        var required = access.defaultPolicy
        if !access.rules.isEmpty {
            guard case .original(let original) = decider.original(request, style: style) else { return .unauthorized(location: nil) }
            if let refusal = AccessTarget.refusal(ofURL: original.url) { return .badRequest(refusal) }
            if access.namesMethods, request.forwardedMethod == nil, request.originalMethod == nil { return .badRequest(Self.methodMissing) }
            let described = AccessRequest(original, client: resolver.resolve(peer: peer, forwardedFor: forwardedFor))
            switch access.decide(described, identity: identity) {
            case .apply(.bypass, _): return .allowAnonymous
            case .apply(.deny, _), .identify: return .denied(user: identity.user, portal: cookie.portalBase)
            case .apply(let policy, _): required = policy
            }
        }
        guard level.satisfies(required, mode: mode) else {
            return .forbidden("This app password opens only addresses that need one factor; this one needs two. Use your password and a code, or an app password made with --level two_factor.")
        }
        return .allow(identity)
    }

    /// The refusal of a request that does not say its method when rules name methods.
    static let methodMissing = "The proxy did not send the request's method, and access_control rules name methods. Send X-Forwarded-Method (forward auth) or X-Original-Method (nginx: proxy_set_header X-Original-Method $request_method;)."

    /// What the rules ask of a browser that opens `url` (an accepted `rd`) with `method` as
    /// `identity` (nil: not known yet): the policy that applies, or nil when it depends on who logs in.
    public func policy(forURL url: String, method: String = "GET", identity: Identity?, client: IPAddress) -> AccessPolicy? {
        let access = self.access
        guard let host = RedirectValidator.host(ofSafeURL: url) else { return access.defaultPolicy }
        if !access.rules.isEmpty, AccessTarget.refusal(ofURL: url) != nil { return .deny }
        let request = AccessRequest(OriginalRequest(method: method, url: url, host: host), client: client)
        switch access.decide(request, identity: identity) {
        case .apply(let policy, _): return policy
        case .identify: return nil
        }
    }

    /// The most factors any method of `url` needs: a browser sent to log in may have been refused a
    /// POST to an address whose GET needs less. `deny` counts only when every method is denied; nil
    /// when it depends on who logs in.
    public func strictestPolicy(forURL url: String, identity: Identity?, client: IPAddress) -> AccessPolicy? {
        var strictest: AccessPolicy?
        var allDenied = true
        let access = self.access
        for method in Set(["GET"] + access.rules.flatMap(\.methods)) {
            guard let policy = policy(forURL: url, method: method, identity: identity, client: client) else { return nil }
            if policy == .deny { continue }
            allDenied = false
            strictest = max(strictest ?? policy, policy)
        }
        return allDenied ? .deny : strictest
    }

    /// Answers a verify request, reading its session from the store when it is not in memory.
    public func verify(_ request: VerifyRequest, cookieHeader: String?, peer: IPAddress, forwardedFor: String?,
                       style: VerifyStyle) async throws -> (verdict: VerifyVerdict, cookie: SessionCookieConfiguration?) {
        if let answer = verifyFromMemory(request, cookieHeader: cookieHeader, peer: peer, forwardedFor: forwardedFor, style: style) {
            return answer
        }
        if let token = Self.token(in: cookieHeader, request: request, decider: decider, style: style) { try await load(token) }
        if let answer = verifyFromMemory(request, cookieHeader: cookieHeader, peer: peer, forwardedFor: forwardedFor, style: style, confirmed: true) {
            return answer
        }
        // Still unknown: store reads kept racing with removals. Not logged in, to be safe.
        guard case .original(let original) = decider.original(request, style: style) else { return (.unauthorized(location: nil), nil) }
        return (decider.unauthenticated(original, request: request, style: style), decider.cookie(for: original.host))
    }

    /// The identity and level of a valid session in `cookieHeader` for `cookie`'s domain, recording
    /// its use; reads the session from the store when it is not in memory.
    public func session(cookieHeader: String?, cookie: SessionCookieConfiguration, client: IPAddress) async throws -> (identity: Identity, level: AuthLevel)? {
        switch sessionFromMemory(cookieHeader: cookieHeader, cookie: cookie, client: client) {
        case .valid(let identity, let level): return (identity, level)
        case .none: return nil
        case .unknown:
            guard let value = Cookies.value(named: cookie.name, in: cookieHeader), let token = SessionToken(cookieValue: value) else { return nil }
            try await load(token)
            if case .valid(let identity, let level) = sessionFromMemory(cookieHeader: cookieHeader, cookie: cookie, client: client, confirmed: true) {
                return (identity, level)
            }
            return nil
        }
    }

    /// Reads the session of `token` from the store into the cache, or remembers that the store has
    /// none. A read that raced with a removal (a logout, a revocation applied meanwhile) is read again.
    /// Past the outage grace, what memory held of it is dropped first: the store's answer replaces it.
    public func load(_ token: SessionToken) async throws {
        let idHash = token.storageHash
        if !outage.trustsMemory { cache.remove(idHash: idHash) }
        for _ in 0..<3 {
            let since = cache.currentSequence()
            guard let (record, user) = try await store.liveSession(idHash: idHash, at: clock.now()), !user.disabled,
                  let session = CachedSession(record: record, user: user) else {
                cache.rememberMiss(token)
                return
            }
            let (added, evicted) = cache.load(session, token: token, readSince: since)
            if let evicted { writes.enqueue(.touch(idHash: evicted.idHash, at: evicted.at)) }
            if added { return }
        }
    }

    /// What memory says of the session in `cookieHeader`.
    enum MemoryAnswer {
        case valid(Identity, AuthLevel)
        case none
        case unknown
    }

    /// - Parameters:
    ///   - policy: the session policy read with the rest of the request's settings; now's when nil.
    ///   - confirmed: the session was just read from the store (``load(_:)``): memory answers even past the outage grace.
    func sessionFromMemory(cookieHeader: String?, cookie: SessionCookieConfiguration, client: IPAddress, policy: SessionPolicy? = nil,
                           confirmed: Bool = false) -> MemoryAnswer {
        guard let value = Cookies.value(named: cookie.name, in: cookieHeader), let token = SessionToken(cookieValue: value) else {
            return .none
        }
        // The store has been out for longer than the grace: the session may have ended elsewhere meanwhile.
        guard confirmed || outage.trustsMemory else { return .unknown }
        switch cache.use(token, now: clock.now(), client: PackedAddress(client), cookieDomain: cookie.domain, policy: policy ?? self.policy) {
        case .valid(let identity, let level, let touch):
            if let touch { writes.enqueue(.touch(idHash: touch.idHash, at: touch.at)) }
            return .valid(identity, level)
        case .ended(let idHash):
            writes.enqueue(.delete(idHash: idHash))
            return .none
        case .none:
            return .none
        case .unknown:
            return .unknown
        }
    }

    /// The session token a verify request carries for its original host, if any.
    static func token(in cookieHeader: String?, request: VerifyRequest, decider: ForwardAuthDecider, style: VerifyStyle) -> SessionToken? {
        guard case .original(let original) = decider.original(request, style: style), let cookie = decider.cookie(for: original.host),
              let value = Cookies.value(named: cookie.name, in: cookieHeader) else { return nil }
        return SessionToken(cookieValue: value)
    }
}
