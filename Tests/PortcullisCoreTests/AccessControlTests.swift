@testable import PortcullisCore
import Testing

/// The access rules as a pure function: URL, method, address, user and groups in, policy out.
@Suite("access control") struct AccessControlTests {
    @Test("paths are read as the app reads them: escapes decoded, dot segments resolved, slashes collapsed", arguments: [
        ("https://a.example.com/admin", "/admin"), ("https://a.example.com/%61dmin", "/admin"), ("https://a.example.com/./admin", "/admin"),
        ("https://a.example.com//admin", "/admin"), ("https://a.example.com/x/../admin", "/admin"), ("https://a.example.com/%2e%2e/admin", "/admin"),
        ("https://a.example.com/x/..%2fadmin", "/admin"), ("https://a.example.com/x%2F..%2F%2Fadmin/", "/admin/"),
        ("https://a.example.com/admin/", "/admin/"), ("https://a.example.com", "/"), ("https://a.example.com?x=1", "/?x=1"),
        ("https://a.example.com:8443/../../admin?next=%2Fx#frag", "/admin?next=%2Fx"), ("https://a.example.com/a?", "/a"),
        ("https://a.example.com/100%", "/100%"), ("https://a.example.com/%zz/%4", "/%zz/%4"), ("https://a.example.com/a/.", "/a"),
        ("https://a.example.com/ADMIN", "/ADMIN"), ("https://a.example.com/%C3%A9t%C3%A9", "/été"),
        // A combining mark after '/' (one Character with it): segments are split on bytes all the same.
        ("https://a.example.com/x/%D6%B9/../%D6%B9admin", "/x/\u{5B9}admin"), ("https://a.example.com/%FF/a", "/\u{FFFD}/a"),
    ] as [(String, String)])
    func targets(url: String, expected: String) {
        #expect(AccessTarget.pathAndQuery(ofURL: url) == expected)
    }

