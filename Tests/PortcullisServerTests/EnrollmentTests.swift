import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PortcullisCore
@testable import PortcullisServer
import PortcullisStore
import PortcullisTestSupport
import Testing

@Suite("invitation links: /enroll") struct EnrollmentTests {
    /// The secret the page shows as text, read back as a person would type it.
    static func shownSecret(_ page: TestResponse) throws -> [UInt8] {
        let html = Page.text(page)
        let start = try #require(html.range(of: "<p class=\"secret\">"))
        let text = html[start.upperBound...].prefix { $0 != "<" }.replacingOccurrences(of: " ", with: "")
        return try Base32.decode(text)
    }

    /// The sealed secret the form carries.
    static func pending(_ page: TestResponse) throws -> String {
        String(try #require(Page.text(page).firstMatch(of: /name="pending" value="([^"]+)"/)?.1))
    }

    /// A GET from a browser with no cookies.
    static func fresh(_ client: some TestClientProtocol, _ uri: String) async throws -> TestResponse {
        var browser = Browser()
        return try await browser.get(client, uri)
    }

    static func code(_ secret: [UInt8], at now: Int64, steps: Int64 = 0) -> String {
        OTPVerifier.code(for: TOTP.step(at: now, period: 30) + steps, secret: secret, parameters: OTPParameters())
    }

    static func codes(in page: TestResponse) -> [String] {
        let html = Page.text(page)
        guard let list = html.range(of: "<ol class=\"codes\">") else { return [] }
        return html[list.upperBound...].components(separatedBy: "<li>").dropFirst().map { String($0.prefix { $0 != "<" }) }
    }

    @Test("an invitation sets a password and a confirmed device, shows 10 recovery codes once and logs in; the link then stops working")
    func enrol() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let bob = try await harness.vault.addUser(UserRecord(name: "bob", createdAt: harness.clock.now), password: nil)
        let (token, _) = try await harness.vault.invite(bob, kind: .enroll, lifetime: 3600, at: harness.clock.now)
        try await harness.withRouter { client, _ in
            var browser = Browser()
            let form = try await browser.get(client, "/enroll?token=" + token)
            #expect(form.status == .ok && form.headers[.cacheControl] == "no-store")
            let html = Page.text(form)
            #expect(html.contains("<svg") && html.contains("role=\"img\" aria-label=\"QR code"))
            #expect(html.contains("autocomplete=\"new-password\"") && html.contains("minlength=\"8\""))
            let csp = try #require(form.headers[.contentSecurityPolicy])
            #expect(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"))
            let secret = try Self.shownSecret(form)
            #expect(secret.count == 20)
            let csrf = try #require(Page.csrfToken(form))
            let pending = try Self.pending(form)
            func post(_ fields: [(String, String)]) async throws -> TestResponse {
                try await browser.post(client, "/enroll", [("csrf", csrf), ("token", token), ("pending", pending)] + fields)
            }
            let now = harness.clock.now
            // Each mistake shows the form again, with what to fix; nothing is saved.
            let short = try await post([("password", "short"), ("password2", "short"), ("label", "Phone"), ("code", Self.code(secret, at: now))])
            #expect(short.status == .badRequest && Page.text(short).contains("at least 8 characters"))
            let differ = try await post([("password", "battery staple"), ("password2", "battery stapler"), ("label", "Phone"), ("code", Self.code(secret, at: now))])
            #expect(differ.status == .badRequest && Page.text(differ).contains("The two passwords differ"))
            let wrong = try await post([("password", "battery staple"), ("password2", "battery staple"), ("label", "Phone"), ("code", Self.code(secret, at: now, steps: 10))])
            #expect(wrong.status == .badRequest && Page.text(wrong).contains("clock looks"))
            let noLabel = try await post([("password", "battery staple"), ("password2", "battery staple"), ("label", " "), ("code", Self.code(secret, at: now))])
            #expect(noLabel.status == .badRequest && Page.text(noLabel).contains("Give the device a name"))
            #expect(try await harness.store.devices(ofUserID: bob.id).isEmpty)
            #expect(try await harness.store.user(named: "bob")?.passwordHash == nil)

            let done = try await post([("password", "battery staple"), ("password2", "battery staple"), ("label", "Pixel"), ("code", Self.code(secret, at: now))])
            #expect(done.status == .ok)
            let codes = Self.codes(in: done)
            #expect(codes.count == 10 && Set(codes).count == 10 && codes.allSatisfy { RecoveryCode.normalized($0) != nil })
            #expect(try await client.verify(cookie: browser.sessionCookie).status == .ok, "logged in")

            // The link is spent: the page and the form both say so, as for any unusable link.
            let spent = try await browser.get(client, "/enroll?token=" + token)
            let replayed = try await post([("password", "battery staple"), ("password2", "battery staple"), ("label", "Pixel"), ("code", Self.code(secret, at: now, steps: 1))])
            let unknown = try await Self.fresh(client, "/enroll?token=" + String(repeating: "A", count: 43))
            let mangled = try await Self.fresh(client, "/enroll?token=%00%ff" + String(repeating: "x", count: 5000))
            for response in [spent, replayed, unknown, mangled] {
                #expect(response.status == .notFound && Page.text(response).contains("This link cannot be used"))
            }

            // The new login works with the password and the app; the confirming code was used up.
            var later = Browser()
            #expect(try await later.logIn(client, username: "bob", password: "battery staple", code: Self.code(secret, at: now)).status == .unauthorized)
            var next = Browser()
            #expect(try await next.logIn(client, username: "bob", password: "battery staple", code: Self.code(secret, at: now, steps: 1)).status == .seeOther)
            var recovered = Browser()
            #expect(try await recovered.logIn(client, username: "bob", password: "battery staple", code: codes[0]).status == .seeOther)
        }
        let devices = try await harness.store.devices(ofUserID: bob.id)
        #expect(devices.map(\.label) == ["Pixel"])
        let audit = try await harness.store.auditEntries(userName: "bob", since: 0, limit: 50)
        #expect(audit.contains { $0.event == .enrolled && $0.reason.hasPrefix("enroll") })
    }

