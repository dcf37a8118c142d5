import PortcullisCore

/// What the verify endpoints need for HTTP Basic: the settings, the lingering credentials and the
/// slow check.
struct BasicSupport: Sendable {
    let settings: BasicAuthConfiguration
    let cache: BasicLingerCache
    let gate: BasicGate

    /// Whether Basic is accepted for a cookie domain.
    func isEnabled(for cookie: SessionCookieConfiguration) -> Bool {
        cookie.basic ?? settings.enabled
    }

    /// The identity of a lingering credential (accepted recently), recording an app password's use
    /// when one is due; nil when the credential must be checked.
    func lingeringIdentity(_ key: SessionKey, now: Int64, writes: SessionWrites) -> (identity: Identity, level: AuthLevel)? {
        guard let (identity, level, recordUse) = cache.use(key, now: now) else { return nil }
        if let recordUse { writes.enqueue(.appPasswordUsed(id: recordUse, at: now)) }
        return (identity, level)
    }

    /// The `WWW-Authenticate` challenge.
    var challenge: String { "Basic realm=\"\(settings.realm)\", charset=\"UTF-8\"" }
}
