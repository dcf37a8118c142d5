import PortcullisCore
import PortcullisStore
import PortcullisTestSupport
import Testing

@Suite struct AppPasswordStoreContractTests {
    @Test("app passwords are stored by hash, found with their user, unique per label, touched, removed, and go with their user", arguments: StoreBackend.all)
    func lifecycle(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(UserRecord(name: "alice", groups: ["dav"], createdAt: 1))
            var random = SeededGenerator(seed: 3)
            let first = AppPassword.generate(using: &random)
            let second = AppPassword.generate(using: &random)
            let added = try await store.addAppPassword(AppPasswordRecord(userID: alice.id, label: "calendar", hash: first.storageHash, createdAt: 10, expiresAt: 100))
            #expect(added.id > 0)
            _ = try await store.addAppPassword(AppPasswordRecord(userID: alice.id, label: "git", hash: second.storageHash, createdAt: 20))
            await #expect(throws: StoreError.self) {
                _ = try await store.addAppPassword(AppPasswordRecord(userID: alice.id, label: "CALENDAR", hash: [1, 2, 3], createdAt: 30))
            }
            let found = try #require(try await store.appPassword(hash: first.storageHash))
            #expect(found.0 == added)
            #expect(found.1.name == "alice" && found.1.groups == ["dav"] && found.1.id == alice.id)
            #expect(try await store.appPassword(hash: Array(repeating: 0, count: 32)) == nil)
            try await store.touchAppPassword(id: added.id, at: 50)
            try await store.touchAppPassword(id: added.id, at: 40)  // never goes back
            #expect(try await store.appPasswords(ofUserID: alice.id).map(\.lastUsedAt) == [50, nil])
            let before = try await store.latestChangeSequence()
            try await store.removeAppPassword(userID: alice.id, label: "Calendar")
            await #expect(throws: StoreError.self) { try await store.removeAppPassword(userID: alice.id, label: "calendar") }
            #expect(try await loggedChanges(store, after: before).map(\.kind) == [.appPasswordRemoved], "one removal, one change; the failed one logs none")
            #expect(try await store.appPasswords(ofUserID: alice.id).map(\.label) == ["git"])
            try await store.deleteUser(named: "alice")
            #expect(try await store.appPassword(hash: second.storageHash) == nil)
        }
    }
}