    @Test("expired links get the same page and status as unknown ones; a new invitation voids the old link")
    func expiredAndVoided() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let bob = try await harness.vault.addUser(UserRecord(name: "bob", createdAt: harness.clock.now), password: nil)
        let (first, _) = try await harness.vault.invite(bob, kind: .enroll, lifetime: 60, at: harness.clock.now)
        try await harness.withRouter { client, _ in
            #expect(try await Self.fresh(client, "/enroll?token=" + first).status == .ok)
            harness.clock.advance(59)
            #expect(try await Self.fresh(client, "/enroll?token=" + first).status == .ok)
            harness.clock.advance(1)
            let expired = try await Self.fresh(client, "/enroll?token=" + first)
            let unknown = try await Self.fresh(client, "/enroll")
            #expect(expired.status == .notFound && unknown.status == .notFound)
            // Same words (the nonce differs per page).
            let strip = { (page: TestResponse) in Page.text(page).replacingOccurrences(of: #"nonce="[^"]*""#, with: "", options: .regularExpression) }
            #expect(strip(expired) == strip(unknown))
            let (second, _) = try await harness.vault.invite(bob, kind: .enroll, lifetime: 60, at: harness.clock.now)
            let (third, _) = try await harness.vault.invite(bob, kind: .enroll, lifetime: 60, at: harness.clock.now)
            #expect(try await Self.fresh(client, "/enroll?token=" + second).status == .notFound)
            #expect(try await Self.fresh(client, "/enroll?token=" + third).status == .ok)
        }
        #expect(try await harness.store.purgeInvitations(before: harness.clock.now + 61) == 1)
    }

    @Test("a reset link asks for the password (counted by regulation), replaces every device and ends the user's sessions")
    func resetOTP() async throws {
        var configuration = GateHarness.exampleConfiguration()
        configuration.regulation.maxRetries = 5
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        _ = try await harness.vault.makeRecoveryCodes(for: alice, at: harness.clock.now)
        let (token, _) = try await harness.vault.invite(alice, kind: .resetOTP, lifetime: 3600, at: harness.clock.now)
        try await harness.withRouter { client, _ in
            var old = Browser()
            #expect(try await old.logIn(client, code: harness.code()).status == .seeOther)
            var browser = Browser()
            let form = try await browser.get(client, "/enroll?token=" + token)
            #expect(Page.text(form).contains("autocomplete=\"current-password\"") && !Page.text(form).contains("new-password"))
            let secret = try Self.shownSecret(form)
            let now = harness.clock.now
            let fields = { (password: String, step: Int64) in
                [("csrf", Page.csrfToken(form) ?? ""), ("token", token), ("pending", (try? Self.pending(form)) ?? ""), ("password", password), ("label", "New phone"), ("code", Self.code(secret, at: now, steps: step))]
            }
            let wrong = try await browser.post(client, "/enroll", fields("wrong horse", 0))
            #expect(wrong.status == .unauthorized && Page.text(wrong).contains("Incorrect password."))
            #expect(try await harness.store.devices(ofUserID: alice.id).map(\.label) == ["phone"], "nothing changed")
            let done = try await browser.post(client, "/enroll", fields("correct horse", 0))
            #expect(done.status == .ok && Self.codes(in: done).count == 10)
            #expect(try await client.verify(cookie: old.sessionCookie).status != .ok, "the old session ended")
            #expect(try await client.verify(cookie: browser.sessionCookie).status == .ok)
            var withOldPhone = Browser()
            #expect(try await withOldPhone.logIn(client, code: harness.code(steps: 1)).status == .unauthorized)
        }
        #expect(try await harness.store.devices(ofUserID: alice.id).map(\.label) == ["New phone"])
        let audit = try await harness.store.auditEntries(userName: "alice", since: 0, limit: 50)
        #expect(audit.contains { $0.event == .loginFailed && $0.reason == "bad_password" }, "the wrong password was counted")
        #expect(audit.contains { $0.event == .loginSucceeded && $0.reason == "reset_otp" })
    }

    @Test("two pages completing one link at once: exactly one succeeds")
    func race() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let bob = try await harness.vault.addUser(UserRecord(name: "bob", createdAt: harness.clock.now), password: nil)
        let (token, _) = try await harness.vault.invite(bob, kind: .enroll, lifetime: 3600, at: harness.clock.now)
        let (invitation, _) = try #require(try await harness.vault.openInvitation(token: token, at: harness.clock.now))
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<8 {
                group.addTask {
                    try await harness.vault.completeInvitation(invitation, password: "battery staple \(index)", secret: GateHarness.secret, deviceLabel: "Phone",
                                                               parameters: OTPParameters(), state: OTPDeviceState(lastAccepted: 1), at: harness.clock.now) != nil
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 1)
        #expect(try await harness.store.devices(ofUserID: bob.id).count == 1)
        #expect(try await harness.store.recoveryCodeCount(userID: bob.id) == 10)
    }

    @Test("each view of the page has a new secret, which only its own form can confirm: one seen earlier (a mail scanner, a proxy log) is never the one set up")
    func freshSecretPerView() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let bob = try await harness.vault.addUser(UserRecord(name: "bob", createdAt: harness.clock.now), password: nil)
        let carol = try await harness.vault.addUser(UserRecord(name: "carol", createdAt: harness.clock.now), password: nil)
        let (token, _) = try await harness.vault.invite(bob, kind: .enroll, lifetime: 7200, at: harness.clock.now)
        let (carolsToken, _) = try await harness.vault.invite(carol, kind: .enroll, lifetime: 3600, at: harness.clock.now)
        try await harness.withRouter { client, _ in
            var scanner = Browser()
            let seen = try Self.shownSecret(try await scanner.get(client, "/enroll?token=" + token))
            var browser = Browser()
            let form = try await browser.get(client, "/enroll?token=" + token)
            let secret = try Self.shownSecret(form)
            #expect(secret != seen)
            let html = Page.text(form)
            let pending = try #require(html.firstMatch(of: /name="pending" value="([^"]+)"/)?.1)
            let carols = try await browser.get(client, "/enroll?token=" + carolsToken)
            let carolsPending = try #require(Page.text(carols).firstMatch(of: /name="pending" value="([^"]+)"/)?.1)
            let now = harness.clock.now
            func post(pending: some StringProtocol, code: String) async throws -> TestResponse {
                try await browser.post(client, "/enroll", [("csrf", Page.csrfToken(form) ?? ""), ("token", token), ("pending", String(pending)),
                                                           ("password", "battery staple"), ("password2", "battery staple"), ("label", "Phone"), ("code", code)])
            }
            // Another link's secret, or the earlier view's code, sets up nothing.
            let swapped = try await post(pending: carolsPending, code: Self.code(secret, at: now))
            #expect(swapped.status == .badRequest && Page.text(swapped).contains("open too long"))
            #expect(try await post(pending: pending, code: Self.code(seen, at: now)).status == .badRequest)
            // An hour later the page's secret has expired; the page shows a new one.
            harness.clock.advance(Portal.pendingSecretLifetime)
            let stale = try await post(pending: pending, code: Self.code(secret, at: harness.clock.now))
            #expect(stale.status == .badRequest)
            #expect(try Self.shownSecret(stale) != secret)
            #expect(try await harness.store.devices(ofUserID: bob.id).isEmpty)
        }
    }

