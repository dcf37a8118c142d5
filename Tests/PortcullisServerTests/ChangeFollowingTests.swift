import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PortcullisCore
import PortcullisServer
import PortcullisStore
import PortcullisTestSupport
import Testing

/// A running server follows the store's change log: each change ends or reloads only what depended on it.
@Suite("following the store's changes") struct ChangeFollowingTests {
    /// The message a server logs when it reads every session again.
    static let fullReload = "forgetting every cached session"

    /// Runs `body` against a server whose session sync runs, polling every 20 ms.
    func withServer(_ harness: GateHarness, capture: LogCapture = LogCapture(), _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let server = try await harness.server(logger: capture.logger)
        var sync = server.sync
        sync.pollInterval = .milliseconds(20)
        try await Application(router: server.router, services: [sync]).test(.router) { client in try await body(client) }
    }

    /// A Basic request through forward auth for `user` with password and current code, from one address.
    static func basic(_ client: some TestClientProtocol, _ user: String, _ secret: String) async throws -> HTTPResponse.Status {
        try await client.execute(uri: "/api/authz/forward-auth", method: .get,
                                 headers: BasicAuthTests.scripted(BasicAuthTests.basic(user, secret))).status
    }

    /// A harness with alice and bob, each with a password and a TOTP device.
    static func twoUsers() async throws -> (GateHarness, alice: UserRecord, bob: UserRecord) {
        let harness = try await GateHarness.make()
        return (harness, try await harness.addUser("alice"), try await harness.addUser("bob"))
    }

    /// A session stored directly, as another server sharing the store makes one; returns its cookie.
    static func storeSession(_ harness: GateHarness, userID: Int64) async throws -> String {
        var random = SystemRandomNumberGenerator()
        let token = SessionToken.generate(using: &random)
        let now = harness.clock.now
        try await harness.store.createSession(SessionRecord(idHash: token.storageHash, userID: userID, createdAt: now, lastActivity: now, expiresAt: now + 3600,
                                                            clientIP: "127.0.0.1", authLevel: 2, rememberMe: false, cookieDomain: "example.com"))
        return "portcullis_session=" + token.cookieValue
    }

    /// Waits long enough for several polls of the change log.
    static func letSyncRun() async throws {
        try await Task.sleep(for: .milliseconds(200))
    }

    @Test("a logout with a made-up token ends nothing, logs no change and answers like any logout; lingering Basic credentials still pass")
    func strangersLogout() async throws {
        let (harness, _, _) = try await Self.twoUsers()
        defer { Task { await harness.close() } }
        try await withServer(harness) { client in
            var bob = Browser()
            _ = try await bob.logIn(client, username: "bob", code: harness.code())
            let alice = "correct horse" + harness.code()
            #expect(try await Self.basic(client, "alice", alice) == .ok)
            let before = try await harness.store.latestChangeSequence()

            var stranger = Browser()
            let page = try await stranger.get(client, "/login")
            var random = SystemRandomNumberGenerator()
            stranger.cookies["portcullis_session"] = SessionToken.generate(using: &random).cookieValue
            let answer = try await stranger.post(client, "/logout", [("csrf", Page.csrfToken(page) ?? "")])
            #expect(answer.status == .ok)
            #expect(Page.text(answer).contains("Your session has ended."))
            #expect(answer.headers[values: .setCookie].contains { $0.hasPrefix("portcullis_session=;") && $0.contains("Max-Age=0") })

            #expect(try await harness.store.latestChangeSequence() == before, "nothing changed, so nothing was logged")
            try await Self.letSyncRun()
            // The client resends the same credential, as Basic clients do: it still lingers (its code is used up).
            #expect(try await Self.basic(client, "alice", alice) == .ok)
            #expect(try await client.verify(cookie: bob.sessionCookie).status == .ok)
        }
    }

    @Test("one user's logout ends their session only: another user's lingering Basic credential still passes")
    func logoutOfAnother() async throws {
        let (harness, _, _) = try await Self.twoUsers()
        defer { Task { await harness.close() } }
        try await withServer(harness) { client in
            var bob = Browser()
            _ = try await bob.logIn(client, username: "bob", code: harness.code())
            let cookie = bob.sessionCookie
            let alice = "correct horse" + harness.code()
            #expect(try await Self.basic(client, "alice", alice) == .ok)

            let page = try await bob.get(client, "/logout")
            #expect(try await bob.post(client, "/logout", [("csrf", Page.csrfToken(page) ?? "")]).status == .ok)
            #expect(try await client.verify(cookie: cookie).status == .found)
            try await Self.letSyncRun()
            #expect(try await Self.basic(client, "alice", alice) == .ok)
        }
    }

