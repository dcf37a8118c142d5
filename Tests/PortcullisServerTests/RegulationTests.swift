import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PortcullisCore
import PortcullisServer
import PortcullisStore
import Testing

@Suite("throttling, lockout and audit") struct RegulationTests {
    static func configuration(_ policy: RegulationPolicy) -> Configuration {
        var configuration = GateHarness.exampleConfiguration()
        configuration.regulation = policy
        return configuration
    }

    /// Runs `body` with a router whose server logs into `capture`.
    func withServer(_ harness: GateHarness, _ capture: LogCapture, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let server = try await harness.server(logger: capture.logger)
        try await Application(router: server.router).test(.router) { client in try await body(client) }
    }

    @Test("an address that keeps failing gets 429 with Retry-After, even with the right credentials, until the ban ends")
    func addressBan() async throws {
        let harness = try await GateHarness.make(Self.configuration(RegulationPolicy(maxRetries: 3, findTime: 600, banTime: 900, maxOTPFailures: 0)))
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        let capture = LogCapture()
        try await withServer(harness, capture) { client in
            var browser = Browser()
            let from: HTTPFields = [HTTPField.Name("X-Forwarded-For")!: "203.0.113.7"]
            func attempt(_ user: String, _ code: String) async throws -> TestResponse {
                let page = try await browser.get(client, "/login")
                return try await browser.post(client, "/login", [("csrf", Page.csrfToken(page)!), ("username", user), ("password", "guess"), ("code", code)], extra: from)
            }
            #expect(try await attempt("root", "123456").status == .unauthorized)
            #expect(try await attempt("admin", "123456").status == .unauthorized)
            let third = try await attempt("alice", "123456")
            #expect(third.status == .tooManyRequests)
            #expect(third.headers[.retryAfter] == "900")
            #expect(Page.text(third).contains("Try again in 15 minutes."))
            harness.clock.advance(300)
            let page = try await browser.get(client, "/login")
            let good = try await browser.post(client, "/login", [("csrf", Page.csrfToken(page)!), ("username", "alice"), ("password", "correct horse"), ("code", harness.code())], extra: from)
            #expect(good.status == .tooManyRequests)
            #expect(good.headers[.retryAfter] == "600")
            #expect(browser.cookies["portcullis_session"] == nil)
            harness.clock.advance(600)
            let after = try await browser.post(client, "/login", [("csrf", Page.csrfToken(page)!), ("username", "alice"), ("password", "correct horse"), ("code", harness.code())], extra: from)
            #expect(after.status == .seeOther)
        }
        let reasons = try await harness.store.auditEntries(userName: nil, since: 0, limit: 100).map { "\($0.event.rawValue):\($0.reason)" }
        #expect(reasons.contains("login_failed:unknown_user"))
        #expect(reasons.contains("login_failed:bad_password"))
        #expect(reasons.contains("banned:3 failures within 600 s"))
        #expect(reasons.contains("login_failed:banned"))
        #expect(reasons.last == "login_succeeded:form")
    }

    @Test("a user name that keeps failing is banned from every address")
    func userBan() async throws {
        let harness = try await GateHarness.make(Self.configuration(RegulationPolicy(maxRetries: 3, findTime: 600, banTime: 900, maxOTPFailures: 0)))
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await withServer(harness, LogCapture()) { client in
            for (index, status) in [HTTPResponse.Status.unauthorized, .unauthorized, .tooManyRequests, .tooManyRequests].enumerated() {
                var browser = Browser()
                let page = try await browser.get(client, "/login")
                let response = try await browser.post(client, "/login", [("csrf", Page.csrfToken(page)!), ("username", "alice"), ("password", "guess \(index)"), ("code", "000000")],
                                                      extra: [HTTPField.Name("X-Forwarded-For")!: "198.51.100.\(index + 1)"])
                #expect(response.status == status, "attempt \(index + 1)")
            }
        }
    }

    @Test("guesses in an hour, per user name and per address, are what the policy allows: max_retries per (ban_time + the time to make them)",
          arguments: [BanKind.user, .ip])
    func guessesPerHour(kind: BanKind) async throws {
        let policy = RegulationPolicy(maxRetries: 3, findTime: 600, banTime: 900, maxOTPFailures: 0)
        let harness = try await GateHarness.make(Self.configuration(policy))
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        let step: Int64 = 10
        let server = try await harness.server()
        let guesses = try await Application(router: server.router).test(.router) { client in
            var browser = Browser()
            let page = try await browser.get(client, "/login")
            let token = Page.csrfToken(page)!
            var made = 0
            let start = harness.clock.now
            var attempt = 0
            while harness.clock.now < start + 3600 {
                attempt += 1
                // Vary the other key every time, so only the one under test is counted.
                let address = kind == .user ? "10.0.\(attempt / 250).\(attempt % 250 + 1)" : "203.0.113.9"
                let name = kind == .user ? "alice" : "user\(attempt)"
                let response = try await browser.post(client, "/login", [("csrf", token), ("username", name), ("password", "guess"), ("code", "000000")],
                                                      extra: [HTTPField.Name("X-Forwarded-For")!: address])
                if response.status == .unauthorized { made += 1 }
                // The failure that starts a ban is answered with 429, and it was a guess too.
                if response.status == .tooManyRequests, response.headers[.retryAfter] == String(policy.banTime) { made += 1 }
                harness.clock.advance(step)
            }
            return made
        }
        // Each cycle: max_retries guesses (taking (max_retries - 1) × step seconds), then ban_time.
        let cycle = Int64(policy.maxRetries - 1) * step + policy.banTime
        let cycles = Int((3600 + cycle - 1) / cycle)
        #expect(guesses == cycles * policy.maxRetries, "guesses in an hour")
        #expect(guesses == 12)
    }