    @Test("another site's form, a missing CSRF token, a disabled user, and markup in what was typed")
    func refusals() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let bob = try await harness.vault.addUser(UserRecord(name: "bob", createdAt: harness.clock.now), password: nil)
        let (token, _) = try await harness.vault.invite(bob, kind: .enroll, lifetime: 3600, at: harness.clock.now)
        try await harness.withRouter { client, _ in
            var browser = Browser()
            let form = try await browser.get(client, "/enroll?token=" + token)
            let pending = String(try #require(Page.text(form).firstMatch(of: /name="pending" value="([^"]+)"/)?.1))
            let fields = [("token", token), ("pending", pending), ("password", "battery staple"), ("password2", "battery staple"),
                          ("label", "<script>alert(1)</script>"), ("code", "000000")]
            let crossSite = try await browser.post(client, "/enroll", [("csrf", Page.csrfToken(form) ?? "")] + fields,
                                                   extra: [HTTPField.Name("Sec-Fetch-Site")!: "cross-site"])
            #expect(crossSite.status == .forbidden && Page.text(crossSite).contains("another site"))
            let noToken = try await browser.post(client, "/enroll", fields)
            #expect(noToken.status == .forbidden && Page.text(noToken).contains("The form expired"))
            let escaped = try await browser.post(client, "/enroll", [("csrf", Page.csrfToken(form) ?? "")] + fields)
            #expect(escaped.status == .badRequest && !Page.text(escaped).contains("<script>") && Page.text(escaped).contains("&lt;script&gt;"))
            var disabled = bob
            disabled.disabled = true
            try await harness.store.updateUser(disabled)
            #expect(try await Self.fresh(client, "/enroll?token=" + token).status == .notFound)
        }
        #expect(try await harness.store.devices(ofUserID: bob.id).isEmpty)
    }

