import PortcullisCore
import PortcullisStore
import PortcullisTestSupport
import Testing

@Suite struct InvitationStoreContractTests {
    static func invitation(_ user: UserRecord, hash: UInt8, kind: InvitationRecord.Kind = .enroll, expiresAt: Int64 = 100) -> InvitationRecord {
        InvitationRecord(tokenHash: Array(repeating: hash, count: 32), userID: user.id, kind: kind, createdAt: 1, expiresAt: expiresAt)
    }

    static func completion(_ user: UserRecord, hash: UInt8, password: String? = "hash", replaces: Bool = false, label: String = "Phone") -> InvitationCompletion {
        let device = OTPDeviceRecord(id: "dev-\(hash)-\(label)", userID: user.id, label: label, parameters: OTPParameters(), sealedSecret: [9],
                                     state: OTPDeviceState(lastAccepted: 7), createdAt: 2)
        return InvitationCompletion(tokenHash: Array(repeating: hash, count: 32), userID: user.id, newPasswordHash: password, device: device,
                                    replacesDevices: replaces, recoveryCodeHashes: [[1], [2], [3]])
    }

    @Test("an invitation is found until it expires; a new one voids the user's earlier one; expired ones are purged", arguments: StoreBackend.all)
    func lookup(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let bob = try await store.createUser(UserRecord(name: "bob", createdAt: 1))
            try await store.createInvitation(Self.invitation(bob, hash: 1))
            let found = try #require(try await store.invitation(tokenHash: Array(repeating: 1, count: 32), at: 99))
            #expect(found.0 == Self.invitation(bob, hash: 1) && found.1.name == "bob")
            #expect(try await store.invitation(tokenHash: Array(repeating: 1, count: 32), at: 100) == nil, "expired at expiresAt")
            #expect(try await store.invitation(tokenHash: Array(repeating: 2, count: 32), at: 5) == nil)
            try await store.createInvitation(Self.invitation(bob, hash: 2, expiresAt: 200))
            #expect(try await store.invitation(tokenHash: Array(repeating: 1, count: 32), at: 5) == nil, "voided by the newer one")
            #expect(try await store.purgeInvitations(before: 150) == 0)
            #expect(try await store.purgeInvitations(before: 200) == 1)
            #expect(try await store.invitation(tokenHash: Array(repeating: 2, count: 32), at: 5) == nil)
        }
    }

    @Test("completing writes the password, device and recovery codes at once, only once, and only before expiry", arguments: StoreBackend.all)
    func complete(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let bob = try await store.createUser(UserRecord(name: "bob", createdAt: 1))
            try await store.createInvitation(Self.invitation(bob, hash: 1))
            #expect(try await store.completeInvitation(Self.completion(bob, hash: 1), at: 100) == false, "expired")
            #expect(try await store.devices(ofUserID: bob.id).isEmpty)
            try await store.createInvitation(Self.invitation(bob, hash: 3))
            // The losers are told `false`, not an error.
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<6 {
                    group.addTask { try await store.completeInvitation(Self.completion(bob, hash: 3, label: "Phone \(index)"), at: 50) }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(wins == 1)
            let devices = try await store.devices(ofUserID: bob.id)
            #expect(devices.count == 1 && devices[0].state.lastAccepted == 7)
            #expect(try await store.user(named: "bob")?.passwordHash == "hash")
            #expect(try await store.recoveryCodeCount(userID: bob.id) == 3)
        }
    }

    @Test("a reset removes the other devices and ends the user's sessions, logging each change, and touches no other user", arguments: StoreBackend.all)
    func reset(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(UserRecord(name: "alice", passwordHash: "old", createdAt: 1))
            let carol = try await store.createUser(UserRecord(name: "carol", createdAt: 1))
            try await store.addDevice(OTPDeviceRecord(id: "old-1", userID: alice.id, label: "old", parameters: OTPParameters(), sealedSecret: [1], createdAt: 1))
            try await store.createSession(SessionRecord(idHash: Array(repeating: 5, count: 32), userID: alice.id, createdAt: 1, lastActivity: 1, expiresAt: 1000,
                                                        clientIP: "192.0.2.1", authLevel: 2, rememberMe: false, cookieDomain: "example.com"))
            try await store.createSession(SessionRecord(idHash: Array(repeating: 6, count: 32), userID: carol.id, createdAt: 1, lastActivity: 1, expiresAt: 1000,
                                                        clientIP: "192.0.2.1", authLevel: 2, rememberMe: false, cookieDomain: "example.com"))
            try await store.createInvitation(Self.invitation(alice, hash: 4, kind: .resetOTP))
            let before = try await store.latestChangeSequence()
            #expect(try await store.completeInvitation(Self.completion(alice, hash: 4, password: nil, replaces: true), at: 10))
            #expect(try await store.devices(ofUserID: alice.id).map(\.label) == ["Phone"])
            #expect(try await store.user(named: "alice")?.passwordHash == "old", "a reset keeps the password")
            #expect(try await store.liveSessions(userID: alice.id, at: 10).isEmpty)
            #expect(try await store.liveSessions(userID: carol.id, at: 10).count == 1)
            guard case .changes(let changes) = try await store.changes(after: before, limit: 100) else { Issue.record("no changes"); return }
            #expect(Set(changes.map(\.kind)) == [.deviceRemoved, .sessionEnded, .deviceAdded])
        }
    }

    @Test("devices are renamed, and removed only while another is left", arguments: StoreBackend.all)
    func renameAndRemove(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
            for label in ["phone", "tablet"] {
                try await store.addDevice(OTPDeviceRecord(id: label, userID: alice.id, label: label, parameters: OTPParameters(), sealedSecret: [1], createdAt: 1))
            }
            try await store.renameDevice(userID: alice.id, label: "PHONE", to: "Pixel 8")
            await #expect(throws: StoreError.self) { try await store.renameDevice(userID: alice.id, label: "tablet", to: "pixel 8") }
            await #expect(throws: StoreError.self) { try await store.renameDevice(userID: alice.id, label: "laptop", to: "x") }
            await #expect(throws: StoreError.self) { try await store.renameDevice(userID: alice.id, label: "tablet", to: "") }
            #expect(try await store.devices(ofUserID: alice.id).map(\.label) == ["Pixel 8", "tablet"])
            try await store.removeDeviceUnlessLast(userID: alice.id, label: "pixel 8")
            do {
                try await store.removeDeviceUnlessLast(userID: alice.id, label: "tablet")
                Issue.record("the last device was removed")
            } catch let error as StoreError {
                #expect(error.code == .conflict)
            }
            #expect(try await store.devices(ofUserID: alice.id).map(\.label) == ["tablet"])
        }
    }

    @Test("a disabled user's invitation is not found and does not complete; a duplicate device label writes nothing; an enrolment logs the password change", arguments: StoreBackend.all)
    func disabledAndDuplicate(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            var bob = try await store.createUser(UserRecord(name: "bob", createdAt: 1))
            try await store.createInvitation(Self.invitation(bob, hash: 1))
            bob.disabled = true
            try await store.updateUser(bob)
            #expect(try await store.invitation(tokenHash: Array(repeating: 1, count: 32), at: 5) == nil)
            #expect(try await store.completeInvitation(Self.completion(bob, hash: 1), at: 5) == false)
            bob.disabled = false
            try await store.updateUser(bob)
            #expect(try await store.invitation(tokenHash: Array(repeating: 1, count: 32), at: 5) != nil, "enabled again, the link works")
            try await store.addDevice(OTPDeviceRecord(id: "old", userID: bob.id, label: "phone", parameters: OTPParameters(), sealedSecret: [1], createdAt: 1))
            await #expect(throws: StoreError.self) { try await store.completeInvitation(Self.completion(bob, hash: 1, label: "PHONE"), at: 5) }
            #expect(try await store.invitation(tokenHash: Array(repeating: 1, count: 32), at: 5) != nil, "nothing was used up")
            #expect(try await store.user(named: "bob")?.passwordHash == nil)
            let before = try await store.latestChangeSequence()
            #expect(try await store.completeInvitation(Self.completion(bob, hash: 1, label: "Tablet"), at: 5))
            guard case .changes(let changes) = try await store.changes(after: before, limit: 100) else { Issue.record("no changes"); return }
            #expect(changes.map(\.kind) == [.userPasswordChanged, .deviceAdded])
            #expect(try await store.devices(ofUserID: bob.id).map(\.label) == ["phone", "Tablet"])
        }
    }
}

