/// One rule of `access_control.rules`: what it matches (every criterion given must hold; within a
/// list, any entry) and the policy it applies.
public struct AccessRule: Sendable, Equatable {
    /// The request methods a rule may name (Authelia's list: RFC 7231, RFC 5789 and WebDAV).
    public static let knownMethods: Set<String> = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "TRACE", "CONNECT", "OPTIONS",
        "COPY", "LOCK", "MKCOL", "MOVE", "PROPFIND", "PROPPATCH", "UNLOCK",
    ]

    /// `domain`; with ``domainPatterns`` empty too: any host.
    public let domains: [DomainPattern]
    /// `domain_regex`: patterns matched against the lowercased host; a host matching either these
    /// or ``domains`` matches.
    public let domainPatterns: [ResourcePattern]
    /// Empty: any path.
    public let resources: [ResourcePattern]
    /// Empty: any method.
    public let methods: Set<String>
    /// Empty: any client address.
    public let networks: [CIDR]
    /// Nil: anyone, logged in or not.
    public let subject: SubjectCondition?
    public let policy: AccessPolicy

    /// A rule; throws ``CoreError/Code/invalidAccessRule`` for an unknown method or a `bypass` rule
    /// with a subject (who a request is can only be known after a login, which bypass skips).
    public init(domains: [DomainPattern] = [], domainPatterns: [ResourcePattern] = [], resources: [ResourcePattern] = [], methods: Set<String> = [], networks: [CIDR] = [],
                subject: SubjectCondition? = nil, policy: AccessPolicy) throws(CoreError) {
        if let unknown = methods.first(where: { !Self.knownMethods.contains($0) }) {
            throw CoreError(.invalidAccessRule, "method '\(unknown)' is not one of \(Self.knownMethods.sorted().joined(separator: ", "))")
        }
        if policy == .bypass, subject != nil {
            throw CoreError(.invalidAccessRule, "has policy bypass and a subject: who a request is is known only after a login, which bypass skips. Use one_factor, or remove the subject")
        }
        self.domains = domains
        self.domainPatterns = domainPatterns
        self.resources = resources
        self.methods = methods
        self.networks = networks
        self.subject = subject
        self.policy = policy
    }

    /// The criteria of a rule, in the order they are checked.
    public enum Criterion: String, Sendable, CaseIterable {
        case domain, method, network, resources, subject
    }

    /// The first criterion `request` fails, checking the cheap ones first; nil when all but the
    /// subject hold (the subject is the caller's to check: it needs to know who is asking).
    public func firstMismatch(_ request: AccessRequest) -> Criterion? {
        if !domains.isEmpty || !domainPatterns.isEmpty,
           !domains.contains(where: { $0.matches(request.host) }), !domainPatterns.contains(where: { $0.matches(request.host) }) {
            return .domain
        }
        if !methods.isEmpty, !methods.contains(request.method) { return .method }
        if !networks.isEmpty, !networks.contains(where: { $0.contains(request.client) }) { return .network }
        if !resources.isEmpty, !resources.contains(where: { $0.matches(request.target) }) { return .resources }
        return nil
    }
}

/// What access rules decide a request on.
public struct AccessRequest: Sendable, Equatable {
    /// Lowercased, without a port (``OriginalRequest/host``).
    public var host: String
    /// Upper case, as sent in `X-Forwarded-Method` or `X-Original-Method`.
    public var method: String
    /// The normalised path and query (``AccessTarget``).
    public var target: String
    /// The client's address, as the trusted proxies give it.
    public var client: IPAddress

    public init(host: String, method: String, target: String, client: IPAddress) {
        self.host = host
        self.method = method
        self.target = target
        self.client = client
    }

    /// The request of an original URL.
    public init(_ original: OriginalRequest, client: IPAddress) {
        self.init(host: original.host, method: original.method, target: AccessTarget.pathAndQuery(ofURL: original.url), client: client)
    }
}
