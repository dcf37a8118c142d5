/// Portcullis's settings, read from YAML and environment variables by ``ConfigurationLoader``.
///
/// Every key has a default, so an empty configuration is valid: data lives in `./portcullis-data/`
/// and the server listens on `127.0.0.1:9091`.
public struct Configuration: Sendable, Equatable {
    // MARK: server

    /// `server.listen`: host and port to listen on.
    public var listenHost: String = "127.0.0.1"
    public var listenPort: Int = 9091
    /// `server.trusted_proxies`: peers whose `X-Forwarded-For` is believed. Loopback by default.
    public var trustedProxies: [CIDR] = [CIDR("127.0.0.1/32")!, CIDR("::1/128")!]

    // MARK: storage

    /// `storage.sqlite.path`: the SQLite database file.
    public var sqlitePath: String = "portcullis-data/portcullis.sqlite3"
    /// Whether `storage.sqlite.path` was given (it may not be beside `storage.postgres`).
    public var sqlitePathIsSet = false
    /// `storage.postgres.*`: the PostgreSQL store, when it is the one configured (nil: SQLite).
    public var postgres: PostgresSettings?
    /// `storage.outage_grace`: how long sessions and Basic credentials in memory keep verifying
    /// after the store stopped answering, in seconds.
    public var storageOutageGrace: Int64 = 300
    /// `storage.encryption_key_file`: the file holding the key OTP secrets are encrypted with.
    /// When nil, `storage.key` beside the database. `PORTCULLIS_STORAGE_ENCRYPTION_KEY` (the key itself)
    /// takes precedence over any file.
    public var encryptionKeyFile: String?
    /// `storage.encryption_key`: the key itself (from the environment or `..._FILE`; never put it in the YAML file).
    public var encryptionKey: String?

    // MARK: access control

    /// `access_control.default_policy`: the policy when no rule matches.
    public var accessDefaultPolicy: AccessPolicy = .twoFactor
    /// `access_control.rules`: the ordered rules; the first that matches decides.
    public var accessRules: [AccessRule] = []

    /// The rules and the default policy, compiled.
    public var accessControl: AccessControl { AccessControl(defaultPolicy: accessDefaultPolicy, rules: accessRules) }

    // MARK: session

    /// `session.cookies`: one entry per root domain.
    public var sessionCookies: [SessionCookieConfiguration] = []
    /// `session.inactivity`: seconds without a request after which a session ends.
    public var sessionInactivity: Int64 = 3600
    /// `session.expiration`: seconds after login after which a session ends, whatever its activity.
    public var sessionExpiration: Int64 = 12 * 3600
    /// `session.remember_me`: the lifetime when "remember me" is ticked; 0 hides the box.
    public var sessionRememberMe: Int64 = 30 * 86_400
    /// `session.ip_binding`: whether a session only works from the address it was made from.
    public var sessionIPBinding: IPBinding = .off

    // MARK: auth

    /// `auth.mode`: what a login asks for.
    public var authMode: AuthMode = .passwordAndOTP
    /// `auth.password_min_length`: the fewest characters a new password may have.
    public var passwordMinLength = 8

    /// What loading noticed but did not refuse (an unknown `PORTCULLIS_*` variable), for
    /// `config check` and the server's log.
    public var warnings: [String] = []

    // MARK: basic

    /// `basic.*`: HTTP Basic with password + code on the verify endpoints, for clients that cannot show a form.
    public var basic = BasicAuthConfiguration()

    // MARK: regulation

    /// `regulation.max_retries`, `regulation.find_time`, `regulation.ban_time`,
    /// `regulation.max_otp_failures`: bans after failed logins, and the lockout after wrong codes.
    public var regulation = RegulationPolicy()

    /// The policy in force: in `otp_only` mode there is no password, so a stranger's wrong codes
    /// must never lock the user for good; there, only the temporary bans apply.
    public var effectiveRegulation: RegulationPolicy {
        var policy = regulation
        if authMode == .otpOnly { policy.maxOTPFailures = 0 }
        return policy
    }

    // MARK: audit, hashing

    /// `audit.retention`: audit entries older than this are deleted, in seconds (default 90 days).
    public var auditRetention: Int64 = 90 * 86_400
    /// `server.hash_threads`: threads for password hashing; 0 means one fewer than the cores (at least one).
    public var hashThreads: Int = 0
    /// `server.hash_queue`: password checks waiting or running before new ones get 503 and `Retry-After`.
    public var hashQueue: Int = 16

    // MARK: connections and memory

    /// `server.max_connections`: open connections at once; past it new ones are closed at once.
    public var maxConnections: Int = 10_000
    /// `server.max_connections_per_address`: open connections from one client address (trusted
    /// proxies are exempt: a proxy holds many).
    public var maxConnectionsPerAddress: Int = 128
    /// `server.head_timeout`: seconds a client has to send a whole request head, from its first byte
    /// (or from connecting); past it the connection is closed.
    public var headTimeout: Int64 = 10
    /// `server.idle_timeout`: seconds a kept-alive connection may wait for its next request.
    public var idleTimeout: Int64 = 60
    /// `session.cache_size`: sessions kept in memory (about 200 bytes each); others are read from the
    /// store on their next request.
    public var sessionCacheSize: Int = 100_000

    // MARK: metrics, log

    /// `metrics.listen`: where Prometheus metrics are served (`GET /metrics`); nil (the default) serves none.
    public var metricsListen: ListenAddress?
    /// `log.level`: the least severe messages written.
    public var logLevel: LogLevelSetting = .info
    /// `log.format`: plain text lines, or one JSON object per line.
    public var logFormat: LogFormat = .text

