import HTTPTypes
import HummingbirdTesting
import PortcullisCore
import PortcullisServer
import PortcullisStore
import Testing

@Suite("verify endpoints") struct VerifyRouteTests {
    static let remoteUser = HTTPField.Name("Remote-User")!

    @Test("without a session a browser is sent to the login page with the original URL, 302 for GET and HEAD, 303 otherwise")
    func redirectsBrowsers() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.withRouter { client, _ in
            let expected = "https://auth.example.com/login?rd=" + FormFields.encode("https://app.example.com/notebooks/a%20b?x=1&y=%2F")
            for method in ["GET", "HEAD"] {
                let response = try await client.execute(uri: "/api/authz/forward-auth", method: .get,
                                                        headers: Requests.forwardAuth(uri: "/notebooks/a%20b?x=1&y=%2F", method: method))
                #expect(response.status == .found)
                #expect(response.headers[.location] == expected)
                #expect(response.headers[.cacheControl] == "no-store")
            }
            for method in ["POST", "PUT", "DELETE"] {
                let response = try await client.execute(uri: "/api/authz/forward-auth", method: .get,
                                                        headers: Requests.forwardAuth(uri: "/notebooks/a%20b?x=1&y=%2F", method: method))
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == expected)
            }
        }
    }

    @Test("clients that are not browsers get 401 without a redirect", arguments: [
        ("application/json", nil), ("*/*", nil), (nil, nil), ("text/html", "XMLHttpRequest"),
    ] as [(String?, String?)])
    func nonBrowsers(accept: String?, requestedWith: String?) async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.withRouter { client, _ in
            var extra: HTTPFields = [:]
            if let requestedWith { extra[HTTPField.Name("X-Requested-With")!] = requestedWith }
            let response = try await client.execute(uri: "/api/authz/forward-auth", method: .get,
                                                    headers: Requests.forwardAuth(accept: accept, extra: extra))
            #expect(response.status == .unauthorized)
            #expect(response.headers[.location] == nil)
        }
    }

    @Test("auth-request answers 401 with the login URL in Location for browsers, and a bare 401 for scripts")
    func authRequest() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.withRouter { client, _ in
            for path in ["/api/authz/auth-request", "/auth/check"] {
                let response = try await client.execute(uri: path, method: .get, headers: Requests.authRequest(url: "https://app.example.com/x?y=1"))
                #expect(response.status == .unauthorized, "\(path)")
                #expect(response.headers[.location] == "https://auth.example.com/login?rd=https%3A%2F%2Fapp.example.com%2Fx%3Fy%3D1", "\(path)")
                // Scripts get the 401 without a login page (nginx's snippet then passes the 401 on).
                let script = try await client.execute(uri: path, method: .get, headers: Requests.authRequest(url: "https://app.example.com/x", accept: "application/json"))
                #expect(script.status == .unauthorized, "\(path)")
                #expect(script.headers[.location] == nil, "\(path)")
            }
        }
    }

    @Test("a request without the forwarded headers gets 400 naming the missing header")
    func missingHeaders() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.withRouter { client, _ in
            let noHost = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: [HTTPField.Name("X-Forwarded-Proto")!: "https", .accept: "text/html"])
            #expect(noHost.status == .badRequest)
            #expect(Page.text(noHost).contains("X-Forwarded-Host"))
            let noProto = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: [.accept: "text/html"])
            #expect(noProto.status == .badRequest)
            #expect(Page.text(noProto).contains("X-Forwarded-Proto"))
            let noURL = try await client.execute(uri: "/api/authz/auth-request", method: .get, headers: [:])
            #expect(noURL.status == .badRequest)
            #expect(Page.text(noURL).contains("X-Original-URL"))
            let badURL = try await client.execute(uri: "/api/authz/auth-request", method: .get, headers: Requests.authRequest(url: "//evil.com/"))
            #expect(badURL.status == .badRequest)
        }
    }

    @Test("a host under no cookie domain is refused with 403, not redirected")
    func foreignHost() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.withRouter { client, _ in
            let response = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Requests.forwardAuth(host: "app.example.org"))
            #expect(response.status == .forbidden)
            #expect(response.headers[.location] == nil)
        }
    }

    @Test("a logged-in browser passes every endpoint with the identity headers; HEAD too")
    func allowed() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await harness.withRouter { client, _ in
            var browser = Browser()
            let login = try await browser.logIn(client, code: harness.code())
            #expect(login.status == .seeOther)
            let cookie = try #require(browser.cookies["portcullis_session"].map { "portcullis_session=\($0)" })
            for path in ["/api/authz/forward-auth", "/api/verify", "/verify"] {
                for method in [HTTPRequest.Method.get, .head] {
                    let response = try await client.execute(uri: path, method: method, headers: Requests.forwardAuth(cookie: "other=1; " + cookie))
                    #expect(response.status == .ok, "\(path) \(method)")
                    #expect(response.headers[Self.remoteUser] == "alice")
                    #expect(response.headers[HTTPField.Name("Remote-Groups")!] == "admins,dev")
                    #expect(response.headers[HTTPField.Name("Remote-Name")!] == "Alice Example")
                    #expect(response.headers[HTTPField.Name("Remote-Email")!] == "alice@example.com")
                }
            }
            for path in ["/api/authz/auth-request", "/auth/check", "/api/verify"] {
                let response = try await client.execute(uri: path, method: .get, headers: Requests.authRequest(url: "https://grafana.example.com/d/1", cookie: cookie))
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[Self.remoteUser] == "alice")
            }
            // A forged or malformed cookie is just "not logged in".
            for forged in ["portcullis_session=" + String(repeating: "A", count: 43), "portcullis_session=short", "portcullis_session="] {
                let response = try await client.verify(cookie: forged)
                #expect(response.status == .found)
            }
        }
    }

    @Test("sessions end after the inactivity window and at their absolute lifetime")
    func expiry() async throws {
        var configuration = GateHarness.exampleConfiguration()
        configuration.sessionInactivity = 600
        configuration.sessionExpiration = 1800
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await harness.withRouter { client, _ in
            var browser = Browser()
            _ = try await browser.logIn(client, code: harness.code())
            let cookie = browser.sessionCookie
            func status() async throws -> HTTPResponse.Status {
                try await client.verify(cookie: cookie).status
            }
            // Activity every 9 minutes keeps it alive...
            for _ in 0..<3 {
                harness.clock.advance(540)
                #expect(try await status() == .ok)
            }
            // ...until the absolute lifetime (30 minutes) is reached.
            harness.clock.advance(200)
            #expect(try await status() == .found)

            var second = Browser()
            _ = try await second.logIn(client, code: harness.code(steps: 0))
            let idle = second.sessionCookie
            harness.clock.advance(600)
            let response = try await client.verify(cookie: idle)
            #expect(response.status == .found)
        }
    }

    @Test("with ip_binding exact, a session used from another address ends, and X-Forwarded-For counts only from trusted proxies")
    func ipBinding() async throws {
        var configuration = GateHarness.exampleConfiguration()
        configuration.sessionIPBinding = .exact
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await harness.withRouter { client, _ in
            var browser = Browser()
            let page = try await browser.get(client, "/login")
            let login = try await browser.post(client, "/login", [("csrf", Page.csrfToken(page)!), ("username", "alice"), ("password", "correct horse"), ("code", harness.code())],
                                               extra: [HTTPField.Name("X-Forwarded-For")!: "198.51.100.7"])
            #expect(login.status == .seeOther)
            let cookie = browser.sessionCookie
            let same = try await client.verify(cookie: cookie, forwardedFor: "10.0.0.1, 198.51.100.7")
            #expect(same.status == .ok)
            #expect(try await harness.store.liveSessions(at: harness.clock.now).count == 1)
            let other = try await client.verify(cookie: cookie, forwardedFor: "198.51.100.8")
            #expect(other.status == .found)
            // Ended for good, also back at the first address.
            let again = try await client.verify(cookie: cookie, forwardedFor: "198.51.100.7")
            #expect(again.status == .found)
        }
    }

    @Test("X-Forwarded-For from a peer that is not a trusted proxy is ignored")
    func untrustedForwardedFor() async throws {
        var configuration = GateHarness.exampleConfiguration()
        configuration.sessionIPBinding = .exact
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        let cookie = try await harness.withRouter { client, _ in
            var browser = Browser()
            _ = try await browser.logIn(client, code: harness.code())
            return browser.sessionCookie
        }
        let sessions = try await harness.store.liveSessions(at: harness.clock.now)
        #expect(sessions.first?.0.clientIP == "127.0.0.1")
        var untrusting = harness
        untrusting.configuration.trustedProxies = [CIDR("10.0.0.0/8")!]  // the test router's peer (loopback) is not trusted now
        try await untrusting.withRouter { client, _ in
            let response = try await client.verify(cookie: cookie, forwardedFor: "203.0.113.9")
            #expect(response.status == .ok)
        }
        // With the peer trusted, the same header is believed, and the binding ends the session.
        try await harness.withRouter { client, _ in
            let response = try await client.verify(cookie: cookie, forwardedFor: "203.0.113.9")
            #expect(response.status == .found)
        }
    }

    @Test("a session cookie of one domain does not open another configured domain")
    func otherDomain() async throws {
        var configuration = GateHarness.exampleConfiguration()
        configuration.sessionCookies.append(SessionCookieConfiguration(domain: "home.lab", portalURL: "https://auth.home.lab"))
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await harness.withRouter { client, _ in
            var browser = Browser()
            _ = try await browser.logIn(client, code: harness.code())
            let cookie = browser.sessionCookie
            let home = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Requests.forwardAuth(host: "jupyter.home.lab", cookie: cookie))
            #expect(home.status == .found)
            #expect(home.headers[.location]?.hasPrefix("https://auth.home.lab/login?rd=") == true)
            let example = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Requests.forwardAuth(host: "app.example.com", cookie: cookie))
            #expect(example.status == .ok)
        }
    }
}
