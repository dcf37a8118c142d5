import PortcullisCore
import PortcullisStore
import PortcullisTestSupport
import Testing

@Suite struct RegulationStoreContractTests {
    let policy = RegulationPolicy(maxRetries: 3, findTime: 600, banTime: 900, maxOTPFailures: 4)

    @Test("failures within the window ban the name and the address; the count starts again after a ban", arguments: StoreBackend.all)
    func bans(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            // Two failures, then one outside the window: no ban yet.
            #expect(try await store.recordFailure(userName: "alice", clientIP: "203.0.113.7", at: 1000, policy: policy).isEmpty)
            #expect(try await store.recordFailure(userName: "alice", clientIP: "198.51.100.1", at: 1100, policy: policy).isEmpty)
            #expect(try await store.recordFailure(userName: "Alice", clientIP: "203.0.113.7", at: 1650, policy: policy).isEmpty)
            // The third within 600 s of the others bans the name (case-insensitively) but not yet either address.
            let bans = try await store.recordFailure(userName: "ALICE", clientIP: "203.0.113.8", at: 1660, policy: policy)
            #expect(bans == [Ban(kind: .user, value: "ALICE", createdAt: 1660, until: 2560)])
            #expect(try await store.activeBan(userName: "alice", clientIP: "192.0.2.1", at: 2000)?.kind == .user)
            #expect(try await store.activeBan(userName: "alice", clientIP: "192.0.2.1", at: 2560) == nil)
            #expect(try await store.activeBan(userName: "bob", clientIP: "203.0.113.7", at: 2000) == nil)

            // An address that fails for several names is banned on its own.
            _ = try await store.recordFailure(userName: "x", clientIP: "192.0.2.9", at: 3000, policy: policy)
            _ = try await store.recordFailure(userName: "y", clientIP: "192.0.2.9", at: 3001, policy: policy)
            let ipBans = try await store.recordFailure(userName: "", clientIP: "192.0.2.9", at: 3002, policy: policy)
            #expect(ipBans.map(\.kind) == [.ip])
            #expect(try await store.activeBan(userName: nil, clientIP: "192.0.2.9", at: 3500)?.until == 3902)
            #expect(try await store.activeBans(at: 3500).map(\.value) == ["192.0.2.9"])

            // Lifting a ban also forgets its count.
            #expect(try await store.removeBan(kind: .ip, value: "192.0.2.9") == 1)
            #expect(try await store.removeBan(kind: .ip, value: "192.0.2.9") == 0)
            #expect(try await store.activeBan(userName: nil, clientIP: "192.0.2.9", at: 3500) == nil)
            #expect(try await store.recordFailure(userName: "z", clientIP: "192.0.2.9", at: 3501, policy: policy).isEmpty)
        }
    }

    @Test("bans and lockouts survive reopening the store", arguments: StoreBackend.all)
    func persistence(backend: StoreBackend) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await backend.open(directory)
        let alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
        for time in 0..<3 { _ = try await store.recordFailure(userName: "mallory", clientIP: "203.0.113.66", at: 100 + Int64(time), policy: policy) }
        for time in 0..<4 { _ = try await store.recordOTPFailure(userID: alice.id, at: 100 + Int64(time), limit: 4) }
        try await store.close()
        let reopened = try await backend.open(directory)
        #expect(try await reopened.activeBan(userName: nil, clientIP: "203.0.113.66", at: 500) != nil)
        #expect(try await reopened.lockedAt(userID: alice.id) == 103)
        try await reopened.close()
    }

    @Test("wrong codes in a row lock a user at the limit; a good login resets the count; only unlock ends a lock", arguments: StoreBackend.all)
    func lockout(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
            for time in 0..<3 { #expect(try await !store.recordOTPFailure(userID: alice.id, at: Int64(time), limit: 4)) }
            try await store.clearOTPFailures(userID: alice.id)
            for time in 0..<3 { #expect(try await !store.recordOTPFailure(userID: alice.id, at: Int64(time), limit: 4)) }
            #expect(try await store.lockedAt(userID: alice.id) == nil)
            #expect(try await store.recordOTPFailure(userID: alice.id, at: 50, limit: 4))
            #expect(try await !store.recordOTPFailure(userID: alice.id, at: 60, limit: 4), "locks once, not again")
            try await store.clearOTPFailures(userID: alice.id)
            #expect(try await store.lockedAt(userID: alice.id) == 50, "a good login cannot happen while locked; clearing does not unlock")
            #expect(try await store.unlock(userID: alice.id))
            #expect(try await !store.unlock(userID: alice.id))
            #expect(try await store.lockedAt(userID: alice.id) == nil)
            // With the lockout off, nothing locks.
            for time in 0..<20 { #expect(try await !store.recordOTPFailure(userID: alice.id, at: Int64(time), limit: 0)) }
        }
    }

    @Test("the audit trail keeps entries in order and filters by user and time", arguments: StoreBackend.all)
    func audit(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let entries = [
                AuditEntry(time: 10, event: .loginFailed, userName: "alice", clientIP: "203.0.113.7", reason: "bad_otp"),
                AuditEntry(time: 20, event: .loginSucceeded, userName: "alice", clientIP: "203.0.113.7"),
                AuditEntry(time: 30, event: .banned, userName: "", clientIP: "192.0.2.9", reason: "3 failures within 600 s"),
                AuditEntry(time: 40, event: .logout, userName: "Alice", clientIP: "203.0.113.7"),
            ]
            for entry in entries { try await store.appendAudit(entry) }
            #expect(try await store.auditEntries(userName: nil, since: 0, limit: 100) == entries)
            #expect(try await store.auditEntries(userName: "ALICE", since: 15, limit: 100) == [entries[1], entries[3]])
            #expect(try await store.auditEntries(userName: nil, since: 0, limit: 2) == Array(entries.prefix(2)))
        }
    }
}
