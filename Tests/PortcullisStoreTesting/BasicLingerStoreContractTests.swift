import PortcullisCore
import PortcullisStore
import PortcullisTestSupport
import Testing

@Suite struct BasicLingerStoreContractTests {
    static func record(_ key: UInt8, user: Int64, at time: Int64 = 100, linger: Int64 = 600, appPassword: Int64? = nil, after sequence: Int64) -> BasicLingerRecord {
        BasicLingerRecord(key: Array(repeating: key, count: 32), userID: user, appPasswordID: appPassword, level: .passwordAndCode,
                          acceptedAt: time, lastUsed: time, expiresAt: time + linger, checkedAfter: sequence)
    }

    @Test("a lingering credential is kept by its key with its user until it expires; uses are recorded, never backwards; the purge removes the expired",
          arguments: StoreBackend.all)
    func lifecycle(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(UserRecord(name: "alice", groups: ["dav"], createdAt: 1))
            let since = try await store.latestChangeSequence()
            var appPassword = Self.record(2, user: alice.id, appPassword: 77, after: since)
            appPassword.level = .password
            #expect(try await store.rememberBasicLinger(Self.record(1, user: alice.id, after: since)))
            #expect(try await store.rememberBasicLinger(appPassword))
            let lookup = try await store.basicLinger(key: Array(repeating: 1, count: 32), at: 699)
            let found = try #require(lookup.found)
            #expect(found.record == Self.record(1, user: alice.id, after: since))
            #expect(found.user.name == "alice" && found.user.groups == ["dav"])
            #expect(lookup.latestChange == (try await store.latestChangeSequence()))
            #expect(try await store.basicLinger(key: Array(repeating: 2, count: 32), at: 699).found?.record == appPassword)
            #expect(try await store.basicLinger(key: Array(repeating: 1, count: 32), at: 700).found == nil, "expired at accepted + linger")
            #expect(try await store.basicLinger(key: Array(repeating: 3, count: 32), at: 100).found == nil)
            #expect(try await store.basicLinger(key: [1, 1], at: 100).found == nil, "a key of another length is nobody's")
            await #expect(throws: StoreError.self) {
                _ = try await store.rememberBasicLinger(BasicLingerRecord(key: [1], userID: alice.id, appPasswordID: nil, level: .password,
                                                                          acceptedAt: 1, lastUsed: 1, expiresAt: 2, checkedAfter: since))
            }

            try await store.touchBasicLinger(key: Array(repeating: 1, count: 32), at: 300)
            try await store.touchBasicLinger(key: Array(repeating: 1, count: 32), at: 200)
            #expect(try await store.basicLinger(key: Array(repeating: 1, count: 32), at: 301).found?.record.lastUsed == 300)
            // Accepted again (a new code): the record is replaced.
            #expect(try await store.rememberBasicLinger(Self.record(1, user: alice.id, at: 650, after: since)))
            #expect(try await store.basicLinger(key: Array(repeating: 1, count: 32), at: 1000).found?.record.acceptedAt == 650)