    @Test("two logins racing with the same code: exactly one wins")
    func racingLogins() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        let server = try await harness.server()
        try await Application(router: server.router).test(.router) { client in
            for round in 0..<5 {
                // Each round a fresh code (a later step), tried by 4 browsers at once.
                harness.clock.advance(30)
                let code = harness.code()
                var prepared: [(Browser, String)] = []
                for _ in 0..<4 {
                    var browser = Browser()
                    let page = try await browser.get(client, "/login")
                    prepared.append((browser, Page.csrfToken(page)!))
                }
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for (browser, token) in prepared {
                        group.addTask {
                            var browser = browser
                            return try await browser.post(client, "/login", [("csrf", token), ("username", "alice"), ("password", "correct horse"), ("code", code)]).status
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == .seeOther }.count == 1, "round \(round): \(statuses)")
                // The others are refused as replays, or (when their turn did not come in time) told to retry.
                #expect(statuses.filter { $0 == .unauthorized || $0 == .serviceUnavailable }.count == 3, "round \(round): \(statuses)")
            }
        }
        let audit = try await harness.store.auditEntries(userName: "alice", since: 0, limit: 100)
        #expect(audit.filter { $0.event == .loginSucceeded }.count == 5)
        #expect(audit.filter { $0.reason == "replayed_otp" }.count <= 15)
    }

    @Test("wrong codes with the right password lock the user; the lock says so to the right password only, and holds until unlocked")
    func lockout() async throws {
        let harness = try await GateHarness.make(Self.configuration(RegulationPolicy(maxRetries: 100, findTime: 600, banTime: 900, maxOTPFailures: 3)))
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        let capture = LogCapture()
        try await withServer(harness, capture) { client in
            func attempt(password: String, code: String) async throws -> TestResponse {
                var browser = Browser()
                return try await browser.logIn(client, password: password, code: code)
            }
            let wrong = harness.code() == "000000" ? "111111" : "000000"
            // Wrong passwords do not count toward the lockout; a good login in between resets the count.
            for _ in 0..<5 { #expect(try await attempt(password: "nope", code: wrong).status == .unauthorized) }
            for _ in 0..<2 { #expect(try await attempt(password: "correct horse", code: wrong).status == .unauthorized) }
            #expect(try await attempt(password: "correct horse", code: harness.code()).status == .seeOther)
            for _ in 0..<3 { #expect(try await attempt(password: "correct horse", code: wrong).status == .unauthorized) }
            harness.clock.advance(30)
            let locked = try await attempt(password: "correct horse", code: harness.code())
            #expect(locked.status == .forbidden)
            #expect(Page.text(locked).contains("This account is locked"))
            let stranger = try await attempt(password: "nope", code: harness.code())
            #expect(stranger.status == .unauthorized)
            #expect(!Page.text(stranger).contains("locked"))
            #expect(try await harness.store.unlock(userID: alice.id))
            #expect(try await attempt(password: "correct horse", code: harness.code()).status == .seeOther)
        }
        let log = capture.all
        #expect(log.contains { $0.hasPrefix("warning locked user=alice") })
        #expect(log.contains("notice authentication failed user=alice client_ip=127.0.0.1 reason=bad_otp"))
        #expect(log.contains("notice authentication failed user=alice client_ip=127.0.0.1 reason=locked"))
        #expect(log.contains("info authentication succeeded user=alice client_ip=127.0.0.1 method=form"))
        let audit = try await harness.store.auditEntries(userName: "alice", since: 0, limit: 100)
        #expect(audit.contains { $0.event == .locked })
    }

    @Test("no password, code or secret appears in any log line or audit entry")
    func noSecretsLogged() async throws {
        let harness = try await GateHarness.make(Self.configuration(RegulationPolicy(maxRetries: 3, findTime: 600, banTime: 900, maxOTPFailures: 2)))
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        let capture = LogCapture()
        let secrets = ["correct horse", "hunter2-password", "987654", harness.code()]
        try await withServer(harness, capture) { client in
            var browser = Browser()
            _ = try await browser.logIn(client, password: "hunter2-password", code: "987654")
            _ = try await browser.logIn(client, password: "correct horse", code: "987654")
            _ = try await browser.logIn(client, password: "correct horse", code: harness.code())
            let page = try await browser.get(client, "/logout")
            _ = try await browser.post(client, "/logout", [("csrf", Page.csrfToken(page)!)])
            for _ in 0..<3 { _ = try await browser.logIn(client, username: "ghost", password: "hunter2-password", code: "987654") }
        }
        let audit = try await harness.store.auditEntries(userName: nil, since: 0, limit: 100)
        #expect(audit.map(\.event).contains(.logout))
        #expect(audit.map(\.event).contains(.loginSucceeded))
        let text = capture.all.joined(separator: "\n") + audit.map { "\($0.userName) \($0.clientIP) \($0.reason)" }.joined(separator: "\n")
        #expect(capture.all.filter { $0.contains("authentication failed") }.count >= 4)
        for secret in secrets {
            #expect(!text.contains(secret), "\(secret) was logged")
        }
    }
}
