/// One rule of `access_control.rules`: what it matches (every criterion given must hold; within a
/// list, any entry) and the policy it applies.
public struct AccessRule: Sendable, Equatable {
    /// The request methods a rule may name (Authelia's list: RFC 7231, RFC 5789 and WebDAV), in the
    /// order of their bits in ``methodMask``.
    static let methodList = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "TRACE", "CONNECT", "OPTIONS",
                             "COPY", "LOCK", "MKCOL", "MOVE", "PROPFIND", "PROPPATCH", "UNLOCK"]
    public static let knownMethods = Set(methodList)

    /// The bit of a method in ``methodMask``; 0 for a method no rule can name.
    static func methodBit(_ method: String) -> UInt32 {
        methodList.firstIndex(of: method).map { 1 << UInt32($0) } ?? 0
    }

    /// The criteria, in one object: a rule is copied on every step of a decision's loop, and a
    /// copy is then one retain instead of one for each criterion.
    final class Criteria: Sendable {
        let domains: [DomainPattern]
        let domainPatterns: [ResourcePattern]
        let resources: [ResourcePattern]
        let methods: Set<String>
        let methodMask: UInt32
        let networks: [CIDR]
        let subject: SubjectCondition?

        init(domains: [DomainPattern], domainPatterns: [ResourcePattern], resources: [ResourcePattern], methods: Set<String>,
             networks: [CIDR], subject: SubjectCondition?) {
            self.domains = domains
            self.domainPatterns = domainPatterns
            self.resources = resources
            self.methods = methods
            self.methodMask = methods.reduce(0) { $0 | AccessRule.methodBit($1) }
            self.networks = networks
            self.subject = subject
        }
    }

    let criteria: Criteria
    public let policy: AccessPolicy

    /// `domain`; with ``domainPatterns`` empty too: any host.
    public var domains: [DomainPattern] { criteria.domains }
    /// `domain_regex`: patterns matched against the lowercased host; a host matching either these
    /// or ``domains`` matches.
    public var domainPatterns: [ResourcePattern] { criteria.domainPatterns }
    /// Empty: any path.
    public var resources: [ResourcePattern] { criteria.resources }
    /// Empty: any method.
    public var methods: Set<String> { criteria.methods }
    /// Empty: any client address.
    public var networks: [CIDR] { criteria.networks }
    /// Nil: anyone, logged in or not.
    public var subject: SubjectCondition? { criteria.subject }

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
        criteria = Criteria(domains: domains, domainPatterns: domainPatterns, resources: resources, methods: methods, networks: networks, subject: subject)
        self.policy = policy
    }

    public static func == (lhs: AccessRule, rhs: AccessRule) -> Bool {
        lhs.policy == rhs.policy && lhs.domains == rhs.domains && lhs.domainPatterns == rhs.domainPatterns && lhs.resources == rhs.resources
            && lhs.methods == rhs.methods && lhs.networks == rhs.networks && lhs.subject == rhs.subject
    }

    /// The criteria of a rule, in the order they are checked.
    public enum Criterion: String, Sendable, CaseIterable {
        case domain, method, network, resources, subject
    }

    /// The first criterion `request` fails, checking the cheap ones first; nil when all but the
    /// subject hold (the subject is the caller's to check: it needs to know who is asking).
    public func firstMismatch(_ request: AccessRequest) -> Criterion? {
        let criteria = criteria
        // Loops over indices, not elements: an element taken out of its array is a copy, and a
        // copy of a pattern costs a retain and a release.
        // The same criteria as AccessRuleTable.firstMatch, one rule at a time (for explaining).
        if !criteria.domains.isEmpty || !criteria.domainPatterns.isEmpty,
           !criteria.domains.indices.contains(where: { criteria.domains[$0].matches(request.host) }),
           !criteria.domainPatterns.indices.contains(where: { criteria.domainPatterns[$0].matches(request.host) }) {
            return .domain
        }
        if criteria.methodMask != 0, criteria.methodMask & request.methodBit == 0 { return .method }
        if !criteria.networks.isEmpty, !criteria.networks.indices.contains(where: { criteria.networks[$0].contains(request.client) }) { return .network }
        if !criteria.resources.isEmpty, !criteria.resources.indices.contains(where: { criteria.resources[$0].matches(request.target) }) {
            return .resources
        }
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
    /// The method's bit in ``AccessRule/methodMask``.
    let methodBit: UInt32

    public init(host: String, method: String, target: String, client: IPAddress) {
        self.host = host
        self.method = method
        self.target = target
        self.client = client
        self.methodBit = AccessRule.methodBit(method)
    }

    /// The request of an original URL.
    public init(_ original: OriginalRequest, client: IPAddress) {
        self.init(host: original.host, method: original.method, target: AccessTarget.pathAndQuery(ofURL: original.url), client: client)
    }
}