    // MARK: portal

    /// `portal.title`: the heading and title of the login page.
    public var portalTitle: String = "Portcullis"
    /// `portal.logo_file`: a PNG or SVG (at most 64 KiB) shown above the form.
    public var portalLogoFile: String?

    // MARK: totp, hotp

    /// `totp.issuer`: the name authenticator apps show above the code.
    public var totpIssuer: String = "Portcullis"
    /// `totp.skew`: steps accepted either side of the current one.
    public var totpSkew: Int = 1
    /// `totp.algorithm`, `totp.digits`, `totp.period`: parameters of new TOTP devices.
    public var totpAlgorithm: OTPAlgorithm = .sha1
    public var totpDigits: Int = 6
    public var totpPeriod: Int = 30
    /// `hotp.look_ahead`: how many counters ahead an HOTP code may be.
    public var hotpLookAhead: Int = 4

    public init() {}

    /// The key file actually used: the configured one, or `storage.key` beside the database.
    public var resolvedKeyFile: String {
        if let encryptionKeyFile { return encryptionKeyFile }
        let directory = sqlitePath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return (directory.isEmpty ? "" : directory + "/") + "storage.key"
    }

    /// The folder of the database file ("." when it has none).
    public var dataDirectory: String {
        let directory = sqlitePath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return directory.isEmpty ? (sqlitePath.hasPrefix("/") ? "/" : ".") : directory
    }

    /// The cookie settings in force: the configured ones, or, with none configured, one for trying
    /// Portcullis on this machine (`localhost`, plain HTTP, portal at the listen address).
    public var effectiveSessionCookies: [SessionCookieConfiguration] {
        if !sessionCookies.isEmpty { return sessionCookies }
        return [SessionCookieConfiguration(domain: "localhost", portalURL: "http://localhost:\(listenPort)", secure: false)]
    }
}

/// `basic.*`: HTTP Basic on the verify endpoints, where the password is the user's password followed
/// by the current code (or an app password), and an accepted credential lingers.
public struct BasicAuthConfiguration: Sendable, Equatable {
    /// `basic.enabled`: whether the verify endpoints accept Basic credentials at all.
    public var enabled = true
    /// `basic.realm`: the realm of `WWW-Authenticate: Basic realm="..."`.
    public var realm = "Portcullis"
    /// `basic.linger`: how long an accepted credential keeps working from the same address, in seconds.
    public var linger: Int64 = 600
    /// `basic.idle`: with a value, a lingering credential also ends after this long unused (0: off).
    public var idle: Int64 = 0
    /// `basic.logout_on_ip_change`: a lingering credential works only from the address it was accepted from.
    public var logoutOnIPChange = true

    public init() {}
}

/// A host and port to listen on.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `127.0.0.1:9191`, `[::1]:9191`.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// `log.level`, as swift-log names its levels.
public enum LogLevelSetting: String, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

/// `log.format`.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-11-23T01:10:02+0000 notice portcullis: [PortcullisServer] authentication failed …`
    case text
    /// `{"time":"2026-11-23T01:10:02.123Z","level":"notice","message":"authentication failed …",…}`
    case json
}

/// How a session is tied to the client's address.
public enum IPBinding: String, Sendable, CaseIterable {
    /// Not tied.
    case off
    /// Only the exact address it was made from.
    case exact
    /// The same /24 (IPv4) or /64 (IPv6) network.
    case prefix
}

/// What the login form asks for.
public enum AuthMode: String, Sendable, CaseIterable {
    /// Username, password and code.
    case passwordAndOTP = "password_and_otp"
    /// A code only (and the username when there is more than one user), as the single-secret seeds do.
    case otpOnly = "otp_only"
}

/// One `session.cookies` entry: a root domain, where its login page is, and how its cookie is set.
public struct SessionCookieConfiguration: Sendable, Equatable {
    /// The domain the cookie is valid for, with its subdomains (`example.com`).
    public var domain: String
    /// The portal's base URL (`https://auth.example.com`); the login page is `<portal_url>/login`.
    public var portalURL: String
    /// The cookie's name.
    public var name: String
    public var path: String
    public var sameSite: SameSite
    public var secure: Bool
    /// Where to go after login when no valid `rd` was given; the domain's root by default.
    public var defaultRedirectURL: String?
    /// Whether HTTP Basic is accepted for this domain; nil follows `basic.enabled`.
    public var basic: Bool?

    public enum SameSite: String, Sendable, CaseIterable {
        case lax = "Lax", strict = "Strict", none = "None"
    }

    public init(domain: String, portalURL: String, name: String = "portcullis_session", path: String = "/",
                sameSite: SameSite = .lax, secure: Bool = true, defaultRedirectURL: String? = nil, basic: Bool? = nil) {
        self.domain = domain
        self.portalURL = portalURL
        self.name = name
        self.path = path
        self.sameSite = sameSite
        self.secure = secure
        self.defaultRedirectURL = defaultRedirectURL
        self.basic = basic
    }

    /// The portal URL without a trailing slash.
    public var portalBase: String { portalURL.hasSuffix("/") ? String(portalURL.dropLast()) : portalURL }

    /// Where to go after login when `rd` is missing or refused: `default_redirect_url`, else the
    /// portal's own page saying who is logged in (never the bare cookie domain, which is often no
    /// site at all).
    public var fallbackRedirect: String {
        defaultRedirectURL ?? portalBase + "/"
    }
}
