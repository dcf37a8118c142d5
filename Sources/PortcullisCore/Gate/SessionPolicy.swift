/// What the gate remembers of a live session (in memory and in the store).
public struct SessionState: Sendable, Equatable {
    public var userName: String
    public var createdAt: Int64
    public var lastActivity: Int64
    /// The absolute end: creation plus `session.expiration` (or `session.remember_me`).
    public var expiresAt: Int64
    public var clientIP: IPAddress
    /// The cookie domain the session was made for.
    public var cookieDomain: String

    public init(userName: String, createdAt: Int64, lastActivity: Int64, expiresAt: Int64, clientIP: IPAddress, cookieDomain: String) {
        self.userName = userName
        self.createdAt = createdAt
        self.lastActivity = lastActivity
        self.expiresAt = expiresAt
        self.clientIP = clientIP
        self.cookieDomain = cookieDomain
    }
}

/// Whether a session may be used now, from this address, for this host.
public enum SessionVerdict: Sendable, Equatable {
    /// Valid. `persistActivity` is true when the last activity in the store is older than a tenth of
    /// the inactivity window, so the caller should write it (at most that often per session).
    case valid(persistActivity: Bool)
    /// Past its absolute lifetime or idle too long.
    case expired
    /// Used from outside its IP binding: end it.
    case ipMismatch
    /// Made for another cookie domain.
    case wrongDomain
}

/// The session rules of `session.*`, as a pure function of the session, the time and the client.
public struct SessionPolicy: Sendable {
    public var inactivity: Int64
    public var binding: IPBinding

    public init(inactivity: Int64, binding: IPBinding) {
        self.inactivity = inactivity
        self.binding = binding
    }

    /// Judges a session. `persistedActivity` is the last activity written to the store.
    public func judge(_ session: SessionState, persistedActivity: Int64, now: Int64, client: IPAddress, cookieDomain: String) -> SessionVerdict {
        judge(expiresAt: session.expiresAt, lastActivity: session.lastActivity, persistedActivity: persistedActivity, now: now,
              sameDomain: session.cookieDomain == cookieDomain, clientMatches: Self.matches(session.clientIP, client, binding: binding))
    }

    /// The same judgement from its parts, for callers that keep sessions compactly (the verify
    /// cache): `sameDomain` and `clientMatches` are the two comparisons, made by the caller.
    public func judge(expiresAt: Int64, lastActivity: Int64, persistedActivity: Int64, now: Int64, sameDomain: Bool, clientMatches: Bool) -> SessionVerdict {
        guard now < expiresAt, now.subtractingSaturating(lastActivity) < inactivity else { return .expired }
        guard sameDomain else { return .wrongDomain }
        guard clientMatches else { return .ipMismatch }
        return .valid(persistActivity: now.subtractingSaturating(persistedActivity) >= max(1, inactivity / 10))
    }

    /// Whether two addresses are the same under a binding (/24 for IPv4, /64 for IPv6 with `prefix`).
    public static func matches(_ bound: IPAddress, _ client: IPAddress, binding: IPBinding) -> Bool {
        switch binding {
        case .off: return true
        case .exact: return bound == client
        case .prefix:
            guard bound.bytes.count == client.bytes.count else { return false }
            let length = bound.isIPv4 ? 24 : 64
            return bound.masked(to: length) == client.masked(to: length)
        }
    }
}