            #expect(try await store.purgeBasicLingers(before: 700) == 1)
            #expect(try await store.basicLinger(key: Array(repeating: 2, count: 32), at: 100).found == nil)
            #expect(try await store.basicLinger(key: Array(repeating: 1, count: 32), at: 1000).found != nil)
            #expect(try await store.rememberBasicLinger(Self.record(4, user: 9999, after: since)) == false, "no such user")
        }
    }

    @Test("a change of the user, a device or an app password deletes the user's lingering credentials with it; sessions and other users do not",
          arguments: StoreBackend.all)
    func changesForget(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
            let bob = try await store.createUser(UserRecord(name: "bob", createdAt: 1))
            var random = SeededGenerator(seed: 5)
            let appPassword = AppPassword.generate(using: &random)
            _ = try await store.addAppPassword(AppPasswordRecord(userID: alice.id, label: "calendar", hash: appPassword.storageHash, createdAt: 1))
            try await store.addDevice(OTPDeviceRecord(id: "d1", userID: alice.id, label: "phone", parameters: OTPParameters(), sealedSecret: [1], createdAt: 1))

            let changes: [(String, @Sendable () async throws -> Void)] = [
                ("password", { var changed = alice; changed.passwordHash = "new"; _ = try await store.updateUser(changed, endingSessions: false) }),
                ("device", { try await store.removeDevice(userID: alice.id, label: "phone") }),
                ("app password", { try await store.removeAppPassword(userID: alice.id, label: "calendar") }),
                ("removed", { try await store.deleteUser(named: "alice") }),
            ]
            for (what, change) in changes {
                let since = try await store.latestChangeSequence()
                #expect(try await store.rememberBasicLinger(Self.record(1, user: alice.id, after: since)), "\(what)")
                #expect(try await store.rememberBasicLinger(Self.record(2, user: bob.id, after: since)), "\(what)")
                try await store.createSession(SessionRecord(idHash: Array(repeating: 9, count: 32), userID: alice.id, createdAt: 100, lastActivity: 100,
                                                            expiresAt: 10_000, clientIP: "203.0.113.7", authLevel: 2, rememberMe: false, cookieDomain: "example.com"))
                #expect(try await store.basicLinger(key: Array(repeating: 1, count: 32), at: 100).found != nil, "a session leaves it: \(what)")
                _ = try await store.deleteSession(idHash: Array(repeating: 9, count: 32))
                try await change()
                #expect(try await store.basicLinger(key: Array(repeating: 1, count: 32), at: 100).found == nil, "\(what)")
                #expect(try await store.basicLinger(key: Array(repeating: 2, count: 32), at: 100).found != nil, "bob's stays: \(what)")
                if what != "removed" {
                    // Checked before the change, remembered after it: not kept, for the check was of what changed.
                    #expect(try await store.rememberBasicLinger(Self.record(1, user: alice.id, after: since)) == false, "\(what)")
                    #expect(try await store.rememberBasicLinger(Self.record(1, user: alice.id, after: try await store.latestChangeSequence())))
                    #expect(try await store.rememberBasicLinger(Self.record(2, user: bob.id, after: since)), "another user's change does not count")
                }
            }
        }
    }

    @Test("when the change log was pruned past the check, the credential is not kept", arguments: StoreBackend.all)
    func pruned(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
            let since = try await store.latestChangeSequence()
            for index in 0..<3 {
                try await store.createSession(SessionRecord(idHash: Array(repeating: UInt8(index), count: 32), userID: alice.id, createdAt: 1, lastActivity: 1,
                                                            expiresAt: 10_000, clientIP: "203.0.113.7", authLevel: 2, rememberMe: false, cookieDomain: "example.com"))
            }
            _ = try await store.pruneChanges(keepingLast: 0)
            #expect(try await store.rememberBasicLinger(Self.record(1, user: alice.id, after: since)) == false)
            #expect(try await store.rememberBasicLinger(Self.record(1, user: alice.id, after: try await store.latestChangeSequence())))
        }
    }

    @Test("a record a change of its user did not delete (another program's write) is not read", arguments: StoreBackend.all)
    func staleRecordIgnored(backend: StoreBackend) async throws {
        try await withStore(backend) { store, directory in
            let alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
            #expect(try await store.rememberBasicLinger(Self.record(1, user: alice.id, after: try await store.latestChangeSequence())))
            // A session started for her is no reason; a password change logged behind the store's back is.
            try backend.execute(directory, "INSERT INTO changes (at, kind, user_id) VALUES (1, 'session_started', \(alice.id))")
            #expect(try await store.basicLinger(key: Array(repeating: 1, count: 32), at: 100).found != nil)
            try backend.execute(directory, "INSERT INTO changes (at, kind, user_id) VALUES (1, 'user_password', \(alice.id))")
            #expect(try await store.basicLinger(key: Array(repeating: 1, count: 32), at: 100).found == nil)
        }
    }

    @Test("revoking a user's sessions ends their lingering credentials too, and says so in the log; revoking all ends everyone's", arguments: StoreBackend.all)
    func revoked(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
            let bob = try await store.createUser(UserRecord(name: "bob", createdAt: 1))
            let since = try await store.latestChangeSequence()
            #expect(try await store.deleteSessions(userID: alice.id) == 0)
            #expect(try await loggedChanges(store, after: since).isEmpty, "nothing ended, nothing logged")
            #expect(try await store.rememberBasicLinger(Self.record(1, user: alice.id, after: since)))
            #expect(try await store.rememberBasicLinger(Self.record(2, user: bob.id, after: since)))
            #expect(try await store.deleteSessions(userID: alice.id) == 0)
            #expect(try await loggedChanges(store, after: since).map(\.kind) == [.basicCredentialsEnded])
            #expect(try await store.basicLinger(key: Array(repeating: 1, count: 32), at: 100).found == nil)
            #expect(try await store.basicLinger(key: Array(repeating: 2, count: 32), at: 100).found != nil)
            let before = try await store.latestChangeSequence()
            #expect(try await store.deleteAllSessions() == 0)
            #expect(try await loggedChanges(store, after: before).map(\.kind) == [.allSessionsEnded])
            #expect(try await store.basicLinger(key: Array(repeating: 2, count: 32), at: 100).found == nil)
        }
    }
}
