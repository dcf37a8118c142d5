import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PortcullisCore
import PortcullisServer
import PortcullisStore
import Testing

/// Attacks on regulation the way an attacker makes them: many requests at once, rotating addresses,
/// names that are no user's. Each failed on the code before regulation counted attempts up front.
@Suite("regulation under attack") struct RegulationAttackTests {
    static func configuration(_ policy: RegulationPolicy, mode: AuthMode = .passwordAndOTP) -> Configuration {
        var configuration = GateHarness.exampleConfiguration()
        configuration.regulation = policy
        configuration.authMode = mode
        return configuration
    }

    static func forwarded(_ address: String) -> HTTPFields { [HTTPField.Name("X-Forwarded-For")!: address] }

    /// Failed logins whose password or code was checked (refusals of a banned or busy key are not).
    static func checkedFailures(_ harness: GateHarness) async throws -> [AuditEntry] {
        try await harness.store.auditEntries(userName: nil, since: 0, limit: 10_000)
            .filter { $0.event == .loginFailed && !$0.reason.hasPrefix("banned") }
    }

    /// Posts `count` login forms at once, each from its own browser; returns the statuses.
    static func concurrentLogins(_ client: some TestClientProtocol, count: Int, form: @escaping @Sendable (Int) -> (name: String, password: String, code: String, from: String)) async throws -> [HTTPResponse.Status] {
        var prepared: [(Browser, String)] = []
        for _ in 0..<count {
            var browser = Browser()
            let page = try await browser.get(client, "/login")
            prepared.append((browser, Page.csrfToken(page)!))
        }
        return try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
            for (index, (browser, token)) in prepared.enumerated() {
                group.addTask {
                    var browser = browser
                    let attempt = form(index)
                    return try await browser.post(client, "/login", [("csrf", token), ("username", attempt.name), ("password", attempt.password), ("code", attempt.code)],
                                                  extra: forwarded(attempt.from)).status
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    @Test("60 concurrent wrong logins from one address check no more passwords than max_retries")
    func concurrentWrongLoginsFromOneAddress() async throws {
        let harness = try await GateHarness.make(Self.configuration(RegulationPolicy(maxRetries: 5, findTime: 600, banTime: 900, maxOTPFailures: 0)))
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        let server = try await harness.server()
        let statuses = try await Application(router: server.router).test(.router) { client in
            try await Self.concurrentLogins(client, count: 60) { index in ("user\(index)", "guess", "000000", "203.0.113.7") }
        }
        let checked = try await Self.checkedFailures(harness)
        #expect(checked.count <= 5, "passwords checked: \(checked.count)")
        #expect(checked.count >= 1)
        #expect(!statuses.contains(.internalServerError))
        #expect(statuses.allSatisfy { [.unauthorized, .tooManyRequests, .serviceUnavailable].contains($0) }, "\(statuses)")
    }

    @Test("a burst of wrong codes with the right password, from many addresses, cannot outrun the lockout")
    func concurrentWrongCodesCannotOutrunLockout() async throws {
        let harness = try await GateHarness.make(Self.configuration(RegulationPolicy(maxRetries: 1000, findTime: 600, banTime: 900, maxOTPFailures: 3)))
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        let wrong = harness.code() == "000000" ? "111111" : "000000"
        let server = try await harness.server()
        _ = try await Application(router: server.router).test(.router) { client in
            try await Self.concurrentLogins(client, count: 20) { index in ("alice", "correct horse", wrong, "198.51.100.\(index + 1)") }
        }
        let codesChecked = try await Self.checkedFailures(harness).filter { $0.reason == "bad_otp" }
        #expect(codesChecked.count <= 3, "codes checked: \(codesChecked.count)")
        // Those that did not get their turn in time were told to retry; more wrong codes lock at exactly the third.
        try await Application(router: server.router).test(.router) { client in
            var attempts = 0
            while try await harness.store.lockedAt(userID: alice.id) == nil, attempts < 5 {
                attempts += 1
                var browser = Browser()
                _ = try await browser.logIn(client, password: "correct horse", code: wrong)
            }
        }
        #expect(try await harness.store.lockedAt(userID: alice.id) != nil)
        #expect(try await Self.checkedFailures(harness).filter { $0.reason == "bad_otp" }.count == 3)
    }

    @Test("concurrent wrong Basic credentials check no more than max_retries, and answer 429 or 503, never 500")
    func concurrentBasic() async throws {
        let harness = try await GateHarness.make(Self.configuration(RegulationPolicy(maxRetries: 4, findTime: 600, banTime: 900, maxOTPFailures: 0)))
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        let server = try await harness.server()
        let statuses = try await Application(router: server.router).test(.router) { client in
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for attempt in 0..<30 {
                    group.addTask {
                        var fields = Requests.forwardAuth(accept: "*/*", forwardedFor: "192.0.2.\(attempt + 1)")
                        fields[.authorization] = BasicAuthTests.basic("alice", "guess\(attempt)123456")
                        return try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: fields).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        let checked = try await Self.checkedFailures(harness)
        #expect(checked.count <= 4, "credentials checked: \(checked.count)")
        #expect(statuses.allSatisfy { [.unauthorized, .tooManyRequests, .serviceUnavailable].contains($0) }, "\(statuses)")
    }

    @Test("IPv6 clients are banned by their /64: rotating addresses inside it does not reset the count")
    func ipv6Prefix() async throws {
        let harness = try await GateHarness.make(Self.configuration(RegulationPolicy(maxRetries: 3, findTime: 600, banTime: 900, maxOTPFailures: 0)))
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        let server = try await harness.server()
        try await Application(router: server.router).test(.router) { client in
            let statuses = try await (1...3).asyncMap { index in
                var browser = Browser()
                let page = try await browser.get(client, "/login")
                return try await browser.post(client, "/login", [("csrf", Page.csrfToken(page)!), ("username", "name\(index)"), ("password", "x"), ("code", "1")],
                                              extra: Self.forwarded("2001:db8:1:2::\(index)")).status
            }
            #expect(statuses == [.unauthorized, .unauthorized, .tooManyRequests])
            var browser = Browser()
            let page = try await browser.get(client, "/login")
            let good = try await browser.post(client, "/login", [("csrf", Page.csrfToken(page)!), ("username", "alice"), ("password", "correct horse"), ("code", harness.code())],
                                              extra: Self.forwarded("2001:db8:1:2:ffff:1:2:3"))
            #expect(good.status == .tooManyRequests, "another address in the same /64 is banned")
            let elsewhere = try await browser.post(client, "/login", [("csrf", Page.csrfToken(page)!), ("username", "alice"), ("password", "correct horse"), ("code", harness.code())],
                                                   extra: Self.forwarded("2001:db8:1:3::1"))
            #expect(elsewhere.status == .seeOther, "the next /64 is not")
        }
        #expect(try await harness.store.activeBans(at: harness.clock.now).map(\.value) == ["2001:db8:1:2::/64"])
    }

    @Test("otp_only: a stranger's wrong codes from many addresses never lock the user, and keep them out at most ban_time")
    func otpOnlyNoPermanentLock() async throws {
        let policy = RegulationPolicy(maxRetries: 3, findTime: 600, banTime: 900, maxOTPFailures: 10)
        let harness = try await GateHarness.make(Self.configuration(policy, mode: .otpOnly))
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice", password: nil)
        let wrong = harness.code() == "000000" ? "111111" : "000000"
        let server = try await harness.server()
        try await Application(router: server.router).test(.router) { client in
            // With one user the form sends no name; the count is kept under the user's name all the same.
            for index in 0..<12 {
                var browser = Browser()
                let page = try await browser.get(client, "/login")
                _ = try await browser.post(client, "/login", [("csrf", Page.csrfToken(page)!), ("code", wrong)], extra: Self.forwarded("10.9.0.\(index + 1)"))
            }
            #expect(try await harness.store.lockedAt(userID: alice.id) == nil, "no permanent lock in otp_only mode")
            #expect(try await Self.checkedFailures(harness).filter { $0.reason == "bad_otp" }.count == 3, "the name's ban stopped the guessing")
            var browser = Browser()
            let page = try await browser.get(client, "/login")
            let during = try await browser.post(client, "/login", [("csrf", Page.csrfToken(page)!), ("code", harness.code())], extra: Self.forwarded("172.16.0.1"))
            #expect(during.status == .tooManyRequests)
            let retryAfter = Int64(during.headers[.retryAfter] ?? "") ?? .max
            #expect(retryAfter <= policy.banTime)
            harness.clock.advance(retryAfter + 30)
            let after = try await browser.post(client, "/login", [("csrf", Page.csrfToken(page)!), ("code", harness.code())], extra: Self.forwarded("172.16.0.1"))
            #expect(after.status == .seeOther, "after ban_time the user logs in")
        }
    }

    @Test("a banned client that keeps knocking writes one log line and one audit entry a minute, with a count")
    func refusalsAreAggregated() async throws {
        let harness = try await GateHarness.make(Self.configuration(RegulationPolicy(maxRetries: 2, findTime: 600, banTime: 900, maxOTPFailures: 0)))
        defer { Task { await harness.close() } }
        let capture = LogCapture()
        let server = try await harness.server(logger: capture.logger)
        try await Application(router: server.router).test(.router) { client in
            var browser = Browser()
            let page = try await browser.get(client, "/login")
            let token = Page.csrfToken(page)!
            for round in 0..<2 {
                for attempt in 0..<50 {
                    let response = try await browser.post(client, "/login", [("csrf", token), ("username", "u\(attempt)"), ("password", "x"), ("code", "1")], extra: Self.forwarded("203.0.113.99"))
                    if round + attempt > 1 { #expect(response.status == .tooManyRequests) }
                }
                harness.clock.advance(61)
            }
        }
        let banned = try await harness.store.auditEntries(userName: nil, since: 0, limit: 1000).filter { $0.reason.hasPrefix("banned") && $0.event == .loginFailed }
        #expect(banned.map(\.reason) == ["banned", "banned:48"], "\(banned.map(\.reason))")
        let lines = capture.all.filter { $0.contains("reason=banned") }
        #expect(lines.count == 2)
        #expect(lines.last?.hasSuffix("client_ip=203.0.113.99 reason=banned:48") == true, "\(lines)")
    }

    @Test("a password typed into the name field is never written: names that are no user's are pseudonyms")
    func unknownNamesArePseudonyms() async throws {
        let harness = try await GateHarness.make(Self.configuration(RegulationPolicy(maxRetries: 2, findTime: 600, banTime: 900, maxOTPFailures: 0)))
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        let capture = LogCapture()
        let server = try await harness.server(logger: capture.logger)
        try await Application(router: server.router).test(.router) { client in
            for _ in 0..<3 {
                var browser = Browser()
                _ = try await browser.logIn(client, username: "Tr0ub4dor-3", password: "", code: "123456")
            }
        }
        let audit = try await harness.store.auditEntries(userName: nil, since: 0, limit: 100)
        let bans = try await harness.store.activeBans(at: harness.clock.now)
        let everything = capture.all.joined(separator: "\n") + audit.map { "\($0.userName) \($0.reason)" }.joined(separator: "\n") + bans.map(\.value).joined()
        #expect(!everything.lowercased().contains("tr0ub4dor"))
        let pseudonym = harness.vault.pseudonyms.of("Tr0ub4dor-3")
        #expect(audit.first?.userName == pseudonym)
        #expect(bans.contains { $0.kind == .user && $0.value == pseudonym }, "the name is still banned, under its pseudonym")
        #expect(capture.all.contains { $0.contains("authentication failed user=\(pseudonym) client_ip=127.0.0.1 reason=unknown_user") })
    }

    @Test("a locked account says so only to someone who gave the right password")
    func lockedOnlyAfterRightPassword() async throws {
        let harness = try await GateHarness.make(Self.configuration(RegulationPolicy(maxRetries: 100, findTime: 600, banTime: 900, maxOTPFailures: 1)))
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        let wrong = harness.code() == "000000" ? "111111" : "000000"
        let server = try await harness.server()
        try await Application(router: server.router).test(.router) { client in
            var browser = Browser()
            _ = try await browser.logIn(client, password: "correct horse", code: wrong)
            #expect(try await harness.store.lockedAt(userID: alice.id) != nil)
            let stranger = try await browser.logIn(client, password: "not it", code: harness.code())
            #expect(stranger.status == .unauthorized)
            #expect(Page.text(stranger).contains("Incorrect username, password or code."))
            #expect(!Page.text(stranger).contains("locked"))
            let owner = try await browser.logIn(client, password: "correct horse", code: harness.code())
            #expect(owner.status == .forbidden)
            #expect(Page.text(owner).contains("This account is locked"))
        }
    }

    @Test("after the right password: a replayed code and a drifted clock are named; before it, every failure reads the same")
    func hintsAfterRightPassword() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        let server = try await harness.server()
        try await Application(router: server.router).test(.router) { client in
            var browser = Browser()
            let code = harness.code()
            #expect(try await browser.logIn(client, code: code).status == .seeOther)
            var other = Browser()
            let replay = try await other.logIn(client, code: code)
            #expect(Page.text(replay).contains("That code was already used"))
            let strangerReplay = try await other.logIn(client, password: "wrong", code: code)
            #expect(Page.text(strangerReplay).contains("Incorrect username, password or code."))
            // A code from 4 minutes ahead (8 steps): outside the window, within ten minutes.
            let ahead = try await other.logIn(client, code: harness.code(steps: 8))
            #expect(Page.text(ahead).contains("your device&#39;s clock looks 4 minutes ahead") || Page.text(ahead).contains("your device's clock looks 4 minutes ahead"), "\(Page.text(ahead))")
            let strangerAhead = try await other.logIn(client, password: "wrong", code: harness.code(steps: -8))
            #expect(!Page.text(strangerAhead).contains("clock"))
        }
    }
}

extension Sequence {
    /// Maps in order, awaiting each element.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
