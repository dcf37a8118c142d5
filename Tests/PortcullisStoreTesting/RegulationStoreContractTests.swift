import PortcullisCore
import PortcullisStore
import PortcullisTestSupport
import Testing

@Suite struct RegulationStoreContractTests {
    let policy = RegulationPolicy(maxRetries: 3, findTime: 600, banTime: 900, maxOTPFailures: 4)

    /// Reserves and settles one attempt as a failure; returns the bans it started.
    static func fail(_ store: any Store, name: String, ip: String, at time: Int64, policy: RegulationPolicy, wrongCodeOf: Int64? = nil) async throws -> Settlement {
        guard case .admitted(let ticket) = try await store.reserveAttempt(keys: RegulationKeys(name: name, client: ip), at: time, policy: policy) else {
            Issue.record("attempt of \(name) from \(ip) at \(time) was not admitted")
            return Settlement()
        }
        return try await store.settleAttempt(ticket, outcome: .failed(wrongCodeOf: wrongCodeOf), at: time, policy: policy)
    }

    @Test("failures within the window ban the name and the address; the count starts again after a ban", arguments: StoreBackend.all)
    func bans(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            // Two failures, then one outside the window: no ban yet.
            #expect(try await Self.fail(store, name: "alice", ip: "203.0.113.7", at: 1000, policy: policy).bans.isEmpty)
            #expect(try await Self.fail(store, name: "alice", ip: "198.51.100.1", at: 1100, policy: policy).bans.isEmpty)
            #expect(try await Self.fail(store, name: "Alice", ip: "203.0.113.7", at: 1650, policy: policy).bans.isEmpty)
            // The third within 600 s of the second bans the name (not the addresses: 2 and 1 failures).
            let bans = try await Self.fail(store, name: "ALICE", ip: "203.0.113.8", at: 1660, policy: policy).bans
            #expect(bans == [Ban(kind: .user, value: "ALICE", createdAt: 1660, until: 2560)])
            #expect(try await store.activeBan(userName: "alice", clientIP: "192.0.2.1", at: 2000)?.kind == .user)
            #expect(try await store.activeBan(userName: "alice", clientIP: "192.0.2.1", at: 2560) == nil)
            #expect(try await store.activeBan(userName: "bob", clientIP: "203.0.113.7", at: 2000) == nil)
            // A banned key is not admitted, and says until when.
            let refused = try await store.reserveAttempt(keys: RegulationKeys(name: "alice", client: "192.0.2.1"), at: 2000, policy: policy)
            #expect(refused == .refused(.banned(Ban(kind: .user, value: "alice", createdAt: 2000, until: 2560))))

            // Three failures of one address under different names ban the address.
            _ = try await Self.fail(store, name: "x", ip: "192.0.2.9", at: 3000, policy: policy)
            _ = try await Self.fail(store, name: "y", ip: "192.0.2.9", at: 3001, policy: policy)
            let ipBans = try await Self.fail(store, name: "", ip: "192.0.2.9", at: 3002, policy: policy).bans
            #expect(ipBans.map(\.kind) == [.ip])
            #expect(try await store.activeBan(userName: nil, clientIP: "192.0.2.9", at: 3500)?.until == 3902)
            #expect(try await store.activeBans(at: 3500).map(\.value) == ["192.0.2.9"])
            // Lifting it forgets the failures counted toward the next one.
            #expect(try await store.removeBan(kind: .ip, value: "192.0.2.9") == 1)
            #expect(try await store.removeBan(kind: .ip, value: "192.0.2.9") == 0)
            #expect(try await store.activeBan(userName: nil, clientIP: "192.0.2.9", at: 3500) == nil)
            #expect(try await Self.fail(store, name: "z", ip: "192.0.2.9", at: 3501, policy: policy).bans.isEmpty)
        }
    }

    @Test("an attempt counts before it is checked: in flight plus failures never exceed max_retries", arguments: StoreBackend.all)
    func reservations(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let policy = RegulationPolicy(maxRetries: 3, findTime: 600, banTime: 900, maxOTPFailures: 0, maxInFlight: 2)
            let keys = RegulationKeys(name: "bob", client: "203.0.113.5")
            guard case .admitted(let first) = try await store.reserveAttempt(keys: keys, at: 100, policy: policy),
                  case .admitted(let second) = try await store.reserveAttempt(keys: keys, at: 100, policy: policy) else {
                Issue.record("the first two attempts were not admitted")
                return
            }
            // Two in flight: the cap on attempts in flight refuses a third, from the same name or the same address.
            #expect(try await store.reserveAttempt(keys: keys, at: 100, policy: policy) == .refused(.busy(retryAfter: 1)))
            #expect(try await store.reserveAttempt(keys: RegulationKeys(name: "bob", client: "198.51.100.9"), at: 100, policy: policy) == .refused(.busy(retryAfter: 1)))
            #expect(try await store.reserveAttempt(keys: RegulationKeys(name: "carol", client: "203.0.113.5"), at: 100, policy: policy) == .refused(.busy(retryAfter: 1)))
            // A success gives its place back.
            _ = try await store.settleAttempt(first, outcome: .succeeded(userID: 1), at: 101, policy: policy)
            _ = try await store.settleAttempt(second, outcome: .failed(wrongCodeOf: nil), at: 101, policy: policy)
            guard case .admitted(let third) = try await store.reserveAttempt(keys: keys, at: 102, policy: policy),
                  case .admitted(let fourth) = try await store.reserveAttempt(keys: keys, at: 102, policy: policy) else {
                Issue.record("a place given back was not reusable")
                return
            }
            // One failure and two in flight make three, the limit: nothing more is checked until they settle.
            #expect(try await store.reserveAttempt(keys: keys, at: 102, policy: policy) == .refused(.busy(retryAfter: 1)))
            #expect(try await store.settleAttempt(third, outcome: .failed(wrongCodeOf: nil), at: 103, policy: policy).bans.isEmpty)
            let bans = try await store.settleAttempt(fourth, outcome: .failed(wrongCodeOf: nil), at: 103, policy: policy).bans
            #expect(bans.map(\.kind) == [.user, .ip])
            guard case .refused(.banned) = try await store.reserveAttempt(keys: keys, at: 104, policy: policy) else {
                Issue.record("a banned key was admitted")
                return
            }
            // An attempt never settled (its server stopped) stops counting as in flight after a minute, but stays a failure.
            let strict = RegulationPolicy(maxRetries: 2, findTime: 600, banTime: 900, maxOTPFailures: 0, maxInFlight: 1)
            let lost = RegulationKeys(name: "erin", client: "192.0.2.50")
            guard case .admitted = try await store.reserveAttempt(keys: lost, at: 300, policy: strict) else { return }
            #expect(try await store.reserveAttempt(keys: lost, at: 330, policy: strict) == .refused(.busy(retryAfter: 1)))
            guard case .admitted = try await store.reserveAttempt(keys: lost, at: 300 + RegulationPolicy.inFlightExpiry + 1, policy: strict) else {
                Issue.record("an attempt lost a minute ago still blocks its key")
                return
            }
            // An abandoned attempt (never checked) gives its place back.
            let other = RegulationKeys(name: "dave", client: "192.0.2.77")
            guard case .admitted(let unchecked) = try await store.reserveAttempt(keys: other, at: 200, policy: policy) else { return }
            _ = try await store.settleAttempt(unchecked, outcome: .abandoned, at: 200, policy: policy)
            for _ in 0..<2 {
                #expect(try await Self.fail(store, name: "dave", ip: "192.0.2.77", at: 201, policy: policy).bans.isEmpty)
            }
        }
    }

    @Test("bans and lockouts survive reopening the store", arguments: StoreBackend.all)
    func persistence(backend: StoreBackend) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await backend.open(directory)
        let alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
        for time in 0..<3 { _ = try await Self.fail(store, name: "mallory", ip: "203.0.113.66", at: 100 + Int64(time), policy: policy) }
        for time in 0..<4 { _ = try await Self.fail(store, name: "alice", ip: "198.51.100.\(time)", at: 700 + Int64(time), policy: RegulationPolicy(maxRetries: 100, maxOTPFailures: 4), wrongCodeOf: alice.id) }
        try await store.close()
        let reopened = try await backend.open(directory)
        #expect(try await reopened.activeBan(userName: nil, clientIP: "203.0.113.66", at: 500) != nil)
        #expect(try await reopened.lockedAt(userID: alice.id) == 703)
        try await reopened.close()
    }

    @Test("wrong codes in a row lock a user at the limit; a good login resets the count; only unlock ends a lock", arguments: StoreBackend.all)
    func lockout(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let policy = RegulationPolicy(maxRetries: 1000, findTime: 600, banTime: 900, maxOTPFailures: 4)
            let alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
            func wrongCode(at time: Int64) async throws -> Bool {
                try await Self.fail(store, name: "alice", ip: "203.0.113.7", at: time, policy: policy, wrongCodeOf: alice.id).locked
            }
            func goodLogin(at time: Int64) async throws {
                guard case .admitted(let ticket) = try await store.reserveAttempt(keys: RegulationKeys(name: "alice", client: "203.0.113.7"), at: time, policy: policy) else { return }
                _ = try await store.settleAttempt(ticket, outcome: .succeeded(userID: alice.id), at: time, policy: policy)
            }
            for time in 0..<3 { #expect(try await !wrongCode(at: Int64(time))) }
            try await goodLogin(at: 10)
            for time in 20..<23 { #expect(try await !wrongCode(at: Int64(time))) }
            #expect(try await store.lockedAt(userID: alice.id) == nil)
            #expect(try await wrongCode(at: 50))
            #expect(try await !wrongCode(at: 60), "locks once, not again")
            try await goodLogin(at: 70)
            #expect(try await store.lockedAt(userID: alice.id) == 50, "a good login cannot happen while locked; settling one does not unlock")
            #expect(try await store.unlock(userID: alice.id))
            #expect(try await !store.unlock(userID: alice.id))
            #expect(try await store.lockedAt(userID: alice.id) == nil)
            // With the lockout off, nothing locks.
            let off = RegulationPolicy(maxRetries: 1000, findTime: 600, banTime: 900, maxOTPFailures: 0)
            for time in 100..<120 { #expect(try await !Self.fail(store, name: "alice", ip: "203.0.113.7", at: Int64(time), policy: off, wrongCodeOf: alice.id).locked) }
        }
    }

    @Test("the audit retention removes old entries only", arguments: StoreBackend.all)
    func auditRetention(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            for time in [10, 20, 30, 40] as [Int64] {
                try await store.appendAudit(AuditEntry(time: time, event: .logout, userName: "alice", clientIP: "203.0.113.7"))
            }
            #expect(try await store.purgeAudit(before: 25) == 2)
            #expect(try await store.auditEntries(userName: nil, since: 0, limit: 100).map(\.time) == [30, 40])
            #expect(try await store.purgeAudit(before: 25) == 0)
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
