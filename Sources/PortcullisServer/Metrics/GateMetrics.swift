public import CoreMetrics
public import PortcullisCore

/// What a verify request was answered, as counted by ``GateMetrics``.
public enum VerifyOutcome: Int, CaseIterable, Sendable {
    /// 200 with an identity.
    case allowed
    /// 200 for nobody: a `bypass` rule.
    case allowedAnonymous
    /// Not logged in (or not enough factors): a redirect to the portal or a 401.
    case loginRequired
    /// 403: a `deny` rule, or no rule lets this user in.
    case denied
    /// 400: the proxy does not send what it must.
    case badRequest
    /// 403: a host under no cookie domain, or an app password of too few factors.
    case forbidden
    /// HTTP Basic refused for too many failures, or too many checks at once.
    case rateLimited
    /// The store or the secrets could not be read.
    case unavailable

    /// The label value.
    public var label: String {
        switch self {
        case .allowed: "allowed"
        case .allowedAnonymous: "allowed_anonymous"
        case .loginRequired: "login_required"
        case .denied: "denied"
        case .badRequest: "bad_request"
        case .forbidden: "forbidden"
        case .rateLimited: "rate_limited"
        case .unavailable: "unavailable"
        }
    }

    /// The outcome of a verdict.
    public init(_ verdict: VerifyVerdict) {
        switch verdict {
        case .allow: self = .allowed
        case .allowAnonymous: self = .allowedAnonymous
        case .redirect, .unauthorized: self = .loginRequired
        case .denied: self = .denied
        case .badRequest: self = .badRequest
        case .forbidden: self = .forbidden
        }
    }
}

/// How a login attempt (portal form, step-up, HTTP Basic, app password) ended, as counted by ``GateMetrics``.
public enum LoginOutcome: Int, CaseIterable, Sendable {
    case succeeded
    /// A wrong name, password or code.
    case failed
    /// Refused unchecked: the name or address is banned.
    case banned
    /// Refused unchecked: too many attempts of that name or address in flight.
    case busy
    /// Admitted, then not checked: the hash queue was full or the secrets could not be read.
    case abandoned

    /// The label value.
    public var label: String {
        switch self {
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .banned: "banned"
        case .busy: "busy"
        case .abandoned: "abandoned"
        }
    }
}

/// The gate's metrics, made once through a swift-metrics factory (Prometheus in `portcullis serve`
/// when `metrics.listen` is set; the no-op factory otherwise).
///
/// Every label set is fixed here, never taken from a request. Counting is one atomic add on a
/// handler made at start, so the verify hot path pays no lookup and no allocation.
public final class GateMetrics: Sendable {
    /// Counts nothing.
    public static let off = GateMetrics()

    /// Indexed by style (forward auth 0, auth request 1) × ``VerifyOutcome``.
    private let verifyAnswers: [CoreMetrics.Counter]
    private let loginAttempts: [CoreMetrics.Counter]
    let liveSessions: Gauge
    let cachedSessions: Gauge
    let activeBans: Gauge
    let hashQueue: Gauge
    let hashQueueCapacity: Gauge
    let storeSampledAt: Gauge

    /// - Parameters:
    ///   - factory: where the metrics are made.
    ///   - version: `portcullis_build_info{version=…}`.
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance, version: String = "") {
        var verifyAnswers: [CoreMetrics.Counter] = []
        for style in ["forward_auth", "auth_request"] {
            for outcome in VerifyOutcome.allCases {
                verifyAnswers.append(Counter(label: "portcullis_verify_answers_total", dimensions: [("style", style), ("outcome", outcome.label)], factory: factory))
            }
        }
        self.verifyAnswers = verifyAnswers
        loginAttempts = LoginOutcome.allCases.map {
            Counter(label: "portcullis_login_attempts_total", dimensions: [("outcome", $0.label)], factory: factory)
        }
        liveSessions = Gauge(label: "portcullis_sessions_live", factory: factory)
        cachedSessions = Gauge(label: "portcullis_sessions_in_memory", factory: factory)
        activeBans = Gauge(label: "portcullis_bans_active", factory: factory)
        hashQueue = Gauge(label: "portcullis_password_hash_queue", factory: factory)
        hashQueueCapacity = Gauge(label: "portcullis_password_hash_queue_capacity", factory: factory)
        storeSampledAt = Gauge(label: "portcullis_store_sample_timestamp_seconds", factory: factory)
        Gauge(label: "portcullis_build_info", dimensions: [("version", version)], factory: factory).record(1)
    }

    /// How many verify outcomes there are, read once: `allCases` builds an array at each use, which
    /// the verify path must not.
    private static let outcomeCount = VerifyOutcome.allCases.count

    /// Counts one verify answer.
    @inline(__always)
    public func verified(_ style: VerifyStyle, _ outcome: VerifyOutcome) {
        verifyAnswers[(style == .forwardAuth ? 0 : Self.outcomeCount) + outcome.rawValue].increment()
    }

    /// Counts one login attempt.
    public func login(_ outcome: LoginOutcome) {
        loginAttempts[outcome.rawValue].increment()
    }
}
