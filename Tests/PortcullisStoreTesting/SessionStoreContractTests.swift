import PortcullisCore
import PortcullisStore
import PortcullisTestSupport
import Testing

@Suite struct SessionStoreContractTests {
    static func session(_ byte: UInt8, userID: Int64, expiresAt: Int64 = 10_000, lastActivity: Int64 = 100, level: AuthLevel = .passwordAndCode) -> SessionRecord {
        SessionRecord(idHash: Array(repeating: byte, count: 32), userID: userID, createdAt: 100, lastActivity: lastActivity,
                      expiresAt: expiresAt, clientIP: "203.0.113.7", authLevel: level.rawValue, rememberMe: false, cookieDomain: "example.com")
    }

    @Test("sessions are stored by hash, listed while alive with their user, touched, and ended", arguments: StoreBackend.all)
    func lifecycle(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(UserRecord(name: "alice", groups: ["admins"], createdAt: 1))
            let bob = try await store.createUser(UserRecord(name: "bob", createdAt: 1))
            try await store.createSession(Self.session(1, userID: alice.id))
            try await store.createSession(Self.session(2, userID: alice.id))
            try await store.createSession(Self.session(3, userID: bob.id))
            try await store.createSession(Self.session(4, userID: bob.id, expiresAt: 50))

            var live = try await store.liveSessions(at: 60)
            #expect(live.count == 3)
            #expect(try await store.liveSessionCount(at: 60) == 3)
            #expect(try await store.liveSessionCount(at: 0) == 4)
            #expect(try await store.liveSessionCount(at: 10_000) == 0)
            #expect(live[0].0 == Self.session(1, userID: alice.id))
            #expect(live[0].1.name == "alice" && live[0].1.groups == ["admins"])

            try await store.touchSession(idHash: Array(repeating: 1, count: 32), lastActivity: 500)
            try await store.touchSession(idHash: Array(repeating: 1, count: 32), lastActivity: 400)  // never goes back
            live = try await store.liveSessions(at: 60)
            #expect(live[0].0.lastActivity == 500)
            // Many at once (a stopping server): each moves forward only; unknown hashes change nothing.
            try await store.touchSessions([(idHash: Array(repeating: 1, count: 32), lastActivity: 450),
                                           (idHash: Array(repeating: 3, count: 32), lastActivity: 700),
                                           (idHash: Array(repeating: 9, count: 32), lastActivity: 900)])
            live = try await store.liveSessions(at: 60)
            #expect(live.map(\.0.lastActivity) == [500, 100, 700])

            let before = try await store.latestChangeSequence()
            #expect(try await store.deleteSession(idHash: Array(repeating: 2, count: 32)))
            #expect(try await !store.deleteSession(idHash: Array(repeating: 2, count: 32)))
            let ended = try await loggedChanges(store, after: before)
            #expect(ended.map(\.kind) == [.sessionEnded], "the second delete removed nothing and logged nothing")
            #expect(ended.first?.userID == alice.id && ended.first?.sessionHash == Array(repeating: 2, count: 32))

            #expect(try await store.deleteSessions(userID: bob.id) == 2)
            #expect(try await store.liveSessions(at: 0).map(\.1.name) == ["alice"])
            #expect(try await store.purgeExpiredSessions(before: 20_000) == 1)
            #expect(try await store.liveSessions(at: 0).isEmpty)
        }
    }

    @Test("sessions end by id prefix only when it is unambiguous, and all at once", arguments: StoreBackend.all)
    func revocation(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
            var first = Self.session(0xAB, userID: alice.id)
            first.idHash[5] = 0x01
            var second = Self.session(0xAB, userID: alice.id)
            second.idHash[5] = 0x02
            try await store.createSession(first)
            try await store.createSession(second)
            #expect(first.shortID == "abababababab".prefix(10) + "01")
            await #expect(throws: StoreError.self) { _ = try await store.deleteSession(shortIDPrefix: "ababab") }
            await #expect(throws: StoreError.self) { _ = try await store.deleteSession(shortIDPrefix: "zz") }
            #expect(try await store.deleteSession(shortIDPrefix: "ABABABABAB01") == 1)
            #expect(try await store.liveSessions(at: 0).map(\.0) == [second])
            await #expect(throws: StoreError.self) { _ = try await store.deleteSession(shortIDPrefix: "ababababab01") }
            #expect(try await store.deleteAllSessions() == 1)
        }
    }

    @Test("disabling a user or removing them ends their sessions, so enabling them again brings none back", arguments: StoreBackend.all)
    func disablingEndsSessions(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            var alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
            let bob = try await store.createUser(UserRecord(name: "bob", createdAt: 1))
            try await store.createSession(Self.session(1, userID: alice.id))
            try await store.createSession(Self.session(2, userID: bob.id))
            alice.disabled = true
            #expect(try await store.updateUser(alice, endingSessions: false) == 1)
            alice.disabled = false
            try await store.updateUser(alice)
            #expect(try await store.liveSessions(at: 0).map(\.1.name) == ["bob"])
            try await store.createSession(Self.session(3, userID: alice.id))
            try await store.deleteUser(named: "alice")
            #expect(try await store.liveSessions(at: 0).map(\.1.name) == ["bob"])
        }
    }

    @Test("a new password ends the sessions that proved only the old one; sessions of two factors stay unless asked", arguments: StoreBackend.all)
    func passwordChangeEndsPasswordOnlySessions(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            var alice = try await store.createUser(UserRecord(name: "alice", passwordHash: "$scrypt$old", createdAt: 1))
            try await store.createSession(Self.session(1, userID: alice.id, level: .password))
            try await store.createSession(Self.session(2, userID: alice.id, level: .passwordAndCode))
            try await store.createSession(Self.session(3, userID: alice.id, level: .code))
            alice.email = "alice@example.com"
            #expect(try await store.updateUser(alice, endingSessions: false) == 0, "no new password, nothing ends")
            alice.passwordHash = "$scrypt$new"
            #expect(try await store.updateUser(alice, endingSessions: false) == 1)
            #expect(try await store.liveSessions(at: 0).map(\.0.authLevel).sorted() == [1, 2])
            #expect(try await store.liveSession(idHash: Array(repeating: 1, count: 32), at: 0) == nil)
        }
    }

    @Test("a user's sessions are read alone, and one session by its hash while it lives", arguments: StoreBackend.all)
    func lookups(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
            let bob = try await store.createUser(UserRecord(name: "bob", createdAt: 1))
            try await store.createSession(Self.session(1, userID: alice.id))
            try await store.createSession(Self.session(2, userID: bob.id))
            try await store.createSession(Self.session(3, userID: alice.id, expiresAt: 50))
            #expect(try await store.liveSessions(userID: alice.id, at: 60).map(\.0) == [Self.session(1, userID: alice.id)])
            #expect(try await store.liveSessions(userID: alice.id, at: 0).count == 2)
            #expect(try await store.liveSession(idHash: Array(repeating: 2, count: 32), at: 60)?.1.name == "bob")
            #expect(try await store.liveSession(idHash: Array(repeating: 3, count: 32), at: 60) == nil)
            #expect(try await store.liveSession(idHash: Array(repeating: 9, count: 32), at: 0) == nil)
        }
    }
}
