import CHeapUsage
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PortcullisCore
import PortcullisServer
import PortcullisStore
import PortcullisTestSupport
import SQLiteNIO
import Testing

/// The session table is a cache in front of the store: bounded, never refusing a valid session,
/// following the change log without blocking the verify path.
@Suite("the session cache over the store") struct SessionCacheTests {
    static let policy = SessionPolicy(inactivity: 3600, binding: .off)
    static let client = PackedAddress(IPAddress("127.0.0.1")!)
    static let request = VerifyRequest(forwardedMethod: "GET", forwardedProto: "https", forwardedHost: "app.example.com", forwardedURI: "/",
                                       accept: "text/html")

    /// A gate and its sync on `store`, as GateServer wires them, with a cache of `capacity`.
    static func gate(_ harness: GateHarness, store: ObservedSessionStore, capacity: Int) async throws -> (Gate, SessionSync) {
        let cache = SessionCache(capacity: capacity)
        let writes = SessionWrites()
        let gate = Gate(configuration: harness.configuration, cache: cache, writes: writes, clock: harness.clock.gateClock, store: store)
        let sync = SessionSync(store: store, cache: cache, writes: writes, clock: harness.clock.gateClock,
                               logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                               changesAfter: try await SessionSync.startingSequence(store: store))
        return (gate, sync)
    }

    /// The user a verify answer lets in, or nil.
    static func verifiedUser(_ gate: Gate, _ token: SessionToken) async throws -> String? {
        let (verdict, _) = try await gate.verify(request, cookieHeader: "portcullis_session=\(token.cookieValue)", peer: IPAddress("127.0.0.1")!,
                                                 forwardedFor: nil, style: .forwardAuth)
        if case .allow(let identity) = verdict { return identity.user }
        return nil
    }

    /// Writes `count` sessions spread over `users` straight into the store's file, in one transaction
    /// (what `count` logins on other servers would leave), and returns each token with its user's name.
    static func seedSessions(_ harness: GateHarness, count: Int, users: [UserRecord]) async throws -> [(SessionToken, String)] {
        var random = SystemRandomNumberGenerator()
        let now = harness.clock.now
        let connection = try await SQLiteConnection.open(storage: .file(path: harness.directory.file("gate.sqlite3")))
        var seeded: [(SessionToken, String)] = []
        seeded.reserveCapacity(count)
        _ = try await connection.query("BEGIN")
        var rows: [String] = []
        for index in 0..<count {
            let token = SessionToken.generate(using: &random)
            let user = users[index % users.count]
            seeded.append((token, user.name))
            let hex = token.storageHash.map { String(format: "%02x", $0) }.joined()
            rows.append("(X'\(hex)', \(user.id), \(now), \(now), \(now + 86_400), '127.0.0.1', 2, 0, 'example.com')")
            if rows.count == 500 || index == count - 1 {
                _ = try await connection.query("INSERT INTO sessions (id_hash, user_id, created_at, last_activity, expires_at, client_ip, auth_level, remember_me, cookie_domain) VALUES " + rows.joined(separator: ","))
                rows.removeAll(keepingCapacity: true)
            }
        }
        _ = try await connection.query("COMMIT")
        try await connection.close()
        return seeded
    }

    /// Sessions in the store for ``manySessions()``: 25 000 by default, as a debug build reads about
    /// a thousand a second; `PORTCULLIS_TEST_SESSIONS=250000` runs the issue's figure (274 s here).
    static let manySessionCount = ProcessInfo.processInfo.environment["PORTCULLIS_TEST_SESSIONS"].flatMap(Int.init) ?? 25_000

