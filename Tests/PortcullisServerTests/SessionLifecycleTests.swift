import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PortcullisCore
import PortcullisServer
import PortcullisStore
import Testing

@Suite("sessions over time") struct SessionLifecycleTests {
    @Test("logout ends the session at once, in memory and in the store; GET /logout only shows a button")
    func logout() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await harness.withRouter { client, _ in
            var browser = Browser()
            _ = try await browser.logIn(client, code: harness.code())
            let cookie = browser.sessionCookie
            let page = try await browser.get(client, "/logout")
            #expect(page.status == .ok)
            #expect(Page.text(page).contains("alice"))
            #expect(Page.text(page).contains("<form method=\"post\" action=\"/logout\">"))
            // Merely opening the page ended nothing.
            #expect(try await client.verify(cookie: cookie).status == .ok)

            let done = try await browser.post(client, "/logout", [("csrf", Page.csrfToken(page)!), ("rd", "https://app.example.com/bye")])
            #expect(done.status == .seeOther)
            #expect(done.headers[.location] == "https://app.example.com/bye")
            #expect(done.headers[values: .setCookie].contains { $0.hasPrefix("portcullis_session=;") && $0.contains("Max-Age=0") })
            #expect(browser.cookies["portcullis_session"] == nil)
            #expect(try await client.verify(cookie: cookie).status == .found)
            #expect(try await harness.store.liveSessions(at: harness.clock.now).isEmpty)
        }
    }

    @Test("a logout form without its CSRF token ends nothing")
    func logoutCSRF() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await harness.withRouter { client, _ in
            var browser = Browser()
            _ = try await browser.logIn(client, code: harness.code())
            let response = try await browser.post(client, "/logout", [("csrf", "forged")])
            #expect(response.status == .forbidden)
            #expect(try await harness.store.liveSessions(at: harness.clock.now).count == 1)
        }
    }

    @Test("sessions survive a restart: a new server on the same store lets the cookie in")
    func restart() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        let cookie = try await harness.withRouter { client, _ in
            var browser = Browser()
            _ = try await browser.logIn(client, code: harness.code())
            return browser.sessionCookie
        }
        try await harness.withRouter { client, gate in
            // The new server starts with nothing in memory and reads the session on first sight.
            #expect(gate.cache.count == 0)
            let response = try await client.verify(cookie: cookie)
            #expect(response.status == .ok)
            #expect(response.headers[HTTPField.Name("Remote-User")!] == "alice")
            #expect(gate.cache.count == 1)
        }
    }

    @Test("revoking in the store (as `portcullis session revoke` does) reaches a running server, and user changes show up")
    func revocationReachesRunningServer() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        let server = try await harness.server()
        var sync = server.sync
        sync.pollInterval = .milliseconds(20)
        let app = Application(router: server.router, services: [sync])
        try await app.test(.router) { client in
            var browser = Browser()
            _ = try await browser.logIn(client, code: harness.code())
            let cookie = browser.sessionCookie
            func verify() async throws -> TestResponse {
                try await client.verify(cookie: cookie)
            }
            #expect(try await verify().status == .ok)

            var changed = alice
            changed.groups = ["viewers"]
            try await harness.store.updateUser(changed)
            try await waitUntil { try await verify().headers[HTTPField.Name("Remote-Groups")!] == "viewers" }

            #expect(try await harness.store.deleteSessions(userID: alice.id) == 1)
            try await waitUntil { try await verify().status == .found }

            // Disabling a user ends their sessions on the running server too.
            var again = Browser()
            _ = try await again.logIn(client, code: harness.code(steps: 1))
            let second = again.sessionCookie
            #expect(try await client.verify(cookie: second).status == .ok)
            changed.disabled = true
            try await harness.store.updateUser(changed)
            try await waitUntil { try await client.verify(cookie: second).status == .found }
        }
    }

    @Test("activity is written to the store at most once per tenth of the inactivity window")
    func activityWrites() async throws {
        var configuration = GateHarness.exampleConfiguration()
        configuration.sessionInactivity = 1000
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        let server = try await harness.server()
        let app = Application(router: server.router, services: [server.sync])
        try await app.test(.router) { client in
            var browser = Browser()
            _ = try await browser.logIn(client, code: harness.code())
            let cookie = browser.sessionCookie
            let loginTime = harness.clock.now
            for _ in 0..<9 {
                harness.clock.advance(10)
                _ = try await client.verify(cookie: cookie)
            }
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await harness.store.liveSessions(at: harness.clock.now).first?.0.lastActivity == loginTime)
            harness.clock.advance(10)  // 100 s since the last write: one is due
            _ = try await client.verify(cookie: cookie)
            try await waitUntil { try await harness.store.liveSessions(at: harness.clock.now).first?.0.lastActivity == loginTime + 100 }
        }
    }

    @Test("the session cache is bounded: past its capacity the least recently used session leaves memory, not the store")
    func boundedCache() {
        let cache = SessionCache(capacity: 2)
        var random = SystemRandomNumberGenerator()
        let policy = SessionPolicy(inactivity: 3600, binding: .off)
        let client = PackedAddress(IPAddress("127.0.0.1")!)
        var tokens: [SessionToken] = []
        for index in 0..<3 {
            let token = SessionToken.generate(using: &random)
            tokens.append(token)
            // The session evicted has activity the store has not heard of: it is handed back to be written.
            let session = CachedSession(identity: Identity(user: "u\(index)", groups: [], name: "", email: ""), userID: Int64(index),
                                        lastActivity: 100 + Int64(index), persistedActivity: 100, expiresAt: 10_000, client: client,
                                        cookieDomain: "example.com", idHash: token.storageHash, level: .passwordAndCode)
            let evicted = cache.insert(session, token: token)
            #expect(evicted == (index == 2 ? SessionTouch(idHash: tokens[1].storageHash, at: 101) : nil))
            if index == 1 {
                // The first session is used: the second becomes the least recently used.
                _ = cache.use(tokens[0], now: 150, client: client, cookieDomain: "example.com", policy: policy)
            }
        }
        #expect(cache.count == 2)
        // Not refused: unknown here, so the caller reads it from the store.
        #expect(cache.use(tokens[1], now: 200, client: client, cookieDomain: "example.com", policy: policy) == .unknown)
        guard case .valid(let identity, _, _) = cache.use(tokens[2], now: 200, client: client, cookieDomain: "example.com", policy: policy) else {
            Issue.record("the newest session should be valid")
            return
        }
        #expect(identity.user == "u2")
        guard case .valid(let first, _, _) = cache.use(tokens[0], now: 200, client: client, cookieDomain: "example.com", policy: policy) else {
            Issue.record("the session used last should still be here")
            return
        }
        #expect(first.user == "u0")
    }

    @Test("health answers 200 while the store answers and 503 with a reason when it does not")
    func health() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let server = try await harness.server()
        let app = Application(router: server.router)
        try await app.test(.router) { client in
            let ok = try await client.execute(uri: "/api/health", method: .get)
            #expect(ok.status == .ok)
            #expect(String(buffer: ok.body).contains("\"ok\""))
            try await harness.store.close()
            let down = try await client.execute(uri: "/api/health", method: .get)
            #expect(down.status == .serviceUnavailable)
            // A reason for people, without the store's own error text (paths, driver messages).
            #expect(String(buffer: down.body) == "{\"status\":\"unavailable\",\"reason\":\"the store does not answer; the server log has the error\"}\n")
        }
    }

    @Test("over a real socket: the server answers health, verify and the login page")
    func live() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        let server = try await harness.server()
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), services: [server.sync])
        try await app.test(.live) { client in
            #expect(try await client.execute(uri: "/api/health", method: .get).status == .ok)
            let verify = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Requests.forwardAuth())
            #expect(verify.status == .found)
            var browser = Browser()
            let response = try await browser.logIn(client, code: harness.code())
            #expect(response.status == .seeOther)
            let cookie = browser.sessionCookie
            let allowed = try await client.verify(cookie: cookie)
            #expect(allowed.headers[HTTPField.Name("Remote-User")!] == "alice")
        }
    }
}

/// Polls `condition` every 20 ms for up to `seconds` (a bound on a starved machine, not a timing goal).
func waitUntil(seconds: Int = 5, _ condition: () async throws -> Bool) async throws {
    for _ in 0..<(seconds * 50) {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("the condition did not become true within \(seconds) s")
}
