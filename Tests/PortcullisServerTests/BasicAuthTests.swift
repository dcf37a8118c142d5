import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PortcullisCore
import PortcullisServer
import PortcullisStore
import Testing

@Suite("HTTP Basic with password and code, and app passwords") struct BasicAuthTests {
    static let challenge = "Basic realm=\"Portcullis\", charset=\"UTF-8\""

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// A script's request through forward auth, with Basic credentials, from `address`.
    static func scripted(_ authorization: String?, from address: String = "203.0.113.7", host: String = "dav.example.com") -> HTTPFields {
        var extra: HTTPFields = [:]
        if let authorization { extra[.authorization] = authorization }
        return Requests.forwardAuth(host: host, uri: "/files/", accept: "*/*", forwardedFor: address, extra: extra)
    }

    static func configuration(_ change: (inout Configuration) -> Void = { _ in }) -> Configuration {
        var configuration = GateHarness.exampleConfiguration()
        change(&configuration)
        return configuration
    }

    func withRouter(_ harness: GateHarness, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let server = try await harness.server()
        try await Application(router: server.router, services: [server.sync]).test(.router) { client in try await body(client) }
    }

    @Test("scripts without credentials are told Basic works (WWW-Authenticate); browsers are sent to the login page instead")
    func challenge() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.withRouter { client, _ in
            let script = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(nil))
            #expect(script.status == .unauthorized)
            #expect(script.headers[.wwwAuthenticate] == Self.challenge)
            let nginxScript = try await client.execute(uri: "/api/authz/auth-request", method: .get, headers: Requests.authRequest(url: "https://dav.example.com/", accept: "*/*"))
            #expect(nginxScript.headers[.wwwAuthenticate] == Self.challenge)
            let browser = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Requests.forwardAuth())
            #expect(browser.status == .found)
            #expect(browser.headers[.wwwAuthenticate] == nil)
        }
    }

    @Test("password followed by the code is accepted once, then lingers from the same address; the code is not accepted again elsewhere")
    func lingering() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await withRouter(harness) { (client: any TestClientProtocol) async throws in
            let credential = Self.basic("alice", "correct horse" + harness.code())
            let first = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(credential))
            #expect(first.status == .ok)
            #expect(first.headers[HTTPField.Name("Remote-User")!] == "alice")
            #expect(first.headers[HTTPField.Name("Remote-Groups")!] == "admins,dev")
            // From another address the code is a replay.
            let elsewhere = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(credential, from: "198.51.100.9"))
            #expect(elsewhere.status == .unauthorized)
            #expect(elsewhere.headers[.wwwAuthenticate] == Self.challenge)
            // The same credential again from the first address, as clients resend it on every request: allowed for 10 minutes.
            for _ in 0..<5 {
                harness.clock.advance(60)
                let again = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(credential))
                #expect(again.status == .ok)
            }
            // After the linger time it is a replay from the first address too.
            harness.clock.advance(301)
            let expired = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(credential))
            #expect(expired.status == .unauthorized)
            // nginx's endpoint takes Basic too, with a fresh code.
            let nginx = try await client.execute(uri: "/api/authz/auth-request", method: .get, headers: {
                var fields = Requests.authRequest(url: "https://dav.example.com/x", accept: "*/*")
                fields[.authorization] = Self.basic("alice", "correct horse" + harness.code())
                fields[HTTPField.Name("X-Forwarded-For")!] = "203.0.113.7"
                return fields
            }())
            #expect(nginx.status == .ok)
        }
        let audit = try await harness.store.auditEntries(userName: "alice", since: 0, limit: 100)
        #expect(audit.filter { $0.event == .loginSucceeded }.map(\.reason) == ["basic", "basic"], "lingering requests are not new logins")
        // The replay from elsewhere, then the expired linger (by then the code is outside the time window too).
        #expect(audit.filter { $0.event == .loginFailed }.map(\.reason) == ["replayed_otp", "bad_otp"])
    }

    @Test("basic.idle ends a lingering credential that was not used for that long; logout_on_ip_change off lets it move")
    func idleAndAddressChange() async throws {
        let harness = try await GateHarness.make(Self.configuration {
            $0.basic.idle = 60
            $0.basic.logoutOnIPChange = false
        })
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await withRouter(harness) { (client: any TestClientProtocol) async throws in
            let credential = Self.basic("alice", "correct horse" + harness.code())
            #expect(try await client.execute(uri: "/verify", method: .get, headers: Self.scripted(credential)).status == .ok)
            harness.clock.advance(50)
            #expect(try await client.execute(uri: "/verify", method: .get, headers: Self.scripted(credential, from: "198.51.100.9")).status == .ok)
            harness.clock.advance(61)
            #expect(try await client.execute(uri: "/verify", method: .get, headers: Self.scripted(credential)).status == .unauthorized)
        }
    }

    @Test("the code's length follows the user's device; wrong passwords and codes are refused")
    func digitsAndFailures() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        _ = try await harness.addUser("bob", otp: false)
        let parameters = OTPParameters(type: .totp, algorithm: .sha256, digits: 8, period: 30)
        _ = try await harness.vault.addDevice(userName: "bob", label: "token", parameters: parameters, secret: GateHarness.secret, at: harness.clock.now)
        try await withRouter(harness) { (client: any TestClientProtocol) async throws in
            let code = OTPVerifier.code(for: TOTP.step(at: harness.clock.now, period: 30), secret: GateHarness.secret, parameters: parameters)
            #expect(code.count == 8)
            for wrong in ["correct hors" + code, "correct horse" + String(code.dropLast()), "correct horse", "correct horse" + "12345678", ""] {
                let response = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(Self.basic("bob", wrong)))
                #expect(response.status == .unauthorized, "\(wrong)")
            }
            for malformed in ["Basic !!!", "Basic " + Data("no-colon".utf8).base64EncodedString(), "Bearer abc", "Basic " + Data(":nouser".utf8).base64EncodedString()] {
                let response = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(malformed))
                #expect(response.status == .unauthorized, "\(malformed)")
            }
            let good = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(Self.basic("bob", "correct horse" + code)))
            #expect(good.status == .ok)
        }
    }

    @Test("Basic failures count toward the bans: 429 with Retry-After through forward auth, 403 through auth request")
    func regulated() async throws {
        let harness = try await GateHarness.make(Self.configuration { $0.regulation = RegulationPolicy(maxRetries: 3, findTime: 600, banTime: 900, maxOTPFailures: 0) })
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await withRouter(harness) { (client: any TestClientProtocol) async throws in
            var statuses: [HTTPResponse.Status] = []
            for attempt in 0..<4 {
                let response = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(Self.basic("alice", "guess\(attempt)123456")))
                statuses.append(response.status)
                if response.status == .tooManyRequests { #expect(response.headers[.retryAfter] != nil) }
            }
            #expect(statuses == [.unauthorized, .unauthorized, .tooManyRequests, .tooManyRequests])
            var fields = Requests.authRequest(url: "https://dav.example.com/", accept: "*/*")
            fields[.authorization] = Self.basic("alice", "correct horse" + harness.code())
            fields[HTTPField.Name("X-Forwarded-For")!] = "203.0.113.7"
            let nginx = try await client.execute(uri: "/api/authz/auth-request", method: .get, headers: fields)
            #expect(nginx.status == .forbidden)
        }
    }

    @Test("basic.enabled: false, globally or per cookie domain, ignores credentials and sends no challenge")
    func disabled() async throws {
        let harness = try await GateHarness.make(Self.configuration {
            $0.sessionCookies.append(SessionCookieConfiguration(domain: "home.lab", portalURL: "https://auth.home.lab", basic: false))
        })
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await withRouter(harness) { (client: any TestClientProtocol) async throws in
            let credential = Self.basic("alice", "correct horse" + harness.code())
            let off = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(credential, host: "files.home.lab"))
            #expect(off.status == .unauthorized)
            #expect(off.headers[.wwwAuthenticate] == nil)
            let on = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(credential, host: "dav.example.com"))
            #expect(on.status == .ok)
        }
        var globallyOff = harness
        globallyOff.configuration.basic.enabled = false
        try await globallyOff.withRouter { client, _ in
            let response = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(Self.basic("alice", "correct horse" + harness.code(steps: 1))))
            #expect(response.status == .unauthorized)
            #expect(response.headers[.wwwAuthenticate] == nil)
        }
    }

    @Test("an app password works without a code for its own user only, until it expires or is removed; its use is recorded")
    func appPasswords() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        try await harness.addUser("bob")
        var random = SystemRandomNumberGenerator()
        let password = AppPassword.generate(using: &random)
        let expiring = AppPassword.generate(using: &random)
        _ = try await harness.store.addAppPassword(AppPasswordRecord(userID: alice.id, label: "calendar", hash: password.storageHash, createdAt: harness.clock.now))
        _ = try await harness.store.addAppPassword(AppPasswordRecord(userID: alice.id, label: "old", hash: expiring.storageHash, createdAt: harness.clock.now, expiresAt: harness.clock.now + 10))
        try await withRouter(harness) { (client: any TestClientProtocol) async throws in
            let start = harness.clock.now
            let response = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(Self.basic("alice", password.text)))
            #expect(response.status == .ok)
            #expect(response.headers[HTTPField.Name("Remote-User")!] == "alice")
            // Its last use is written when it is checked, then at most once a minute while it lingers.
            func lastUsed() async throws -> Int64? { try await harness.store.appPasswords(ofUserID: alice.id).first { $0.label == "calendar" }?.lastUsedAt }
            #expect(try await lastUsed() == start)
            harness.clock.advance(30)
            #expect(try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(Self.basic("alice", password.text))).status == .ok)
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await lastUsed() == start)
            harness.clock.advance(31)
            #expect(try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(Self.basic("alice", password.text))).status == .ok)
            try await waitUntil { try await lastUsed() == start + 61 }
            // Upper case and without dashes is the same password; from another address it is checked again, and passes.
            let retyped = password.text.uppercased().replacing("-", with: "")
            #expect(try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(Self.basic("alice", retyped), from: "198.51.100.1")).status == .ok)
            #expect(try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(Self.basic("bob", password.text))).status == .unauthorized)
            harness.clock.advance(11)
            #expect(try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(Self.basic("alice", expiring.text))).status == .unauthorized)
            // Removed: a running server forgets the lingering credential within a second.
            try await harness.store.removeAppPassword(userID: alice.id, label: "calendar")
            try await waitUntil {
                try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Self.scripted(Self.basic("alice", password.text))).status == .unauthorized
            }
        }
        let audit = try await harness.store.auditEntries(userName: "alice", since: 0, limit: 100)
        #expect(audit.contains { $0.event == .loginSucceeded && $0.reason == "app_password:calendar" })
        #expect(audit.contains { $0.reason == "expired_app_password" })
    }
}
