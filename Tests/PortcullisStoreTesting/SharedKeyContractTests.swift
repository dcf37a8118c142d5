import PortcullisCore
import PortcullisStore
import PortcullisTestSupport
import Synchronization
import Testing

@Suite struct SharedKeyContractTests {
    @Test("a shared key is kept once per name, and re-sealed with the other secrets by a rotation", arguments: StoreBackend.all)
    func stored(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            #expect(try await store.sealedSharedKey(named: "csrf") == nil)
            try await store.setSealedSharedKeyIfAbsent(named: "csrf", [1, 2])
            try await store.setSealedSharedKeyIfAbsent(named: "csrf", [3, 4])
            try await store.setSealedSharedKeyIfAbsent(named: "other", [5])
            #expect(try await store.sealedSharedKey(named: "csrf") == [1, 2])
            #expect(try await store.sealedSharedKey(named: "other") == [5])
            let contexts = Mutex<[String]>([])
            _ = try await store.resealAll(newKeyCheck: [9]) { sealed, context in
                contexts.withLock { $0.append(context) }
                return sealed + [0xFF]
            }
            #expect(Set(contexts.withLock { $0 }) == [SharedKey.context("csrf"), SharedKey.context("other")])
            #expect(try await store.sealedSharedKey(named: "csrf") == [1, 2, 0xFF])
            #expect(try await store.sealedSharedKey(named: "other") == [5, 0xFF])
        }
    }

    @Test("vaults asking for a shared key at once all get the one the store kept; it outlives a reopening and a key rotation", arguments: StoreBackend.all)
    func vaults(backend: StoreBackend) async throws {
        try await withStore(backend) { store, directory in
            var random = SystemRandomNumberGenerator()
            let key = StorageKey.generate(using: &random)
            let vault = try await Vault.open(store: store, key: key, keySource: .environment("TEST"))
            let keys = try await withThrowingTaskGroup(of: [UInt8].self) { group in
                for _ in 0..<6 { group.addTask { try await vault.sharedKey(named: SharedKey.csrf) } }
                return try await group.reduce(into: [[UInt8]]()) { $0.append($1) }
            }
            #expect(Set(keys).count == 1 && keys[0].count == 32)
            #expect(try await vault.sharedKey(named: "another") != keys[0])

            let reopened = try await backend.open(directory)
            let again = try await Vault.open(store: reopened, key: key, keySource: .environment("TEST"))
            #expect(try await again.sharedKey(named: SharedKey.csrf) == keys[0])
            try await reopened.close()

            let newKey = StorageKey.generate(using: &random)
            _ = try await vault.rotate(to: newKey)
            let rotated = try await Vault.open(store: store, key: newKey, keySource: .environment("TEST"))
            #expect(try await rotated.sharedKey(named: SharedKey.csrf) == keys[0])
        }
    }
}