    @Test("paths already in normal form are taken as they are; the result is what decoding and normalising give")
    func quickPath() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["/", "a", ".", "..", "%2F", "%61", "?", "#", "b", "//", "%", "%2e"]
        for _ in 0..<20_000 {
            let target = "/" + (0..<Int.random(in: 0...7, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let beforeFragment = target.prefix { $0 != "#" }
            let path = beforeFragment.prefix { $0 != "?" }
            let query = beforeFragment.dropFirst(path.count).dropFirst()
            let expected = AccessTarget.normalisedPath(AccessTarget.percentDecoded(path.utf8)) + (query.isEmpty ? "" : "?" + query)
            #expect(AccessTarget.pathAndQuery(ofURL: "https://a.example.com" + target) == expected, "\(target)")
        }
    }

    @Test("paths whose meaning depends on the app are refused: dot segments in any spelling, control characters, a raw '#'", arguments: [
        ("/admin", false), ("//admin", false), ("/%61dmin", false), ("/a/.../b", false), ("/a/..b/.c", false), ("/a?x=../b", false), ("/admin%2Fx", false),
        ("/a/../b", true), ("/./a", true), ("/a/.", true), ("/a/..", true), ("/%2e%2e/admin", true), ("/x%2F..%2Fadmin", true), ("/x/%2E/admin", true),
        ("/admin/users/5%0A", true), ("/a%00b", true), ("/a%7F", true), ("/public#/../admin", true), ("/a#frag", true),
    ] as [(String, Bool)])
    func refusals(path: String, refused: Bool) {
        #expect((AccessTarget.refusal(ofURL: "https://app.example.com" + path) != nil) == refused)
    }

    @Test("a forwarded Host with more than a host and a port is refused before it can shift the path")
    func forwardedHost() {
        let decider = ForwardAuthDecider(cookies: [])
        for host in ["app.example.com:443/x", "app.example.com:443?", "app.example.com#", "user@app.example.com", "app.example.com\\x"] {
            let request = VerifyRequest(forwardedMethod: "GET", forwardedProto: "https", forwardedHost: host, forwardedURI: "/admin")
            guard case .answer(.badRequest) = decider.original(request, style: .forwardAuth) else {
                Issue.record("\(host) was read")
                continue
            }
        }
        let fine = VerifyRequest(forwardedMethod: "GET", forwardedProto: "https", forwardedHost: "app.example.com:8443", forwardedURI: "/admin")
        #expect(decider.original(fine, style: .forwardAuth) == .original(OriginalRequest(method: "GET", url: "https://app.example.com:8443/admin", host: "app.example.com")))
    }

    static let lan = CIDR("192.168.0.0/16")!
    static let control = try! AccessControl(defaultPolicy: .deny, rules: [
        AccessRule(domains: [DomainPattern("app.example.com")!], resources: [ResourcePattern("^/health$")], policy: .bypass),
        AccessRule(domains: [DomainPattern("app.example.com")!], resources: [ResourcePattern("^/admin([/?].*)?$")],
                   subject: SubjectCondition(alternatives: [[.group("admins")]]), policy: .twoFactor),
        AccessRule(domains: [DomainPattern("app.example.com")!], resources: [ResourcePattern("^/admin([/?].*)?$")], policy: .deny),
        AccessRule(domains: [DomainPattern("*.lan.example.com")!], networks: [lan, CIDR("fd00::/8")!], policy: .oneFactor),
        AccessRule(domains: [DomainPattern("api.example.com")!], methods: ["GET", "HEAD"], policy: .oneFactor),
        AccessRule(domains: [DomainPattern("*.example.com")!, DomainPattern("example.com")!],
                   subject: SubjectCondition(alternatives: [[.user("alice")], [.group("ops"), .group("dev")]]), policy: .twoFactor),
    ])

    static let alice = Identity(user: "Alice", groups: ["dev"], name: "", email: "")
    static let bob = Identity(user: "bob", groups: ["admins"], name: "", email: "")
    static let carol = Identity(user: "carol", groups: ["ops", "dev"], name: "", email: "")
    static let dave = Identity(user: "dave", groups: ["ops"], name: "", email: "")

    /// The decision for a request as a proxy sends it (forward auth headers), so the host's port,
    /// case and trailing dot go through the same reading as in the verify path.
    /// Nil when the verify path refuses the URL (400) before any rule is asked.
    static func decide(_ url: String, method: String = "GET", from address: String = "203.0.113.9", as identity: Identity? = nil) -> AccessControl.Decision? {
        let decider = ForwardAuthDecider(cookies: [])
        guard case .original(let original) = decider.original(VerifyRequest(originalURL: url, originalMethod: method), style: .authRequest) else {
            return nil
        }
        return control.decide(AccessRequest(original, client: IPAddress(address)!), identity: identity)
    }

    @Test("rule by rule: bypass, groups, deny, networks, methods, subjects, the default")
    func table() {
        // A public health check; everything else under /admin only for admins, denied to others.
        #expect(Self.decide("https://app.example.com/health") == .apply(.bypass, rule: 0))
        // Not the health check once a query follows: the wiki-wide rule with a subject asks who it is.
        #expect(Self.decide("https://app.example.com/health?x") == .identify(rule: 5))
        #expect(Self.decide("https://app.example.com/admin/users") == .identify(rule: 1))
        #expect(Self.decide("https://app.example.com/admin/users", as: Self.bob) == .apply(.twoFactor, rule: 1))
        #expect(Self.decide("https://app.example.com/admin/users", as: Self.alice) == .apply(.deny, rule: 2))
        // The protected path however it is spelled.
        for spelling in ["/%61dmin", "/./admin", "//admin", "/x/../admin", "/%2e%2e/admin", "/admin/", "/admin?x=1", "/health/../admin"] {
            #expect(Self.decide("https://app.example.com" + spelling, as: Self.alice) == .apply(.deny, rule: 2), "\(spelling)")
        }
        // Host case and port do not change which rule applies; a trailing dot is refused before any rule.
        for host in ["APP.example.com", "app.example.com:8443"] {
            #expect(Self.decide("https://\(host)/admin", as: Self.alice) == .apply(.deny, rule: 2), "\(host)")
        }
        #expect(Self.decide("https://app.example.com./admin", as: Self.alice) == nil)
        #expect(DomainPattern("app.example.com")!.matches("app.example.com."), "and were it let through, it would match")
        // Wildcards: any depth below, not the name itself.
        #expect(Self.decide("https://nas.lan.example.com/", from: "192.168.1.20") == .apply(.oneFactor, rule: 3))
        #expect(Self.decide("https://a.b.lan.example.com/", from: "192.168.1.20") == .apply(.oneFactor, rule: 3))
        #expect(Self.decide("https://lan.example.com/", from: "192.168.1.20") == .identify(rule: 5))
        #expect(Self.decide("https://nas.lan.example.com/", from: "fd12::1") == .apply(.oneFactor, rule: 3))
        #expect(Self.decide("https://nas.lan.example.com/", from: "::ffff:192.168.3.4") == .apply(.oneFactor, rule: 3))
        #expect(Self.decide("https://nas.lan.example.com/", from: "10.0.0.1", as: Self.dave) == .apply(.deny, rule: nil))
        #expect(Self.decide("https://nas.lan.example.com/", from: "fe80::1", as: Self.alice) == .apply(.twoFactor, rule: 5))
        // Methods.
        #expect(Self.decide("https://api.example.com/v1", method: "HEAD") == .apply(.oneFactor, rule: 4))
        #expect(Self.decide("https://api.example.com/v1", method: "POST", as: Self.carol) == .apply(.twoFactor, rule: 5))
        // Subjects: alice (any case), or ops and dev together; dave (ops only) falls to the default.
        #expect(Self.decide("https://wiki.example.com/", as: Self.alice) == .apply(.twoFactor, rule: 5))
        #expect(Self.decide("https://wiki.example.com/", as: Self.carol) == .apply(.twoFactor, rule: 5))
        #expect(Self.decide("https://wiki.example.com/", as: Self.dave) == .apply(.deny, rule: nil))
        #expect(Self.decide("https://example.com/", as: Self.alice) == .apply(.twoFactor, rule: 5))
        #expect(Self.decide("https://example.org/", as: Self.alice) == .apply(.deny, rule: nil))
        #expect(Self.decide("https://notexample.com/", as: Self.alice) == .apply(.deny, rule: nil))
    }

    @Test("the decision loop over the rule table and the rule-by-rule explanation agree on every request")
    func tableAgreesWithRules() {
        var generator = SystemRandomNumberGenerator()
        let hosts = ["app.example.com", "nas.lan.example.com", "lan.example.com", "api.example.com", "example.com", "wiki.example.com", "x.org"]
        let paths = ["/", "/health", "/health?x", "/admin", "/admin/x", "/adminx", "/api"]
        let methods = ["GET", "HEAD", "POST", "PROPFIND", "BREW"]
        let addresses = ["192.168.1.2", "10.0.0.1", "fd00::1", "2001:db8::1"]
        let people: [Identity?] = [nil, Self.alice, Self.bob, Self.carol, Self.dave]
        for _ in 0..<5_000 {
            let request = AccessRequest(host: hosts.randomElement(using: &generator)!, method: methods.randomElement(using: &generator)!,
                                        target: paths.randomElement(using: &generator)!, client: IPAddress(addresses.randomElement(using: &generator)!)!)
            let identity = people.randomElement(using: &generator)!
            let last = Self.control.explain(request, identity: identity).last
            switch Self.control.decide(request, identity: identity) {
            case .apply(let policy, let rule?):
                #expect(last?.rule == rule && last?.mismatch == nil && Self.control.rules[rule].policy == policy, "\(request)")
            case .apply(_, nil):
                #expect(last == nil || last?.mismatch != nil, "\(request)")
            case .identify(let rule):
                #expect(identity == nil && last?.rule == rule && last?.mismatch == nil, "\(request)")
            }
        }
    }

    @Test("explain names, rule by rule, the criterion that did not match, up to the deciding rule")
    func explain() {
        let request = AccessRequest(host: "app.example.com", method: "GET", target: "/admin", client: IPAddress("203.0.113.9")!)
        let steps = Self.control.explain(request, identity: Self.alice)
        #expect(steps.map(\.rule) == [0, 1, 2])
        #expect(steps.map(\.mismatch) == [.resources, .subject, nil])
    }

    @Test("a rule an earlier one always matches first is found; rules that only overlap are not")
    func shadowing() throws {
        func rule(_ domains: [String] = [], _ resources: [String] = [], methods: Set<String> = [], networks: [String] = [],
                  subject: SubjectCondition? = nil, _ policy: AccessPolicy = .twoFactor) throws -> AccessRule {
            try AccessRule(domains: domains.map { DomainPattern($0)! }, resources: resources.map { try ResourcePattern($0) }, methods: methods,
                           networks: networks.map { CIDR($0)! }, subject: subject, policy: policy)
        }
        let admins = SubjectCondition(alternatives: [[.group("admins")]])
        let control = AccessControl(defaultPolicy: .deny, rules: [
            try rule(["*.example.com"], networks: ["192.168.0.0/16"], .oneFactor),
            try rule(["nas.example.com"], networks: ["192.168.1.0/24"]),          // 1: covered by 0
            try rule(["nas.example.com"], networks: ["10.0.0.0/8"]),              // other network: not covered
            try rule(["example.com"], networks: ["192.168.1.0/24"]),              // the bare name: not covered by *.example.com
            try rule(["app.example.com"], ["^/api"], methods: ["GET"]),
            try rule(["app.example.com"], ["^/api"], methods: ["GET"], .deny),    // 5: covered by 4
            try rule(["app.example.com"], ["^/api"], methods: ["GET", "POST"]),   // more methods: not covered
            try rule(["app.example.com"], ["^/ap"]),                              // other pattern: not known to be covered
            try rule(["a.example.com"], subject: admins),
            try rule(["a.example.com"]),                                          // anyone: not covered by a subject rule
            try rule(["a.example.com"], subject: admins, .deny),                  // 10: covered by 8
            try rule([], [], .deny),
            try rule(["b.example.com"]),                                          // 12: covered by 11 (every host)
        ])
        #expect(control.shadowedRules().map(\.rule) == [1, 5, 10, 12])
        #expect(control.shadowedRules().map(\.by) == [0, 4, 8, 11])
    }

    @Test("rules refuse unknown methods and bypass with a subject; domains refuse what is no host name")
    func invalidRules() {
        #expect(throws: CoreError.self) { try AccessRule(methods: ["FETCH"], policy: .oneFactor) }
        #expect(throws: CoreError.self) { try AccessRule(subject: SubjectCondition(alternatives: [[.user("a")]]), policy: .bypass) }
        #expect(throws: CoreError.self) { try SubjectCondition.Term("role:admin") }
        #expect(throws: CoreError.self) { try SubjectCondition.Term("user:") }
        for bad in ["", "*", "*.", "a..b", "exa mple.com", "*example.com", "a.*.com", "é.com", String(repeating: "a", count: 64) + ".com"] {
            #expect(DomainPattern(bad) == nil, "\(bad)")
        }
        #expect(DomainPattern("Example.COM.")?.description == "example.com")
        #expect(DomainPattern("*.Example.com")?.description == "*.example.com")
    }
}