    @Test("a change of a user's devices, app passwords or record drops that user's lingering Basic credentials and nobody else's")
    func userChangesDropOnlyTheirCredentials() async throws {
        let (harness, alice, _) = try await Self.twoUsers()
        defer { Task { await harness.close() } }
        var random = SystemRandomNumberGenerator()
        let appPassword = AppPassword.generate(using: &random)
        let changes: [(String, @Sendable () async throws -> Void)] = [
            ("a device added", {
                // Another secret: the spare device must not accept the phone's code.
                _ = try await harness.vault.addDevice(userName: "alice", label: "spare", parameters: OTPParameters(),
                                                      secret: Array("another secret, 20 b".utf8), at: harness.clock.now)
            }),
            ("a device removed", { try await harness.store.removeDevice(userID: alice.id, label: "spare") }),
            ("an app password added", {
                _ = try await harness.store.addAppPassword(AppPasswordRecord(userID: alice.id, label: "dav", hash: appPassword.storageHash, createdAt: harness.clock.now))
            }),
            ("an app password removed", { try await harness.store.removeAppPassword(userID: alice.id, label: "dav") }),
            ("the user's groups changed", {
                var changed = alice
                changed.groups = ["viewers"]
                try await harness.store.updateUser(changed)
            }),
        ]
        try await withServer(harness) { client in
            for (name, change) in changes {
                let aliceCredential = "correct horse" + harness.code()
                let bobCredential = "correct horse" + harness.code()
                #expect(try await Self.basic(client, "alice", aliceCredential) == .ok, "\(name)")
                #expect(try await Self.basic(client, "bob", bobCredential) == .ok, "\(name)")
                try await change()
                // Alice's credential is checked again, and its code was used: refused.
                try await waitUntil { try await Self.basic(client, "alice", aliceCredential) == .unauthorized }
                #expect(try await Self.basic(client, "bob", bobCredential) == .ok, "bob's credential was dropped after \(name)")
                harness.clock.advance(30)
            }
        }
    }

    @Test("a bcrypt hash upgraded at a Basic login is no password change: the credential keeps lingering",
          .enabled(if: ProcessRunner.isAvailable("htpasswd"), "needs htpasswd"))
    func rehashKeepsCredential() async throws {
        let (harness, alice, _) = try await Self.twoUsers()
        defer { Task { await harness.close() } }
        var imported = alice
        let output = try ProcessRunner.run("htpasswd", ["-nbB", "-C", "5", "alice", "correct horse"])
        imported.passwordHash = String(output.stdout.split(separator: ":", maxSplits: 1)[1].trimmingASCIIWhitespace())
        try await harness.store.updateUser(imported)
        try await withServer(harness) { client in
            let credential = "correct horse" + harness.code()
            #expect(try await Self.basic(client, "alice", credential) == .ok)
            #expect(try await harness.store.user(named: "alice")?.passwordHash?.hasPrefix("$scrypt$") == true)
            try await Self.letSyncRun()
            #expect(try await Self.basic(client, "alice", credential) == .ok)
        }
    }

    @Test("a session revoked in the store ends on the running server without reading every session again")
    func revocationIsADelta() async throws {
        let (harness, _, _) = try await Self.twoUsers()
        defer { Task { await harness.close() } }
        let capture = LogCapture()
        try await withServer(harness, capture: capture) { client in
            var alice = Browser()
            _ = try await alice.logIn(client, code: harness.code())
            let bob = "correct horse" + harness.code()
            #expect(try await Self.basic(client, "bob", bob) == .ok)
            let token = try #require(SessionToken(cookieValue: alice.cookies["portcullis_session"] ?? ""))

            // Ends within waitUntil's bound (polls here are 20 ms apart); the one-second goal at the
            // real poll interval is measured by the end-to-end run, not by a timed unit test.
            #expect(try await harness.store.deleteSession(idHash: token.storageHash))
            try await waitUntil { try await client.verify(cookie: alice.sessionCookie).status == .found }
            #expect(try await Self.basic(client, "bob", bob) == .ok)
        }
        #expect(!capture.all.contains { $0.contains(Self.fullReload) })
    }

    @Test("a session made by another server sharing the store is let in within a second; one of a disabled user is not")
    func sessionsFromElsewhere() async throws {
        let (harness, alice, bob) = try await Self.twoUsers()
        defer { Task { await harness.close() } }
        try await withServer(harness) { client in
            let cookie = try await Self.storeSession(harness, userID: alice.id)
            try await waitUntil { try await client.verify(cookie: cookie).status == .ok }

            var disabledBob = bob
            disabledBob.disabled = true
            try await harness.store.updateUser(disabledBob)
            let disabled = try await Self.storeSession(harness, userID: bob.id)
            try await waitUntil { try await client.verify(cookie: disabled).status == .found }
        }
    }

    @Test("a server that fell behind the pruned log forgets what it held: a session ended meanwhile is refused, others read again")
    func fellBehind() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        let capture = LogCapture()
        let server = try await harness.server(logger: capture.logger)
        let ended = try await Self.storeSession(harness, userID: alice.id)
        let kept = try await Self.storeSession(harness, userID: alice.id)
        let app = Application(router: server.router)
        try await app.test(.router) { (client: any TestClientProtocol) async throws in
            #expect(try await client.verify(cookie: ended).status == .ok)
            #expect(try await client.verify(cookie: kept).status == .ok)
        }
        // While the server does not follow the log, one session ends elsewhere and the log is pruned past it.
        let endedHash = SessionToken(cookieValue: ended.dropFirst("portcullis_session=".count))!.storageHash
        #expect(try await harness.store.deleteSession(idHash: endedHash))
        #expect(try await harness.store.pruneChanges(keepingLast: 0) > 0)
        var sync = server.sync
        sync.pollInterval = .milliseconds(20)
        try await Application(router: server.router, services: [sync]).test(.router) { client in
            try await waitUntil { try await client.verify(cookie: ended).status == .found }
            #expect(try await client.verify(cookie: kept).status == .ok)
        }
        #expect(capture.all.contains { $0.contains(Self.fullReload) })
    }
}