    @Test("many more sessions in the store than room in memory (1 000): every one verifies, memory stays at 1 000")
    func manySessions() async throws {
        let count = Self.manySessionCount
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        var users: [UserRecord] = []
        for index in 0..<100 { users.append(try await harness.addUser("user\(index)", password: nil, otp: false)) }
        let seeded = try await Self.seedSessions(harness, count: count, users: users)
        let store = ObservedSessionStore(harness.store)
        let (gate, _) = try await Self.gate(harness, store: store, capacity: 1_000)

        let refused = try await withThrowingTaskGroup(of: Int.self) { group in
            let lanes = 8
            for lane in 0..<lanes {
                group.addTask {
                    var refused = 0
                    for index in stride(from: lane, to: seeded.count, by: lanes) {
                        let (token, name) = seeded[index]
                        if try await Self.verifiedUser(gate, token) != name { refused += 1 }
                    }
                    return refused
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(refused == 0)
        #expect(gate.cache.count == 1_000)
        // Each session was read once; one used again while in memory is not read again.
        #expect(store.singleReads == count)
        let recent = seeded[seeded.count - 1]
        #expect(try await Self.verifiedUser(gate, recent.0) == recent.1)
        #expect(store.singleReads == count)
    }

    @Test("100 000 cached sessions of 10 000 users take at most 300 bytes each of heap")
    func bytesPerSession() throws {
        let sessions = 100_000
        var generator = SystemRandomNumberGenerator()
        let tokens = (0..<sessions).map { _ in SessionToken.generate(using: &generator) }
        let hashes = tokens.map(\.storageHash)
        let cache = SessionCache(capacity: sessions)
        // What malloc has handed out and not taken back, before and after: the cache's own memory.
        let before = portcullis_heap_in_use()
        for (index, token) in tokens.enumerated() {
            let user = index % 10_000
            let identity = Identity(user: "user\(user)", groups: ["staff", "grafana-admins"], name: "User Number \(user)",
                                    email: "user\(user)@example.com")
            let session = CachedSession(identity: identity, userID: Int64(user), lastActivity: 1_000, persistedActivity: 1_000, expiresAt: 90_000,
                                        client: Self.client, cookieDomain: "example.com", idHash: hashes[index], level: .passwordAndCode)
            #expect(cache.insert(session, token: token) == nil)
        }
        let perSession = Double(Int(portcullis_heap_in_use()) - Int(before)) / Double(sessions)
        #expect(cache.count == sessions)
        #expect(perSession > 0, "no heap figure: this test needs glibc")
        #expect(perSession <= 300, "\(perSession) bytes per cached session")
        print("cached session: \(Int(perSession)) bytes of heap each (100 000 sessions, 10 000 users)")
    }

    @Test("a token the store does not know costs one store read, however often it comes")
    func missesAreRemembered() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let store = ObservedSessionStore(harness.store)
        let (gate, _) = try await Self.gate(harness, store: store, capacity: 10)
        var random = SystemRandomNumberGenerator()
        let stranger = SessionToken.generate(using: &random)
        for _ in 0..<5 { #expect(try await Self.verifiedUser(gate, stranger) == nil) }
        #expect(store.singleReads == 1)
    }

    @Test("a session revoked in the store by another server stops verifying here, the other one keeps verifying")
    func revokedElsewhere() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice", password: nil, otp: false)
        let seeded = try await Self.seedSessions(harness, count: 2, users: [alice])
        let store = ObservedSessionStore(harness.store)
        let (gate, sync) = try await Self.gate(harness, store: store, capacity: 10)
        let app = Application(router: Router(context: GateContext.self), services: [sync])
        try await app.test(.router) { _ in
            #expect(try await Self.verifiedUser(gate, seeded[0].0) == "alice")
            #expect(try await Self.verifiedUser(gate, seeded[1].0) == "alice")
            // Another server's logout: the row goes, and the change log says so.
            #expect(try await harness.store.deleteSession(idHash: seeded[0].0.storageHash))
            let start = ContinuousClock.now
            // Polled for, not timed: how fast is measured from outside, under load, by scripts/flood.py
            // ("revocation took effect after … (goal: 2 s)"); a loaded test machine may take longer.
            while try await Self.verifiedUser(gate, seeded[0].0) != nil, ContinuousClock.now - start < .seconds(60) {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(try await Self.verifiedUser(gate, seeded[0].0) == nil)
            #expect(try await Self.verifiedUser(gate, seeded[1].0) == "alice")
        }
    }

    @Test("while the sync reads a changed user's sessions, verify answers from memory; then shows the change")
    func verifyDuringUserReload() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice", password: nil, otp: false)
        let seeded = try await Self.seedSessions(harness, count: 1, users: [alice])
        let store = ObservedSessionStore(harness.store)
        let (gate, sync) = try await Self.gate(harness, store: store, capacity: 10)
        let app = Application(router: Router(context: GateContext.self), services: [sync])
        try await app.test(.router) { _ in
            #expect(try await Self.verifiedUser(gate, seeded[0].0) == "alice")
            store.holdUserReads(true)
            var renamed = alice
            renamed.groups = ["auditors"]
            try await harness.store.updateUser(renamed)
            try await waitUntil { store.heldReaders == 1 }
            // The sync is stuck in its store read, held until released below: verify still answers,
            // from memory (were it waiting for that read, these would never return).
            for _ in 0..<100 { #expect(try await Self.verifiedUser(gate, seeded[0].0) == "alice") }
            store.holdUserReads(false)
            try await waitUntil {
                let (verdict, _) = try await gate.verify(Self.request, cookieHeader: "portcullis_session=\(seeded[0].0.cookieValue)",
                                                         peer: IPAddress("127.0.0.1")!, forwardedFor: nil, style: .forwardAuth)
                if case .allow(let identity) = verdict { return identity.groups == ["auditors"] }
                return false
            }
            #expect(store.singleReads == 1)
        }
    }

    @Test("a store read that raced with a removal is not kept: an ended session never comes back")
    func racingLoadIsDropped() {
        let cache = SessionCache(capacity: 10)
        var random = SystemRandomNumberGenerator()
        let token = SessionToken.generate(using: &random)
        let session = CachedSession(identity: Identity(user: "alice", groups: [], name: "", email: ""), userID: 1, lastActivity: 100,
                                    persistedActivity: 100, expiresAt: 10_000, client: Self.client, cookieDomain: "example.com", idHash: token.storageHash, level: .passwordAndCode)
        let before = cache.currentSequence()
        // The store read started, then the session was revoked elsewhere and the change applied here.
        cache.remove(idHash: token.storageHash)
        #expect(cache.load(session, token: token, readSince: before).added == false)
        #expect(cache.use(token, now: 200, client: Self.client, cookieDomain: "example.com", policy: Self.policy) == .unknown)
        // Another user's removal does not concern it.
        let other = SessionToken.generate(using: &random)
        let again = cache.currentSequence()
        cache.remove(idHash: other.storageHash)
        #expect(cache.load(session, token: token, readSince: again).added)
        guard case .valid(let identity, _, _) = cache.use(token, now: 200, client: Self.client, cookieDomain: "example.com", policy: Self.policy) else {
            Issue.record("the loaded session should verify")
            return
        }
        #expect(identity.user == "alice")
    }

    @Test("identity is kept once per user; a session whose user changed shows the change and the others stay")
    func identityPerUser() {
        let cache = SessionCache(capacity: 10)
        var random = SystemRandomNumberGenerator()
        let tokens = (0..<3).map { _ in SessionToken.generate(using: &random) }
        for token in tokens {
            cache.insert(CachedSession(identity: Identity(user: "alice", groups: ["dev"], name: "Alice", email: ""), userID: 7, lastActivity: 100,
                                       persistedActivity: 100, expiresAt: 10_000, client: Self.client, cookieDomain: "example.com",
                                       idHash: token.storageHash, level: .passwordAndCode), token: token)
        }
        let since = cache.currentSequence()
        // Two are live in the store; the user's groups changed.
        cache.update(user: 7, identity: Identity(user: "alice", groups: ["ops"], name: "Alice", email: ""),
                     live: [tokens[0].storageHash, tokens[1].storageHash], readSince: since)
        #expect(cache.count == 2)
        for token in tokens.prefix(2) {
            guard case .valid(let identity, _, _) = cache.use(token, now: 200, client: Self.client, cookieDomain: "example.com", policy: Self.policy) else {
                Issue.record("a live session should verify")
                continue
            }
            #expect(identity.groups == ["ops"])
        }
        // Disabled: every session of the user leaves memory.
        cache.update(user: 7, identity: nil, live: [], readSince: cache.currentSequence())
        #expect(cache.count == 0)
        #expect(cache.hasSessions(ofUser: 7) == false)
    }
}
