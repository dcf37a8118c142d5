/// `access_control`: the ordered rules and the default policy. The first rule that matches decides.
///
/// ```swift
/// let control = AccessControl(defaultPolicy: .twoFactor, rules: [
///     try AccessRule(domains: [DomainPattern("app.example.com")!], resources: [ResourcePattern("^/health$")], policy: .bypass),
/// ])
/// control.decide(request, identity: nil)   // .apply(.bypass, rule: 0) for /health
/// ```
public struct AccessControl: Sendable, Equatable {
    public let defaultPolicy: AccessPolicy
    public let rules: [AccessRule]
    /// The rules laid out for ``decide(_:identity:)``.
    private let table: AccessRuleTable
    /// Whether a rule names methods: then a request must say its method (a proxy that does not
    /// send it would make every request a GET).
    public let namesMethods: Bool

    /// No rules, two factors everywhere: what Portcullis did before rules existed.
    public static let twoFactorEverywhere = AccessControl(defaultPolicy: .twoFactor, rules: [])

    public init(defaultPolicy: AccessPolicy, rules: [AccessRule]) {
        self.defaultPolicy = defaultPolicy
        self.rules = rules
        self.table = AccessRuleTable(rules)
        self.namesMethods = rules.contains { !$0.methods.isEmpty }
    }

    public static func == (lhs: AccessControl, rhs: AccessControl) -> Bool {
        lhs.defaultPolicy == rhs.defaultPolicy && lhs.rules == rhs.rules
    }

    /// The outcome for one request.
    public enum Decision: Sendable, Equatable {
        /// The policy of rule `rule` (nil: the default policy) applies.
        case apply(AccessPolicy, rule: Int?)
        /// Rule `rule` names a subject and everything else about it matches: who is asking must be
        /// known first (a login), then the rules are decided again with the identity.
        case identify(rule: Int)
    }

    /// Decides `request` for `identity` (nil: nobody is logged in). Pure and allocation-free apart
    /// from what the rules' own matching needs.
    public func decide(_ request: AccessRequest, identity: Identity?) -> Decision {
        var start = 0
        while let index = table.firstMatch(request, from: start) {
            guard let subject = rules[index].subject else { return .apply(rules[index].policy, rule: index) }
            guard let identity else { return .identify(rule: index) }
            if subject.holds(for: identity) { return .apply(rules[index].policy, rule: index) }
            start = index + 1
        }
        return .apply(defaultPolicy, rule: nil)
    }

    /// Why each rule up to the deciding one did or did not match, for `portcullis access check`.
    public func explain(_ request: AccessRequest, identity: Identity?) -> [(rule: Int, mismatch: AccessRule.Criterion?)] {
        var steps: [(rule: Int, mismatch: AccessRule.Criterion?)] = []
        for (index, rule) in rules.enumerated() {
            var mismatch = rule.firstMismatch(request)
            if mismatch == nil, let subject = rule.subject, let identity, !subject.holds(for: identity) { mismatch = .subject }
            steps.append((index, mismatch))
            if mismatch == nil { break }
        }
        return steps
    }
}
