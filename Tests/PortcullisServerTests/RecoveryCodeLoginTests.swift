import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PortcullisCore
import PortcullisServer
import PortcullisStore
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
            #expect(response.status == .ok)
            let page = Page.text(response)
            #expect(page.contains("Logged in with a recovery code") && page.contains("You have 9 recovery codes left."))
            #expect(page.contains("href=\"https://app.example.com/dashboard\""))
            #expect(browser.cookies["portcullis_session"] != nil)
            #expect(try await client.verify(cookie: browser.sessionCookie).status == .ok)

            var again = Browser()
            #expect(try await again.logIn(client, code: codes[2]).status == .unauthorized)
            #expect(again.cookies["portcullis_session"] == nil)
            // Another code still works; the wrong password with a good code does not use it up.
            var wrongPassword = Browser()
            #expect(try await wrongPassword.logIn(client, password: "wrong horse", code: codes[3]).status == .unauthorized)
            var other = Browser()
            #expect(try await other.logIn(client, code: codes[3]).status == .ok)
        }
        #expect(try await harness.store.recoveryCodeCount(userID: alice.id) == 8)
        let audit = try await harness.store.auditEntries(userName: "alice", since: 0, limit: 50)
        #expect(audit.filter { $0.event == .loginSucceeded && $0.reason == "recovery_code" }.count == 2)
        #expect(audit.contains { $0.event == .loginFailed && $0.reason == "bad_otp" }, "the used code is a wrong code for regulation")
    }

    @Test("recovery codes are refused over HTTP Basic, and the attempt is a failure, not a use")
    func notOverBasic() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        let codes = try await harness.vault.makeRecoveryCodes(for: alice, at: harness.clock.now)
        let server = try await harness.server()
        let app = Application(router: server.router)
        try await app.test(.router) { client in
            for code in [codes[0], codes[0].replacingOccurrences(of: "-", with: "")] {
                let response = try await client.execute(uri: "/api/authz/forward-auth", method: .get,
                                                        headers: BasicAuthTests.scripted(BasicAuthTests.basic("alice", "correct horse" + code)))
                #expect(response.status == .unauthorized)
            }
        }
        #expect(try await harness.store.recoveryCodeCount(userID: alice.id) == 10)
    }

    @Test("codes made before a storage key rotation still work after it")
    func afterRotation() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        let codes = try await harness.vault.makeRecoveryCodes(for: alice, at: harness.clock.now)
        var random = SystemRandomNumberGenerator()
        _ = try await harness.vault.rotate(to: StorageKey.generate(using: &random))
        #expect(try await harness.vault.useRecoveryCode(codes[5], of: alice) == 9)
        #expect(try await harness.vault.useRecoveryCode(codes[5], of: alice) == nil)
        // New codes after the rotation void the old ones and work too.
        let fresh = try await harness.vault.makeRecoveryCodes(for: alice, at: harness.clock.now)
        #expect(try await harness.vault.useRecoveryCode(codes[6], of: alice) == nil)
        #expect(try await harness.vault.useRecoveryCode(fresh[0], of: alice) == 9)
    }
}
