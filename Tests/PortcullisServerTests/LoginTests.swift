import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PortcullisCore
import PortcullisServer
import PortcullisStore
import PortcullisTestSupport
import Testing

@Suite("login page") struct LoginTests {
    static let failureMessage = "Incorrect username, password or code."

    @Test("the form has labels, autocomplete hints, a numeric code field, and strict headers with a per-response nonce")
    func formAndHeaders() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.withRouter { client, _ in
            var browser = Browser()
            let first = try await browser.get(client, "/login")
            #expect(first.status == .ok)
            let html = Page.text(first)
            for fragment in ["<label for=\"username\">", "autocomplete=\"username\"", "autocomplete=\"current-password\"", "autocomplete=\"one-time-code\"",
                             "<label for=\"code\">", "name=\"remember_me\"", "<meta name=\"viewport\""] {
                #expect(html.contains(fragment), "missing \(fragment)")
            }
            #expect(!html.contains("<script"))
            let csp = try #require(first.headers[.contentSecurityPolicy])
            #expect(csp.contains("frame-ancestors 'none'"))
            #expect(csp.contains("default-src 'none'"))
            let nonce = try #require(csp.split(separator: "'nonce-").dropFirst().first?.split(separator: "'").first)
            #expect(html.contains("<style nonce=\"\(nonce)\">"))
            #expect(first.headers[.cacheControl] == "no-store")
            #expect(first.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
            let csrfCookie = try #require(first.headers[values: .setCookie].first { $0.hasPrefix("portcullis_csrf=") })
            #expect(csrfCookie.contains("HttpOnly") && csrfCookie.contains("SameSite=Strict") && csrfCookie.contains("Secure"))

            let second = try await browser.get(client, "/login")
            let secondNonce = second.headers[.contentSecurityPolicy]?.split(separator: "'nonce-").dropFirst().first?.split(separator: "'").first
            #expect(secondNonce != nonce)
            #expect(second.headers[values: .setCookie].isEmpty, "the CSRF cookie is kept, not replaced")
        }
    }

    @Test("a good login sets a secure session cookie and redirects to rd with its query intact")
    func goodLogin() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await harness.withRouter { client, _ in
            var browser = Browser()
            let target = "https://jupyter.example.com/lab/tree/a.ipynb?reset&x=%2F1"
            let response = try await browser.logIn(client, code: harness.code(), rd: target)
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == target)
            let cookie = try #require(response.headers[values: .setCookie].first { $0.hasPrefix("portcullis_session=") })
            for attribute in ["Domain=example.com", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"] {
                #expect(cookie.contains(attribute), "missing \(attribute) in \(cookie)")
            }
            #expect(!cookie.contains("Max-Age"), "without remember me the cookie ends with the browser")
            let value = String(cookie.split(separator: ";")[0].dropFirst("portcullis_session=".count))
            #expect(value.count == 43)
            // The store keeps only the SHA-256 of the token.
            let stored = try await harness.store.liveSessions(at: harness.clock.now)
            #expect(stored.count == 1)
            #expect(stored[0].0.idHash == SessionToken(cookieValue: value)!.storageHash)
            #expect(stored[0].0.expiresAt == harness.clock.now + 12 * 3600)
            #expect(stored[0].0.authLevel == 2)
            // Already logged in: the login page forwards to a valid rd at once.
            let again = try await browser.get(client, "/login?rd=" + FormFields.encode(target))
            #expect(again.status == .found)
            #expect(again.headers[.location] == target)
        }
    }

    @Test("without rd, or with an off-domain rd, a login lands on the portal's page naming the user, or on default_redirect_url")
    func defaultTarget() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await harness.withRouter { client, _ in
            var browser = Browser()
            #expect(try await browser.get(client, "/").headers[.location] == "/login", "nobody logged in: the portal's root is the login form")
            let response = try await browser.logIn(client, code: harness.code(), rd: "https://evil.com/")
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "https://auth.example.com/")
            let home = try await browser.get(client, "/")
            #expect(home.status == .ok && Page.text(home).contains("You are logged in as alice.") && Page.text(home).contains("href=\"/logout\""))
            harness.clock.advance(30)
            var direct = Browser()
            #expect(try await direct.logIn(client, code: harness.code()).headers[.location] == "https://auth.example.com/")
        }
        var configured = GateHarness.exampleConfiguration()
        configured.sessionCookies[0].defaultRedirectURL = "https://home.example.com/start"
        let second = try await GateHarness.make(configured)
        defer { Task { await second.close() } }
        try await second.addUser("alice")
        try await second.withRouter { client, _ in
            var browser = Browser()
            let landed = try await browser.logIn(client, code: second.code())
            #expect(landed.headers[.location] == "https://home.example.com/start")
        }
    }

    @Test("no open-redirect payload is followed from the login page")
    func openRedirects() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await harness.withRouter { client, _ in
            var browser = Browser()
            _ = try await browser.logIn(client, code: harness.code())
            #expect(OpenRedirectPayloads.all.count >= 40)
            for payload in OpenRedirectPayloads.all {
                let response = try await browser.get(client, "/login?rd=" + FormFields.encode(payload))
                #expect(response.status == .ok, "followed \(payload.debugDescription)")
                #expect(response.headers[.location] == nil)
                #expect(!Page.text(response).contains("evil"), "echoed \(payload.debugDescription)")
            }
        }
    }

    @Test("wrong password, wrong code, unknown user and disabled user get the same answer, and no session")
    func failuresLookAlike() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        var bob = try await harness.addUser("bob")
        bob.disabled = true
        try await harness.store.updateUser(bob)
        try await harness.withRouter { client, _ in
            let wrongCode = String(harness.code().reversed()) == harness.code() ? "000000" : String(harness.code().reversed())
            let attempts: [(String, String, String)] = [
                ("alice", "wrong password", harness.code()),
                ("alice", "correct horse", wrongCode),
                ("alice", "correct horse", "12345"),
                ("nobody", "correct horse", harness.code()),
                ("bob", "correct horse", harness.code()),
            ]
            var bodies: Set<String> = []
            for (user, password, code) in attempts {
                var browser = Browser()
                let response = try await browser.logIn(client, username: user, password: password, code: code)
                #expect(response.status == .unauthorized, "\(user)")
                #expect(Page.text(response).contains(Self.failureMessage), "\(user)")
                #expect(browser.cookies["portcullis_session"] == nil)
                bodies.insert(Page.text(response).replacing(/nonce="[^"]*"/, with: "").replacing(/value="[^"]*"/, with: ""))
            }
            #expect(bodies.count == 1, "the pages differ: \(bodies.count) variants")
            #expect(try await harness.store.liveSessions(at: harness.clock.now).isEmpty)
        }
    }

    @Test("a code accepted once is refused the second time")
    func replay() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await harness.withRouter { client, _ in
            let code = harness.code()
            var first = Browser()
            #expect(try await first.logIn(client, code: code).status == .seeOther)
            var second = Browser()
            let replayed = try await second.logIn(client, code: code)
            #expect(replayed.status == .unauthorized)
            #expect(second.cookies["portcullis_session"] == nil)
        }
    }

    @Test("a bcrypt hash is upgraded to scrypt at the next good login", .enabled(if: ProcessRunner.isAvailable("htpasswd"), "needs htpasswd"))
    func rehash() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        var alice = try await harness.addUser("alice")
        let output = try ProcessRunner.run("htpasswd", ["-nbB", "-C", "5", "alice", "correct horse"])
        alice.passwordHash = String(output.stdout.split(separator: ":", maxSplits: 1)[1].trimmingASCIIWhitespace())
        #expect(alice.passwordHash?.hasPrefix("$2y$") == true)
        try await harness.store.updateUser(alice)
        try await harness.withRouter { client, _ in
            var browser = Browser()
            let response = try await browser.logIn(client, code: harness.code())
            #expect(response.status == .seeOther)
        }
        let upgraded = try await harness.store.user(named: "alice")?.passwordHash
        #expect(upgraded?.hasPrefix("$scrypt$") == true)
        #expect(try GateHarness.hasher.verify("correct horse", against: upgraded!) == .match(needsRehash: false))
    }

    @Test("remember me gives a persistent cookie and the longer lifetime")
    func rememberMe() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await harness.withRouter { client, _ in
            var browser = Browser()
            let response = try await browser.logIn(client, code: harness.code(), rememberMe: true)
            let cookie = try #require(response.headers[values: .setCookie].first { $0.hasPrefix("portcullis_session=") })
            #expect(cookie.contains("Max-Age=2592000"))
            let stored = try await harness.store.liveSessions(at: harness.clock.now)
            #expect(stored.first?.0.expiresAt == harness.clock.now + 30 * 86_400)
            #expect(stored.first?.0.rememberMe == true)
        }
    }

    @Test("the title and logo are configurable, and remember_me: 0 hides the box")
    func branding() async throws {
        var configuration = GateHarness.exampleConfiguration()
        configuration.portalTitle = "Example <Co> sign-in"
        configuration.sessionRememberMe = 0
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        let server = try await harness.server(logoDataURI: "data:image/png;base64,iVBORw0KGgo=")
        let app = Application(router: server.router)
        try await app.test(.router) { client in
            var browser = Browser()
            let html = Page.text(try await browser.get(client, "/login"))
            #expect(html.contains("<h1>Example &lt;Co&gt; sign-in</h1>"))
            #expect(html.contains("<title>Log in · Example &lt;Co&gt; sign-in</title>"))
            #expect(html.contains("<img class=\"logo\" src=\"data:image/png;base64,iVBORw0KGgo=\""))
            #expect(!html.contains("remember_me"))
        }
    }

    @Test("forms without a matching CSRF token, or sent from another site, are refused")
    func csrf() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await harness.withRouter { client, _ in
            let fields = [("username", "alice"), ("password", "correct horse"), ("code", harness.code())]
            var noCookie = Browser()
            #expect(try await noCookie.post(client, "/login", fields + [("csrf", "x")]).status == .forbidden)

            var browser = Browser()
            let page = try await browser.get(client, "/login")
            let token = try #require(Page.csrfToken(page))
            #expect(try await browser.post(client, "/login", fields + [("csrf", token + "x")]).status == .forbidden)
            #expect(try await browser.post(client, "/login", fields).status == .forbidden)
            let crossOrigin = try await browser.post(client, "/login", fields + [("csrf", token)], extra: [HTTPField.Name("Origin")!: "https://evil.com"])
            #expect(crossOrigin.status == .forbidden)
            // The portal's host on another port or scheme is another origin (another service on the same machine).
            for other in ["https://auth.example.com:8443", "http://auth.example.com"] {
                let sameHost = try await browser.post(client, "/login", fields + [("csrf", token)],
                                                      extra: [HTTPField.Name("Origin")!: other, HTTPField.Name("X-Forwarded-Proto")!: "https"])
                #expect(sameHost.status == .forbidden, "Origin \(other)")
            }
            let crossSite = try await browser.post(client, "/login", fields + [("csrf", token)], extra: [HTTPField.Name("Sec-Fetch-Site")!: "cross-site"])
            #expect(crossSite.status == .forbidden)
            #expect(browser.cookies["portcullis_session"] == nil)
            // With the page's no-referrer policy browsers send `Origin: null`; the token and Sec-Fetch-Site decide then.
            let nullOrigin = try await browser.post(client, "/login", fields + [("csrf", token)],
                                                    extra: [HTTPField.Name("Origin")!: "null", HTTPField.Name("Sec-Fetch-Site")!: "cross-site"])
            #expect(nullOrigin.status == .forbidden)
            // The same form from the portal's own origin works.
            let good = try await browser.post(client, "/login", fields + [("csrf", token)], extra: [HTTPField.Name("Origin")!: "https://auth.example.com"])
            #expect(good.status == .seeOther)
            var other = Browser()
            let otherPage = try await other.get(client, "/login")
            let viaNull = try await other.post(client, "/login", [("username", "alice"), ("password", "correct horse"), ("code", harness.code(steps: 1)), ("csrf", Page.csrfToken(otherPage)!)],
                                               extra: [HTTPField.Name("Origin")!: "null", HTTPField.Name("Sec-Fetch-Site")!: "same-origin"])
            #expect(viaNull.status == .seeOther)
        }
    }

    @Test("bad bodies get a clear 4xx page: not a form, too large, broken escapes")
    func badBodies() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.withRouter { client, _ in
            let headers: HTTPFields = [HTTPField.Name("X-Forwarded-Host")!: "auth.example.com", .contentType: "application/x-www-form-urlencoded"]
            let broken = try await client.execute(uri: "/login", method: .post, headers: headers, body: .init(string: "code=%zz"))
            #expect(broken.status == .badRequest)
            let json = try await client.execute(uri: "/login", method: .post, headers: [HTTPField.Name("X-Forwarded-Host")!: "auth.example.com", .contentType: "application/json"], body: .init(string: "{}"))
            #expect(json.status == .badRequest)
            let huge = try await client.execute(uri: "/login", method: .post, headers: headers, body: .init(string: "a=" + String(repeating: "b", count: 40_000)))
            #expect(huge.status.code >= 400 && huge.status.code < 500)
        }
    }

    @Test("the portal under a host outside every cookie domain says where it is served")
    func wrongHost() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.withRouter { client, _ in
            var browser = Browser()
            browser.host = "auth.example.org"
            let response = try await browser.get(client, "/login")
            #expect(response.status == .badRequest)
            #expect(Page.text(response).contains("https://auth.example.com"))
        }
    }

    @Test("otp_only mode asks for a code alone with one user, and for the name too with several")
    func otpOnly() async throws {
        var configuration = GateHarness.exampleConfiguration()
        configuration.authMode = .otpOnly
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        try await harness.addUser("solo", password: nil)
        try await harness.withRouter { client, _ in
            var browser = Browser()
            let page = try await browser.get(client, "/login")
            #expect(!Page.text(page).contains("name=\"password\""))
            #expect(!Page.text(page).contains("name=\"username\""))
            let response = try await browser.post(client, "/login", [("csrf", Page.csrfToken(page)!), ("code", harness.code())])
            #expect(response.status == .seeOther)
            let stored = try await harness.store.liveSessions(at: harness.clock.now)
            #expect(stored.first?.1.name == "solo")
            #expect(stored.first?.0.authLevel == 1)
        }
        try await harness.addUser("second", password: nil)
        try await harness.withRouter { client, _ in
            var browser = Browser()
            let page = try await browser.get(client, "/login")
            #expect(Page.text(page).contains("name=\"username\""))
            let response = try await browser.post(client, "/login", [("csrf", Page.csrfToken(page)!), ("code", harness.code(steps: 1))])
            #expect(response.status == .unauthorized)
            #expect(Page.text(response).contains("Incorrect username or code."))
        }
    }
}
