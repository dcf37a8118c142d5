import PortcullisCore
import PortcullisStore
import PortcullisTestSupport
import Synchronization
import Testing

@Suite struct RecoveryCodeStoreContractTests {
    @Test("recovery codes are replaced as a set, each used once, counted, and removed with their user", arguments: StoreBackend.all)
    func lifecycle(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
            let bob = try await store.createUser(UserRecord(name: "bob", createdAt: 1))
            let first = (1...10).map { [UInt8]("first \($0)".utf8) }
            try await store.replaceRecoveryCodes(userID: alice.id, hashes: first, at: 5)
            try await store.replaceRecoveryCodes(userID: bob.id, hashes: [[9]], at: 5)
            #expect(try await store.recoveryCodeCount(userID: alice.id) == 10)
            #expect(try await store.useRecoveryCode(userID: alice.id, hash: first[3]) == 9)
            #expect(try await store.useRecoveryCode(userID: alice.id, hash: first[3]) == nil, "used twice")
            #expect(try await store.useRecoveryCode(userID: alice.id, hash: [9]) == nil, "bob's code")
            // New codes void the old.
            try await store.replaceRecoveryCodes(userID: alice.id, hashes: [[1], [2]], at: 6)
            #expect(try await store.useRecoveryCode(userID: alice.id, hash: first[4]) == nil)
            #expect(try await store.recoveryCodeCount(userID: alice.id) == 2)
            try await store.deleteUser(named: "bob")
            let again = try await store.createUser(UserRecord(name: "bob", createdAt: 2))
            #expect(try await store.recoveryCodeCount(userID: again.id) == 0)
        }
    }

    @Test("of many logins racing with one recovery code, exactly one uses it", arguments: StoreBackend.all)
    func race(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
            try await store.replaceRecoveryCodes(userID: alice.id, hashes: [[1], [2]], at: 5)
            let wins = await withTaskGroup(of: Int?.self) { group in
                for _ in 0..<8 { group.addTask { try? await store.useRecoveryCode(userID: alice.id, hash: [1]) } }
                var wins = 0
                for await result in group where result != nil { wins += 1 }
                return wins
            }
            #expect(wins == 1)
            #expect(try await store.recoveryCodeCount(userID: alice.id) == 1)
        }
    }

    @Test("the codes' key is kept once, and re-sealed with the other secrets by a rotation", arguments: StoreBackend.all)
    func key(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            #expect(try await store.sealedRecoveryKey() == nil)
            try await store.setSealedRecoveryKeyIfAbsent([1, 2])
            try await store.setSealedRecoveryKeyIfAbsent([3, 4])
            #expect(try await store.sealedRecoveryKey() == [1, 2])
            let contexts = Mutex<[String]>([])
            _ = try await store.resealAll(newKeyCheck: [9]) { sealed, context in
                contexts.withLock { $0.append(context) }
                return sealed + [0xFF]
            }
            #expect(contexts.withLock { $0 } == [RecoveryCode.keyContext])
            #expect(try await store.sealedRecoveryKey() == [1, 2, 0xFF])
        }
    }
}
