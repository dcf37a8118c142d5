import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PortcullisCore
@testable import PortcullisServer
import Testing

/// The access rules on the verify endpoints: bypass without a session, deny even when logged in,
/// rules that name groups decided with the session's or the Basic credential's user.
@Suite("access rules on the verify endpoints") struct AccessRuleRouteTests {
    static let adminPaths = try! ResourcePattern("^/admin([/?].*)?$")

    static func configuration() throws -> Configuration {
        var configuration = GateHarness.exampleConfiguration()
        let app = [DomainPattern("app.example.com")!]
        configuration.accessDefaultPolicy = .deny
        configuration.accessRules = [
            try AccessRule(domains: app, resources: [ResourcePattern("^/health$")], policy: .bypass),
            try AccessRule(domains: app, resources: [adminPaths], subject: SubjectCondition(alternatives: [[.group("admins")]]), policy: .twoFactor),
            try AccessRule(domains: app, resources: [adminPaths], policy: .deny),
            try AccessRule(domains: app, policy: .twoFactor),
        ]
        return configuration
    }

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    @Test("bypass, deny, a group's rule and the default, for nobody, an admin and a user who is not one")
    func sessions() async throws {
        let harness = try await GateHarness.make(try Self.configuration())
        defer { Task { await harness.close() } }
        try await harness.addUser("alice", groups: ["admins"])
        try await harness.addUser("bob", groups: ["dev"])
        try await harness.withRouter { client, _ in
            func verify(_ uri: String, host: String = "app.example.com", cookie: String? = nil, accept: String? = "text/html") async throws -> TestResponse {
                try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Requests.forwardAuth(host: host, uri: uri, accept: accept, cookie: cookie))
            }
            // Nobody logged in.
            let health = try await verify("/health")
            // The identity headers are there, empty, so a proxy copying them replaces a client's own.
            #expect(health.status == .ok && health.headers[HeaderNames.remoteUser] == "" && health.headers[HeaderNames.remoteGroups] == "")
            #expect(try await verify("/admin").status == .found, "a rule naming a group asks who it is first")
            #expect(try await verify("/").status == .found)
            let elsewhere = try await verify("/", host: "wiki.example.com")
            #expect(elsewhere.status == .forbidden, "no rule: the default policy, deny")
            #expect(String(buffer: elsewhere.body).contains("You have no access to <span class=\"address\">https://wiki.example.com/</span>"))

            var alice = Browser()
            _ = try await alice.logIn(client, username: "alice", code: harness.code())
            harness.clock.advance(30)
            var bob = Browser()
            _ = try await bob.logIn(client, username: "bob", code: harness.code())

            // The admin, on every spelling of the admin path.
            for spelling in ["/admin", "/admin/users", "/%61dmin", "//admin", "/admin%2Fusers"] {
                let answer = try await verify(spelling, cookie: alice.sessionCookie)
                #expect(answer.status == .ok && answer.headers[HeaderNames.remoteUser] == "alice", "\(spelling)")
            }
            // Not an admin: denied, named, on every spelling.
            for spelling in ["/admin", "/%61dmin", "//admin/", "/admin%2F"] {
                let answer = try await verify(spelling, cookie: bob.sessionCookie)
                #expect(answer.status == .forbidden, "\(spelling)")
                #expect(String(buffer: answer.body).contains("You are logged in as <strong>bob</strong> and have no access to"))
                #expect(String(buffer: answer.body).contains("https://auth.example.com/logout"))
                let script = try await verify(spelling, cookie: bob.sessionCookie, accept: "application/json")
                #expect(String(buffer: script.body).contains("You are logged in as bob and have no access to this address"))
            }
            #expect(try await verify("/", cookie: bob.sessionCookie).headers[HeaderNames.remoteUser] == "bob")
            // Paths whose meaning depends on who reads them are refused, for everyone, before any rule.
            for ambiguous in ["/./admin", "/health/../admin", "/x/%2e%2e/admin", "/admin/x/../..", "/admin/users/5%0A", "/health%23/../admin"] {
                for cookie in [alice.sessionCookie, bob.sessionCookie] {
                    #expect(try await verify(ambiguous, cookie: cookie).status == .badRequest, "\(ambiguous)")
                }
                #expect(try await verify(ambiguous).status == .badRequest, "\(ambiguous)")
            }
            // A Host that would move part of itself into the path.
            let shifted = try await client.execute(uri: "/api/authz/forward-auth", method: .get,
                                                   headers: Requests.forwardAuth(host: "app.example.com:443/x", uri: "/admin", cookie: bob.sessionCookie))
            #expect(shifted.status == .badRequest)
            // A bypassed path sends no identity, logged in or not.
            let bypassed = try await verify("/health", cookie: alice.sessionCookie)
            #expect(bypassed.status == .ok && bypassed.headers[HeaderNames.remoteUser] == "")
            // Denied through nginx's endpoint too (403, which auth_request passes on).
            let nginx = try await client.execute(uri: "/api/authz/auth-request", method: .get,
                                                 headers: Requests.authRequest(url: "https://app.example.com/admin", cookie: bob.sessionCookie))
            #expect(nginx.status == .forbidden)
        }
    }

    @Test("HTTP Basic: the rules decide with the credential's user, on the first use and while it lingers")
    func basic() async throws {
        let harness = try await GateHarness.make(try Self.configuration())
        defer { Task { await harness.close() } }
        try await harness.addUser("alice", groups: ["admins"])
        try await harness.addUser("bob", groups: ["dev"])
        let server = try await harness.server()
        try await Application(router: server.router).test(.router) { (client: any TestClientProtocol) async throws in
            func verify(_ uri: String, _ authorization: String) async throws -> TestResponse {
                try await client.execute(uri: "/api/authz/forward-auth", method: .get,
                                         headers: Requests.forwardAuth(uri: uri, accept: "*/*", forwardedFor: "203.0.113.7", extra: [.authorization: authorization]))
            }
            let bob = Self.basic("bob", "correct horse" + harness.code())
            #expect(try await verify("/admin", bob).status == .forbidden)
            #expect(try await verify("/admin", bob).status == .forbidden, "lingering")
            #expect(try await verify("/", bob).headers[HeaderNames.remoteUser] == "bob")
            let alice = Self.basic("alice", "correct horse" + harness.code())
            #expect(try await verify("/admin", alice).headers[HeaderNames.remoteUser] == "alice")
            #expect(try await verify("/admin/x", alice).headers[HeaderNames.remoteUser] == "alice", "lingering")
        }
    }

    @Test("rules that name methods need the proxy to say the method; a method is compared in upper case whichever endpoint")
    func methods() async throws {
        var configuration = GateHarness.exampleConfiguration()
        configuration.accessDefaultPolicy = .twoFactor
        configuration.accessRules = [
            try AccessRule(domains: [DomainPattern("app.example.com")!], methods: ["DELETE"], policy: .deny),
            try AccessRule(domains: [DomainPattern("app.example.com")!], methods: ["GET"], policy: .bypass),
        ]
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        try await harness.withRouter { client, _ in
            var silent = Requests.forwardAuth(uri: "/x")
            silent[HTTPField.Name("X-Forwarded-Method")!] = nil
            let refused = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: silent)
            #expect(refused.status == .badRequest && String(buffer: refused.body).contains("X-Forwarded-Method"), "not taken for a GET, which a rule bypasses")
            #expect(try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Requests.forwardAuth(uri: "/x", method: "GET")).status == .ok)
            #expect(try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Requests.forwardAuth(uri: "/x", method: "delete")).status == .forbidden)
            var nginx = Requests.authRequest(url: "https://app.example.com/x")
            nginx[HTTPField.Name("X-Original-Method")!] = "delete"
            #expect(try await client.execute(uri: "/api/authz/auth-request", method: .get, headers: nginx).status == .forbidden)
            nginx[HTTPField.Name("X-Original-Method")!] = nil
            #expect(try await client.execute(uri: "/api/authz/auth-request", method: .get, headers: nginx).status == .badRequest)
        }
    }

    @Test("with no rules every request needs a session, as before rules existed")
    func noRules() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.withRouter { client, gate in
            #expect(gate.access.rules.isEmpty && gate.access.defaultPolicy == .twoFactor)
            let answer = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Requests.forwardAuth(uri: "/health"))
            #expect(answer.status == .found)
        }
    }
}
