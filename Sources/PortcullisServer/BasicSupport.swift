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

    /// The `WWW-Authenticate` challenge.
    var challenge: String { "Basic realm=\"\(settings.realm)\", charset=\"UTF-8\"" }
}