    @Test("with auth.mode otp_only the page asks for no password, and the session is of the code")
    func otpOnly() async throws {
        var configuration = GateHarness.exampleConfiguration()
        configuration.authMode = .otpOnly
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        let bob = try await harness.vault.addUser(UserRecord(name: "bob", createdAt: harness.clock.now), password: nil)
        let (token, _) = try await harness.vault.invite(bob, kind: .enroll, lifetime: 3600, at: harness.clock.now)
        try await harness.withRouter { client, _ in
            var browser = Browser()
            let form = try await browser.get(client, "/enroll?token=" + token)
            #expect(!Page.text(form).contains("type=\"password\""))
            let secret = try Self.shownSecret(form)
            let done = try await browser.post(client, "/enroll", [("csrf", Page.csrfToken(form) ?? ""), ("token", token), ("pending", try Self.pending(form)),
                                                                  ("label", "Phone"), ("code", Self.code(secret, at: harness.clock.now))])
            #expect(done.status == .ok && Self.codes(in: done).count == 10)
            #expect(try await client.verify(cookie: browser.sessionCookie).status == .ok)
        }
        #expect(try await harness.store.user(named: "bob")?.passwordHash == nil)
        let sessions = try await harness.store.liveSessions(userID: bob.id, at: harness.clock.now)
        #expect(sessions.map(\.0.authLevel) == [AuthLevel.code.rawValue])
    }

    @Test("a browser already logged in as someone else: that session ends when the invitation logs the new person in")
    func sharedBrowser() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        let bob = try await harness.vault.addUser(UserRecord(name: "bob", createdAt: harness.clock.now), password: nil)
        let (token, _) = try await harness.vault.invite(bob, kind: .enroll, lifetime: 3600, at: harness.clock.now)
        try await harness.withRouter { client, _ in
            var browser = Browser()
            #expect(try await browser.logIn(client, code: harness.code()).status == .seeOther)
            let alices = browser.sessionCookie
            let form = try await browser.get(client, "/enroll?token=" + token)
            let secret = try Self.shownSecret(form)
            let done = try await browser.post(client, "/enroll", [("csrf", Page.csrfToken(form) ?? ""), ("token", token), ("pending", try Self.pending(form)),
                                                                  ("password", "battery staple"), ("password2", "battery staple"), ("label", "Phone"),
                                                                  ("code", Self.code(secret, at: harness.clock.now))])
            #expect(done.status == .ok)
            #expect(try await client.verify(cookie: alices).status != .ok, "alice's session ended")
            #expect(try await client.verify(cookie: browser.sessionCookie).status == .ok)
        }
        #expect(try await harness.store.liveSessions(userID: alice.id, at: harness.clock.now).isEmpty)
    }
}
