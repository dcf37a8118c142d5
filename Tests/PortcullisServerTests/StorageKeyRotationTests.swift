import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PortcullisCore
import PortcullisServer
import PortcullisStore
import PortcullisTestSupport
import SQLiteNIO
import Testing

/// `portcullis storage rotate-key` run by another process while a server runs on the same store.
@Suite("a running server and key rotation elsewhere") struct StorageKeyRotationTests {
    /// A harness whose vault reads its key from `source`, with alice (password and TOTP device).
    static func harness(keySource: (TemporaryDirectory) throws -> StorageKeySource, key: StorageKey) async throws -> GateHarness {
        let directory = try TemporaryDirectory()
        let source = try keySource(directory)
        let store = try await SQLiteStore.open(path: directory.file("gate.sqlite3"))
        let vault = try await Vault.open(store: store, key: key, keySource: source, hasher: GateHarness.hasher)
        let harness = GateHarness(directory: directory, store: store, vault: vault, clock: TestClock(), configuration: GateHarness.exampleConfiguration())
        try await harness.addUser("alice")
        return harness
    }

    /// What `storage rotate-key` does, from its own connection: the new key into `pending`, every
    /// secret re-encrypted, and (with `replacing`) the file swapped.
    static func rotate(_ harness: GateHarness, from old: StorageKey, to new: StorageKey, pending: String?, replacing keyFile: String?) async throws {
        let store = try await SQLiteStore.open(path: harness.directory.file("gate.sqlite3"))
        let vault = try await Vault.open(store: store, key: old, keySource: .file(keyFile ?? "elsewhere"), hasher: GateHarness.hasher)
        if let pending { try KeyFile.createExclusive(pending, text: new.fileText) }
        #expect(try await vault.rotate(to: new) == 1)
        if let pending, let keyFile { try KeyFile.replace(keyFile, with: pending) }
        try await store.close()
    }

    /// Runs `body` against a server whose change log is read every 20 ms.
    static func withServer(_ harness: GateHarness, capture: LogCapture, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let server = try await harness.server(logger: capture.logger)
        var sync = server.sync
        sync.pollInterval = .milliseconds(20)
        try await Application(router: server.router, services: [sync]).test(.router) { client in try await body(client) }
    }

    static func health(_ client: some TestClientProtocol) async throws -> TestResponse {
        try await client.execute(uri: "/api/health", method: .get)
    }

    @Test("with a key file, logins keep working through a rotation: the new key is read from the .new file at once, and from the key file after")
    func keyFileFollowsRotation() async throws {
        var random = SystemRandomNumberGenerator()
        let first = StorageKey.generate(using: &random), second = StorageKey.generate(using: &random), third = StorageKey.generate(using: &random)
        let harness = try await Self.harness(keySource: { directory in
            try KeyFile.createExclusive(directory.file("storage.key"), text: first.fileText)
            return .file(directory.file("storage.key"))
        }, key: first)
        defer { Task { await harness.close() } }
        let keyFile = harness.directory.file("storage.key")
        let capture = LogCapture()
        try await Self.withServer(harness, capture: capture) { client in
            // Re-encrypted, the new key still only in storage.key.new (rotate-key renames afterwards):
            // the very next login loads it from there.
            try await Self.rotate(harness, from: first, to: second, pending: keyFile + ".new", replacing: nil)
            var browser = Browser()
            let login = try await browser.logIn(client, code: harness.code())
            #expect(login.status == .seeOther, "\(Page.text(login))")
            #expect(harness.vault.box.key.fingerprint == second.fingerprint)
            try KeyFile.replace(keyFile, with: keyFile + ".new")

            // A second rotation, finished before anyone logs in: the change log has the server load it.
            try await Self.rotate(harness, from: second, to: third, pending: keyFile + ".new", replacing: keyFile)
            // Polls every 20 ms; a loaded machine may take longer than a few polls (seen in CI).
            for _ in 0..<250 where harness.vault.box.key.fingerprint != third.fingerprint { try await Task.sleep(for: .milliseconds(20)) }
            #expect(harness.vault.box.key.fingerprint == third.fingerprint)
            #expect(capture.all.contains { $0.hasPrefix("notice") && $0.contains("loaded the new storage key") })
            harness.clock.advance(30)
            var again = Browser()
            #expect(try await again.logIn(client, code: harness.code()).status == .seeOther)
            #expect(try await Self.health(client).status == .ok)
            #expect(!capture.all.contains { $0.hasPrefix("error") })
        }
    }

