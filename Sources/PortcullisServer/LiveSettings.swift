public import PortcullisCore
import Synchronization

/// The settings a running server can change on `SIGHUP`, built once per configuration so that
/// requests read them with one lock and one retain (``LiveSettings/current``).
public final class GateSettings: Sendable {
    /// The configuration in force: what was loaded at start, with the reloadable keys of the
    /// last accepted reload (``Configuration/reloading(from:)``).
    public let configuration: Configuration
    /// `session.cookies`: which domains, portals and redirects.
    public let decider: ForwardAuthDecider
    /// `session.inactivity`, `session.ip_binding`.
    public let policy: SessionPolicy
    /// `access_control`.
    public let access: AccessControl
    /// `portal.title`, `portal.logo_file`.
    let page: PortalPage

    public init(configuration: Configuration, logoDataURI: String?) {
        self.configuration = configuration
        decider = ForwardAuthDecider(cookies: configuration.effectiveSessionCookies)
        policy = SessionPolicy(inactivity: configuration.sessionInactivity, binding: configuration.sessionIPBinding)
        access = configuration.accessControl
        page = PortalPage(title: configuration.portalTitle, logoDataURI: logoDataURI)
    }
}

/// The ``GateSettings`` in force, replaced as a whole by a reload.
public final class LiveSettings: Sendable {
    private let settings: Mutex<GateSettings>

    public init(_ settings: GateSettings) {
        self.settings = Mutex(settings)
    }

    /// The settings now. Read once per request where consistency matters (the verify path does).
    public var current: GateSettings { settings.withLock { $0 } }

    /// Puts `new` in force for what a reload can change (``Configuration/reloading(from:)``);
    /// returns the keys that differ but need a restart.
    /// - Parameter logoDataURI: `new`'s `portal.logo_file` read as a `data:` URI.
    /// Reloads are one at a time (``HangupReloader``); the new settings are built outside the lock
    /// every request takes, then swapped in.
    public func reload(_ new: Configuration, logoDataURI: String?) -> [String] {
        let (next, needRestart) = current.configuration.reloading(from: new)
        let built = GateSettings(configuration: next, logoDataURI: logoDataURI)
        settings.withLock { $0 = built }
        return needRestart
    }
}
