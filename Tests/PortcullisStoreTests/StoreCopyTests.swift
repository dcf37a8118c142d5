import Foundation
import PortcullisCore
import PortcullisStore
import PortcullisStoreTesting
import PortcullisTestSupport
import Testing

/// `storage copy`'s store side: a snapshot read from one backend and loaded into the other gives
/// back the same snapshot, and a load into a store that holds data writes nothing.
@Suite struct StoreCopyTests {
    /// A store with something in every table.
    static func fill(_ store: any Store) async throws {
        try await store.setStorageKeyCheckIfAbsent([7, 7, 7])
        try await store.setSealedRecoveryKeyIfAbsent([8, 8])
        try await store.setSealedSharedKeyIfAbsent(named: SharedKey.csrf, [9])
        let alice = try await store.createUser(StoreContractTests.alice())
        var bob = try await store.createUser(UserRecord(name: "Bob", createdAt: 2))
        bob.disabled = true
        try await store.updateUser(bob)
        try await store.addDevice(StoreContractTests.device("d1", userID: alice.id))
        try await store.addDevice(OTPDeviceRecord(id: "d2", userID: alice.id, label: "Ключ", parameters: OTPParameters(type: .hotp), sealedSecret: [4, 5],
                                                  sealedPIN: [6], state: OTPDeviceState(lastAccepted: 42, drift: -1), createdAt: 1_700_000_100, lastUsedAt: 5))
        for index in 0..<3 {
            try await store.createSession(SessionRecord(idHash: Array(repeating: UInt8(index), count: 32), userID: alice.id, createdAt: Int64(index),
                                                        lastActivity: 10, expiresAt: .max, clientIP: "2001:db8::\(index)", authLevel: 2, rememberMe: index == 1,
                                                        cookieDomain: "example.com"))
        }
        _ = try await store.addAppPassword(AppPasswordRecord(userID: alice.id, label: "mail", hash: [1, 1], createdAt: 3, expiresAt: 99, level: .password))
        try await store.replaceRecoveryCodes(userID: alice.id, hashes: [[1], [2], [3]], at: 4)
        try await store.createInvitation(InvitationRecord(tokenHash: [5, 5], userID: bob.id, kind: .enroll, createdAt: 5, expiresAt: 500))
        let policy = RegulationPolicy(maxRetries: 2, findTime: 600, banTime: 900, maxOTPFailures: 5)
        for time in Int64(100)...102 {
            guard case .admitted(let ticket) = try await store.reserveAttempt(keys: RegulationKeys(name: "alice", client: "203.0.113.\(time)"), at: time, policy: policy)
            else { continue }
            _ = try await store.settleAttempt(ticket, outcome: .failed(wrongCodeOf: alice.id), at: time, policy: policy)
        }
        _ = try await store.reserveAttempt(keys: RegulationKeys(name: "carol", client: "198.51.100.1"), at: 103, policy: policy)
        for event in [AuditEntry.Event.loginSucceeded, .loginFailed, .loginSucceeded] {
            try await store.appendAudit(AuditEntry(time: 200, event: event, userName: "alice", clientIP: "192.0.2.1", reason: "\(event)"))
        }
    }

    @Test("everything copied from SQLite to PostgreSQL and back reads the same; counts are checked")
    func roundTrip() async throws {
        try await withStore(.sqlite) { source, _ in
            try await Self.fill(source)
            let original = try await source.snapshot()
            #expect(original.counts == StoreCounts(users: 2, devices: 2, sessions: 3, appPasswords: 1, recoveryCodes: 3, invitations: 1, lockouts: 1,
                                                   bans: 1, failures: 1, audit: 3, secrets: 3), "\(original.counts)")
            try await withStore(.postgres) { middle, _ in
                try await middle.load(original)
                #expect(try await middle.counts() == original.counts)
                #expect(try await middle.snapshot() == original)
                // The copy is a working store: new rows get new ids, lookups work.
                let carol = try await middle.createUser(UserRecord(name: "carol", createdAt: 9))
                #expect(carol.id > (original.users.map(\.id).max() ?? 0))
                #expect(try await middle.user(named: "BOB")?.disabled == true)
                #expect(try await middle.activeBan(userName: "ALICE", clientIP: "192.0.2.9", at: 150) != nil)
                try await middle.deleteUser(named: "carol")
                try await withStore(.sqlite) { back, _ in
                    try await back.load(try await middle.snapshot())
                    #expect(try await back.snapshot() == original)
                }
            }
        }
    }

    @Test("a load into a store that holds data is refused and writes nothing", arguments: StoreBackend.all)
    func notEmpty(backend: StoreBackend) async throws {
        try await withStore(.sqlite) { source, _ in
            try await Self.fill(source)
            let snapshot = try await source.snapshot()
            try await withStore(backend) { target, _ in
                _ = try await target.createUser(UserRecord(name: "zed", createdAt: 1))
                let before = try await target.counts()
                await #expect(throws: StoreError.self) { try await target.load(snapshot) }
                #expect(try await target.counts() == before)
            }
        }
    }
}