    @Test("with the key in the environment, a rotation elsewhere is an error in the log and a failing health check, and logins answer 503 without counting as failures")
    func environmentKeyCannotFollow() async throws {
        var random = SystemRandomNumberGenerator()
        let first = StorageKey.generate(using: &random), second = StorageKey.generate(using: &random)
        var made = try await Self.harness(keySource: { _ in .environment("PORTCULLIS_STORAGE_ENCRYPTION_KEY") }, key: first)
        // Two failures would ban alice: the three refused attempts below must not count as failures.
        made.configuration.regulation = RegulationPolicy(maxRetries: 2, findTime: 600, banTime: 900, maxOTPFailures: 0)
        let harness = made
        defer { Task { await harness.close() } }
        let capture = LogCapture()
        try await Self.withServer(harness, capture: capture) { client in
            try await Self.rotate(harness, from: first, to: second, pending: nil, replacing: nil)
            try await waitUntil { capture.all.contains { $0.hasPrefix("error") && $0.contains("storage key") } }
            // More polls, which must not log it again.
            try await ChangeFollowingTests.letSyncRun()
            let errors = capture.all.filter { $0.hasPrefix("error") && $0.contains("storage key") }
            #expect(errors.count == 1, "one error, however often the server looks again: \(capture.all)")
            let health = try await Self.health(client)
            #expect(health.status == .serviceUnavailable)
            #expect(Page.text(health).contains("cannot be decrypted") && !Page.text(health).contains(first.fingerprint))
            #expect(harness.vault.keys.problem?.contains("restart it with PORTCULLIS_STORAGE_ENCRYPTION_KEY") == true)

            var browser = Browser()
            let login = try await browser.logIn(client, code: harness.code())
            #expect(login.status == .serviceUnavailable)
            #expect(login.headers[.retryAfter] == "30")
            #expect(Page.text(login).contains("Sign-in is unavailable for a moment"))
            #expect(capture.all.contains { $0.hasPrefix("error") && $0.contains("cannot decrypt a one-time-code secret") })
            for _ in 0..<2 {
                #expect(try await ChangeFollowingTests.basic(client, "alice", "correct horse" + harness.code()) == .serviceUnavailable)
            }
            let audit = try await harness.store.auditEntries(userName: "alice", since: 0, limit: 100)
            #expect(!audit.contains { $0.event == .loginFailed || $0.event == .banned })

            // Rotated back to the key the server holds: within a poll it is healthy and logins work.
            try await Self.rotate(harness, from: second, to: first, pending: nil, replacing: nil)
            try await waitUntil { try await Self.health(client).status == .ok }
            harness.clock.advance(30)
            var again = Browser()
            #expect(try await again.logIn(client, code: harness.code()).status == .seeOther)
        }
    }

    @Test("a device row read before a rotation committed still opens after the key was swapped: it is read again, not reported as damaged")
    func staleRowAfterSwap() async throws {
        var random = SystemRandomNumberGenerator()
        let first = StorageKey.generate(using: &random), second = StorageKey.generate(using: &random)
        let harness = try await Self.harness(keySource: { directory in
            try KeyFile.createExclusive(directory.file("storage.key"), text: first.fileText)
            return .file(directory.file("storage.key"))
        }, key: first)
        defer { Task { await harness.close() } }
        let alice = try #require(try await harness.store.user(named: "alice"))
        let stale = try #require(try await harness.store.devices(ofUserID: alice.id).first)
        try await Self.rotate(harness, from: first, to: second, pending: harness.directory.file("storage.key.new"), replacing: harness.directory.file("storage.key"))
        // Another login loaded the new key meanwhile.
        #expect(try await harness.vault.reloadKey() == .loaded(oldFingerprint: first.fingerprint, newFingerprint: second.fingerprint, source: harness.directory.file("storage.key")))
        let opened = try await harness.vault.openDevice(stale)
        #expect(opened.secret == GateHarness.secret)
        #expect(harness.vault.keys.problem == nil)
    }

    @Test("a rotation between the server's opening of the store and its first poll is noticed without waiting for a login")
    func rotationBeforeFirstPoll() async throws {
        var random = SystemRandomNumberGenerator()
        let first = StorageKey.generate(using: &random), second = StorageKey.generate(using: &random)
        let harness = try await Self.harness(keySource: { _ in .environment("PORTCULLIS_STORAGE_ENCRYPTION_KEY") }, key: first)
        defer { Task { await harness.close() } }
        try await Self.rotate(harness, from: first, to: second, pending: nil, replacing: nil)
        let capture = LogCapture()
        let server = try await harness.server(logger: capture.logger)
        var sync = server.sync
        sync.pollInterval = .milliseconds(20)
        try await Application(router: server.router, services: [sync]).test(.router) { client in
            // Polled for (a loaded machine may take longer than a few polls), not waited for a fixed time.
            try await waitUntil { try await Self.health(client).status == .serviceUnavailable }
            try await waitUntil { capture.all.contains { $0.hasPrefix("error") && $0.contains("storage key") } }
        }
    }

    @Test("a secret that does not open although the key is right (damaged data) is logged, fails the health check, and refuses that login only")
    func damagedSecret() async throws {
        var random = SystemRandomNumberGenerator()
        let key = StorageKey.generate(using: &random)
        let harness = try await Self.harness(keySource: { _ in .file("unused") }, key: key)
        defer { Task { await harness.close() } }
        try await harness.addUser("bob")
        let connection = try await SQLiteConnection.open(storage: .file(path: harness.directory.file("gate.sqlite3")))
        _ = try await connection.query("UPDATE otp_devices SET sealed_secret = zeroblob(60) WHERE user_id = (SELECT id FROM users WHERE name = 'alice')")
        try await connection.close()
        let capture = LogCapture()
        try await Self.withServer(harness, capture: capture) { (client: any TestClientProtocol) async throws in
            var alice = Browser()
            #expect(try await alice.logIn(client, code: harness.code()).status == .serviceUnavailable)
            #expect(capture.all.contains { $0.hasPrefix("error") && $0.contains("cannot decrypt") })
            #expect(try await Self.health(client).status == .serviceUnavailable)
            #expect(harness.vault.keys.problem?.contains("device 'phone'") == true)
            var bob = Browser()
            #expect(try await bob.logIn(client, username: "bob", code: harness.code()).status == .seeOther)
            // A secret opened again: the damage is no longer reported (the log keeps it).
            #expect(try await Self.health(client).status == .ok)
        }
    }
}
