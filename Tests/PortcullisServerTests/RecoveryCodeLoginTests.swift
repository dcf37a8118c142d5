import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PortcullisCore
@testable import PortcullisServer
import PortcullisStore
import PortcullisTestSupport
import Testing

@Suite("logging in with a recovery code") struct RecoveryCodeLoginTests {
    @Test("a recovery code stands in for the one-time code once; the page says how many are left; the login is audited; a used one counts as a wrong code")
    func login() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        let codes = try await harness.vault.makeRecoveryCodes(for: alice, at: harness.clock.now)
        #expect(codes.count == 10)
        let server = try await harness.server()
        let app = Application(router: server.router)
        try await app.test(.router) { client in
            // Typed in lower case, without dashes: the same code.
            var browser = Browser()
            let typed = codes[2].lowercased().replacingOccurrences(of: "-", with: "")
            let response = try await browser.logIn(client, code: typed, rd: "https://app.example.com/dashboard")
            // 303 to a page of its own: reloading it never sends the spent code again.
            #expect(response.status == .seeOther)
            let location = try #require(response.headers[.location])
            #expect(location == "https://auth.example.com/recovered?rd=" + FormFields.encode("https://app.example.com/dashboard"))
            #expect(browser.cookies["portcullis_session"] != nil)
            for _ in 0..<2 {
                let shown = try await browser.get(client, String(location.dropFirst("https://auth.example.com".count)))
                let page = Page.text(shown)
                #expect(shown.status == .ok && shown.headers[.cacheControl] == "no-store")
                #expect(page.contains("Logged in with a recovery code") && page.contains("You have 9 recovery codes left."))
                #expect(page.contains("href=\"https://app.example.com/dashboard\""))
            }
            // Without a session, or with an address off the cookie's domain, it only sends the browser on.
            var stranger = Browser()
            let away = try await stranger.get(client, "/recovered?rd=" + FormFields.encode("https://evil.example.org/"))
            #expect(away.status == .seeOther && away.headers[.location]?.hasPrefix("https://evil.example.org") == false)
            #expect(try await client.verify(cookie: browser.sessionCookie).status == .ok)

            var again = Browser()
            #expect(try await again.logIn(client, code: codes[2]).status == .unauthorized)
            #expect(again.cookies["portcullis_session"] == nil)
            // Another code still works; the wrong password with a good code does not use it up.
            var wrongPassword = Browser()
            #expect(try await wrongPassword.logIn(client, password: "wrong horse", code: codes[3]).status == .unauthorized)
            var other = Browser()
            #expect(try await other.logIn(client, code: codes[3]).status == .seeOther)
        }
        #expect(try await harness.store.recoveryCodeCount(userID: alice.id) == 8)
        let audit = try await harness.store.auditEntries(userName: "alice", since: 0, limit: 50)
        #expect(audit.filter { $0.event == .loginSucceeded && $0.reason == "recovery_code" }.count == 2)
        #expect(audit.contains { $0.event == .loginFailed && $0.reason == "bad_otp" }, "the used code is a wrong code for regulation")
    }

    @Test("recovery codes are refused over HTTP Basic, and the attempt is a failure, not a use")
    func notOverBasic() async throws {
        var random = SystemRandomNumberGenerator()
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        let codes = try await harness.vault.makeRecoveryCodes(for: alice, at: harness.clock.now)
        // What Basic asks of the authenticator (no recovery codes), against what the form asks.
        let authenticator = Authenticator(vault: harness.vault, configuration: harness.configuration, dummyHash: try GateHarness.hasher.hash("dummy", using: &random))
        let asBasic = try await authenticator.authenticate(user: alice, password: "correct horse", code: codes[1], now: harness.clock.now)
        #expect(asBasic == .failure(.badOTP, hint: nil))
        let asForm = try await authenticator.authenticate(user: alice, password: "correct horse", code: codes[1], now: harness.clock.now, recoveryCodes: true)
        #expect(asForm == .recoveryCodeUsed(alice, level: .passwordAndCode, remaining: 9))
        let server = try await harness.server()
        let app = Application(router: server.router)
        try await app.test(.router) { client in
            for code in [codes[0], codes[0].replacingOccurrences(of: "-", with: "")] {
                let response = try await client.execute(uri: "/api/authz/forward-auth", method: .get,
                                                        headers: BasicAuthTests.scripted(BasicAuthTests.basic("alice", "correct horse" + code)))
                #expect(response.status == .unauthorized)
            }
        }
        #expect(try await harness.store.recoveryCodeCount(userID: alice.id) == 9)
    }

    @Test("a session of the password alone steps up with a recovery code, to the same page")
    func stepUp() async throws {
        let harness = try await GateHarness.make(try StepUpTests.configuration())
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice", groups: ["dev"])
        let codes = try await harness.vault.makeRecoveryCodes(for: alice, at: harness.clock.now)
        try await harness.withRouter { client, _ in
            var browser = Browser()
            let form = try await browser.get(client, "/login?rd=" + FormFields.encode(StepUpTests.wiki))
            let login = try await browser.post(client, "/login", [("csrf", Page.csrfToken(form) ?? ""), ("username", "alice"), ("password", "correct horse"),
                                                                  ("rd", StepUpTests.wiki)])
            #expect(login.status == .seeOther)
            let stepUpPage = try await browser.get(client, "/login?rd=" + FormFields.encode(StepUpTests.reports))
            let upgraded = try await browser.post(client, "/login", [("csrf", Page.csrfToken(stepUpPage) ?? ""), ("step_up", "1"), ("code", codes[7]),
                                                                     ("rd", StepUpTests.reports)])
            #expect(upgraded.status == .seeOther)
            #expect(upgraded.headers[.location] == "https://auth.example.com/recovered?rd=" + FormFields.encode(StepUpTests.reports))
            #expect(try await StepUpTests.verify(client, "/reports/q3", cookie: browser.sessionCookie).status == .ok)
        }
        let audit = try await harness.store.auditEntries(userName: "alice", since: 0, limit: 50)
        #expect(audit.filter { $0.event == .loginSucceeded }.map(\.reason) == ["form", "recovery_code"])
    }

    @Test("codes made before a storage key rotation still work after it, also in a process that held the old key")
    func afterRotation() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        let codes = try await harness.vault.makeRecoveryCodes(for: alice, at: harness.clock.now)
        // A server's vault on the same store, whose key file the rotation below rewrites.
        var random = SystemRandomNumberGenerator()
        let keyFile = harness.directory.file("storage.key")
        let oldKey = harness.vault.box.key
        try oldKey.fileText.write(toFile: keyFile, atomically: true, encoding: .utf8)
        let server = try await Vault.open(store: harness.store, key: oldKey, keySource: .file(keyFile), hasher: GateHarness.hasher)
        let newKey = StorageKey.generate(using: &random)
        _ = try await harness.vault.rotate(to: newKey)
        try newKey.fileText.write(toFile: keyFile, atomically: true, encoding: .utf8)
        #expect(try await server.useRecoveryCode(codes[4], of: alice) == 9, "the old key's holder loads the new one")
        #expect(server.box.key.fingerprint == newKey.fingerprint)
        #expect(try await harness.vault.useRecoveryCode(codes[5], of: alice) == 8)
        #expect(try await harness.vault.useRecoveryCode(codes[5], of: alice) == nil)
        // New codes after the rotation void the old ones and work too.
        let fresh = try await harness.vault.makeRecoveryCodes(for: alice, at: harness.clock.now)
        #expect(try await harness.vault.useRecoveryCode(codes[6], of: alice) == nil)
        #expect(try await harness.vault.useRecoveryCode(fresh[0], of: alice) == 9)
    }
}