@Suite struct OwnPasswordStoreContractTests {
    @Test("a person's own password change applies only over the hash they proved and while they are enabled, and ends every session", arguments: StoreBackend.all)
    func changeOwnPassword(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            var alice = try await store.createUser(UserRecord(name: "alice", groups: ["dev"], passwordHash: "old", createdAt: 1))
            try await store.createSession(SessionRecord(idHash: Array(repeating: 5, count: 32), userID: alice.id, createdAt: 1, lastActivity: 1, expiresAt: 1000,
                                                        clientIP: "192.0.2.1", authLevel: 2, rememberMe: false, cookieDomain: "example.com"))
            #expect(try await store.changeOwnPassword(userID: alice.id, current: "stale", to: "new") == false)
            alice.disabled = true
            try await store.updateUser(alice)
            #expect(try await store.changeOwnPassword(userID: alice.id, current: "old", to: "new") == false)
            alice.disabled = false
            alice.groups = ["ops"]
            try await store.updateUser(alice)
            try await store.createSession(SessionRecord(idHash: Array(repeating: 6, count: 32), userID: alice.id, createdAt: 1, lastActivity: 1, expiresAt: 1000,
                                                        clientIP: "192.0.2.1", authLevel: 2, rememberMe: false, cookieDomain: "example.com"))
            let before = try await store.latestChangeSequence()
            #expect(try await store.changeOwnPassword(userID: alice.id, current: "old", to: "new"))
            let now = try #require(try await store.user(named: "alice"))
            #expect(now.passwordHash == "new" && now.groups == ["ops"] && !now.disabled, "nothing else of the user was written")
            #expect(try await store.liveSessions(userID: alice.id, at: 10).isEmpty)
            guard case .changes(let changes) = try await store.changes(after: before, limit: 100) else { Issue.record("no changes"); return }
            #expect(changes.map(\.kind) == [.userPasswordChanged, .sessionEnded])
        }
    }
}
