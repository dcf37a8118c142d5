import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PortcullisCore
@testable import PortcullisServer
import PortcullisStore
import PortcullisTestSupport
import Testing

@Suite("the account page") struct AccountTests {
    /// Posts an account form with the page's CSRF token.
    static func change(_ browser: inout Browser, _ client: some TestClientProtocol, _ path: String, _ fields: [(String, String)] = []) async throws -> TestResponse {
        let page = try await browser.get(client, "/account")
        return try await browser.post(client, path, [("csrf", Page.csrfToken(page) ?? "")] + fields)
    }

    @Test("nobody logged in is sent to log in; a fresh login shows everything and may change it; after 5 minutes changes need a code, which renews the session")
    func recentSecondFactor() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        _ = try await harness.addUser("alice")
        try await harness.withRouter { client, _ in
            var stranger = Browser()
            let away = try await stranger.get(client, "/account")
            #expect(away.status == .found && away.headers[.location] == "/login?rd=" + FormFields.encode("https://auth.example.com/account"))

            var browser = Browser()
            #expect(try await browser.logIn(client, code: harness.code()).status == .seeOther)
            let page = try await browser.get(client, "/account")
            let html = Page.text(page)
            #expect(page.status == .ok && page.headers[.cacheControl] == "no-store")
            #expect(html.contains("Alice Example (alice)") && html.contains("<td>phone</td>") && html.contains("You have 0 recovery codes left."))
            #expect(html.contains("action=\"/account/password\"") && html.contains("this browser") && !html.contains("action=\"/account/confirm\""))

            harness.clock.advance(Portal.recentFactorWindow)
            let later = Page.text(try await browser.get(client, "/account"))
            #expect(later.contains("action=\"/account/confirm\"") && !later.contains("action=\"/account/password\""))
            let refused = try await Self.change(&browser, client, "/account/recovery-codes")
            #expect(refused.status == .forbidden && Page.text(refused).contains("Changes need a code from the last 5 minutes"))
            #expect(try await harness.store.recoveryCodeCount(userID: 1) == 0)

            let wrong = try await Self.change(&browser, client, "/account/confirm", [("code", "000000")])
            #expect(wrong.status == .unauthorized && Page.text(wrong).contains("Incorrect code."))
            let old = browser.sessionCookie
            let confirmed = try await Self.change(&browser, client, "/account/confirm", [("code", harness.code(steps: 1))])
            #expect(confirmed.status == .seeOther && confirmed.headers[.location] == "/account?done=confirmed")
            #expect(browser.sessionCookie != old)
            #expect(try await client.verify(cookie: old).status != .ok, "the old session id ended")
            #expect(try await client.verify(cookie: browser.sessionCookie).status == .ok)
            let after = Page.text(try await browser.get(client, "/account?done=confirmed"))
            #expect(after.contains("Confirmed. You can make changes") && after.contains("action=\"/account/password\""))
            // The notice is chosen from fixed words; anything else in the address shows nothing.
            let injected = Page.text(try await browser.get(client, "/account?done=%3Cscript%3E"))
            #expect(!injected.contains("<script") && !injected.contains("&lt;script") && !injected.contains("class=\"notice\""))
        }
        let audit = try await harness.store.auditEntries(userName: "alice", since: 0, limit: 50)
        #expect(audit.contains { $0.event == .loginFailed && $0.reason == "bad_otp" }, "the wrong code counts like a login's")
        #expect(audit.contains { $0.event == .loginSucceeded && $0.reason == "account_confirm" })
    }

    @Test("a second device is added with a code from it (also after the 5 minutes, once), renamed, used to log in, and removed; the last one cannot be removed")
    func devices() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        let bob = try await harness.addUser("bob")
        try await harness.withRouter { client, _ in
            var browser = Browser()
            #expect(try await browser.logIn(client, code: harness.code()).status == .seeOther)
            let last = try await Self.change(&browser, client, "/account/devices/remove", [("label", "phone")])
            #expect(last.status == .conflict && Page.text(last).contains("only device"))

            let form = try await browser.get(client, "/account/devices/new")
            #expect(form.status == .ok && Page.text(form).contains("<svg"))
            let secret = try EnrollmentTests.shownSecret(form)
            let fields = { (label: String, code: String) in
                [("csrf", Page.csrfToken(form) ?? ""), ("pending", (try? EnrollmentTests.pending(form)) ?? ""), ("label", label), ("code", code)]
            }
            let now = harness.clock.now
            let taken = try await browser.post(client, "/account/devices/new", fields("PHONE", EnrollmentTests.code(secret, at: now)))
            #expect(taken.status == .badRequest && Page.text(taken).contains("named “PHONE” already"))
            let wrong = try await browser.post(client, "/account/devices/new", fields("Tablet", EnrollmentTests.code(secret, at: now, steps: 9)))
            #expect(wrong.status == .badRequest)
            // Scanning took longer than the 5 minutes: the form still works (it was given to a session with a recent code).
            harness.clock.advance(Portal.recentFactorWindow)
            let later = harness.clock.now
            let added = try await browser.post(client, "/account/devices/new", fields("Tablet", EnrollmentTests.code(secret, at: later)))
            #expect(added.status == .seeOther && added.headers[.location] == "/account?done=device_added")
            // The same form sent again makes no second device of the same secret.
            let twice = try await browser.post(client, "/account/devices/new", fields("Tablet 2", EnrollmentTests.code(secret, at: later, steps: 1)))
            #expect(twice.status == .ok && Page.text(twice).contains("added already, as “Tablet”"))
            // Another user's session cannot use this user's form.
            var bobs = Browser()
            #expect(try await bobs.logIn(client, username: "bob", code: harness.code()).status == .seeOther)
            let stolen = try await bobs.post(client, "/account/devices/new", [("csrf", Page.csrfToken(try await bobs.get(client, "/account")) ?? "")]
                                             + fields("Stolen", EnrollmentTests.code(secret, at: later, steps: 1)).dropFirst())
            #expect(stolen.status == .badRequest)
            #expect(try await harness.store.devices(ofUserID: bob.id).count == 1)

            // Renaming and removing need a recent code again.
            #expect(try await Self.change(&browser, client, "/account/confirm", [("code", harness.code())]).status == .seeOther)
            let renamed = try await Self.change(&browser, client, "/account/devices/rename", [("label", "tablet"), ("new_label", "iPad")])
            #expect(renamed.status == .seeOther)
            let clash = try await Self.change(&browser, client, "/account/devices/rename", [("label", "iPad"), ("new_label", "Phone")])
            #expect(clash.status == .badRequest)
            var withTablet = Browser()
            #expect(try await withTablet.logIn(client, code: EnrollmentTests.code(secret, at: later, steps: 1)).status == .seeOther)
            let removed = try await Self.change(&browser, client, "/account/devices/remove", [("label", "phone")])
            #expect(removed.status == .seeOther)
        }
        #expect(try await harness.store.devices(ofUserID: alice.id).map(\.label) == ["iPad"])
        let events = try await harness.store.auditEntries(userName: "alice", since: 0, limit: 50).map(\.event)
        #expect(events.contains(.deviceAdded) && events.contains(.deviceRenamed) && events.contains(.deviceRemoved))
    }

    @Test("a password change needs the current password (counted), ends the other sessions and keeps this browser logged in")
    func password() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        _ = try await harness.addUser("alice")
        try await harness.withRouter { client, _ in
            var browser = Browser()
            #expect(try await browser.logIn(client, code: harness.code()).status == .seeOther)
            var other = Browser()
            #expect(try await other.logIn(client, code: harness.code(steps: 1)).status == .seeOther)
            let wrong = try await Self.change(&browser, client, "/account/password", [("password", "wrong horse"), ("new_password", "battery staple"), ("new_password2", "battery staple")])
            #expect(wrong.status == .unauthorized && Page.text(wrong).contains("current password is not right"))
            let differ = try await Self.change(&browser, client, "/account/password", [("password", "correct horse"), ("new_password", "battery staple"), ("new_password2", "battery stable")])
            #expect(differ.status == .badRequest)
            let short = try await Self.change(&browser, client, "/account/password", [("password", "correct horse"), ("new_password", "short"), ("new_password2", "short")])
            #expect(short.status == .badRequest && Page.text(short).contains("at least 8"))
            harness.clock.advance(200)
            let old = browser.sessionCookie
            let changed = try await Self.change(&browser, client, "/account/password", [("password", "correct horse"), ("new_password", "battery staple"), ("new_password2", "battery staple")])
            #expect(changed.status == .seeOther && changed.headers[.location] == "/account?done=password_changed")
            #expect(try await client.verify(cookie: other.sessionCookie).status != .ok, "the other session ended")
            #expect(try await client.verify(cookie: old).status != .ok)
            #expect(try await client.verify(cookie: browser.sessionCookie).status == .ok, "this browser has a new session")
            // The new session keeps the time of the login's code: a password change does not extend the 5 minutes.
            harness.clock.advance(Portal.recentFactorWindow - 200)
            #expect(Page.text(try await browser.get(client, "/account")).contains("action=\"/account/confirm\""))
            var again = Browser()
            #expect(try await again.logIn(client, password: "battery staple", code: harness.code(steps: 1)).status == .seeOther)
        }
        let audit = try await harness.store.auditEntries(userName: "alice", since: 0, limit: 50)
        #expect(audit.contains { $0.event == .loginFailed && $0.reason == "bad_password" })
        #expect(audit.contains { $0.event == .passwordChanged })
    }

    @Test("recovery codes and app passwords: made here, shown once; app passwords revoked; sessions ended one by one or all others, never another user's")
    func codesPasswordsSessions() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        _ = try await harness.addUser("bob")
        let old = try await harness.vault.makeRecoveryCodes(for: alice, at: harness.clock.now)
        try await harness.withRouter { client, _ in
            var browser = Browser()
            #expect(try await browser.logIn(client, code: harness.code()).status == .seeOther)
            let codes = try await Self.change(&browser, client, "/account/recovery-codes")
            #expect(codes.status == .ok && EnrollmentTests.codes(in: codes).count == 10)
            #expect(try await harness.vault.useRecoveryCode(old[0], of: alice) == nil, "the old codes are void")

            let made = try await Self.change(&browser, client, "/account/app-passwords", [("label", "calendar"), ("expires", "30d")])
            let shown = try #require(Page.text(made).firstMatch(of: /<p class="secret">([^<]+)</)?.1)
            #expect(made.status == .ok && AppPassword.looksLikeOne(String(shown)))
            let stored = try #require(try await harness.store.appPassword(hash: AppPassword(text: String(shown)).storageHash))
            #expect(stored.0.label == "calendar" && stored.0.expiresAt == harness.clock.now + 30 * 86_400)
            #expect(try await Self.change(&browser, client, "/account/app-passwords", [("label", "calendar"), ("expires", "30d")]).status == .conflict)
            #expect(try await Self.change(&browser, client, "/account/app-passwords", [("label", "x y"), ("expires", "30d")]).status == .badRequest)
            #expect(try await Self.change(&browser, client, "/account/app-passwords", [("label", "ok"), ("expires", "1000d")]).status == .badRequest)
            #expect(try await Self.change(&browser, client, "/account/app-passwords/revoke", [("label", "calendar")]).status == .seeOther)
            #expect(try await harness.store.appPasswords(ofUserID: alice.id).isEmpty)

            var laptop = Browser()
            #expect(try await laptop.logIn(client, code: harness.code(steps: 1)).status == .seeOther)
            var tablet = Browser()
            #expect(try await tablet.logIn(client, code: harness.code(steps: 2)).status == .seeOther)
            var bobs = Browser()
            #expect(try await bobs.logIn(client, username: "bob", code: harness.code()).status == .seeOther)
            let hash = { (browser: Browser) in String(Hex.encode(SessionToken(cookieValue: browser.cookies["portcullis_session"] ?? "")?.storageHash ?? []).prefix(12)) }
            let notMine = try await Self.change(&browser, client, "/account/sessions/end", [("session", hash(bobs))])
            #expect(notMine.status == .badRequest)
            #expect(try await client.verify(cookie: bobs.sessionCookie).status == .ok, "bob's session is not alice's to end")
            let mine = try await Self.change(&browser, client, "/account/sessions/end", [("session", hash(browser))])
            #expect(mine.status == .badRequest && Page.text(mine).contains("log out"))
            #expect(Page.text(try await browser.get(client, "/account")).contains(hash(laptop)))
            #expect(try await Self.change(&browser, client, "/account/sessions/end", [("session", hash(laptop))]).status == .seeOther)
            #expect(try await client.verify(cookie: laptop.sessionCookie).status != .ok)
            #expect(try await client.verify(cookie: tablet.sessionCookie).status == .ok)
            #expect(try await Self.change(&browser, client, "/account/sessions/end-others").status == .seeOther)
            #expect(try await client.verify(cookie: tablet.sessionCookie).status != .ok)
            #expect(try await client.verify(cookie: browser.sessionCookie).status == .ok)
            #expect(try await client.verify(cookie: bobs.sessionCookie).status == .ok)

            // Another site's form and a form without its token change nothing.
            let page = try await browser.get(client, "/account")
            let crossSite = try await browser.post(client, "/account/sessions/end-others", [("csrf", Page.csrfToken(page) ?? "")],
                                                   extra: [HTTPField.Name("Sec-Fetch-Site")!: "cross-site"])
            #expect(crossSite.status == .forbidden)
            #expect(try await browser.post(client, "/account/recovery-codes", []).status == .forbidden)
        }
        #expect(try await harness.store.recoveryCodeCount(userID: alice.id) == 10)
    }
}
