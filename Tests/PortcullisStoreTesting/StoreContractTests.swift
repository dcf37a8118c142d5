public import PortcullisCore
public import PortcullisStore
import PortcullisTestSupport
import Testing

/// The behaviour every Store backend must have. Its records are the other suites' fixtures too.
@Suite public struct StoreContractTests {
    public static func alice(at time: Int64 = 1_700_000_000) -> UserRecord {
        UserRecord(name: "alice", displayName: "Alice Liddell", email: "alice@example.com", groups: ["admins", "dev"],
                   passwordHash: "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", createdAt: time)
    }

    public static func device(_ id: String, userID: Int64, label: String = "phone") -> OTPDeviceRecord {
        OTPDeviceRecord(id: id, userID: userID, label: label, parameters: OTPParameters(algorithm: .sha256, digits: 8, period: 60),
                        sealedSecret: [1, 2, 3, 4], sealedPIN: nil, state: OTPDeviceState(), createdAt: 1_700_000_100)
    }

    @Test("users are created, read back by name ignoring case, listed by name, updated and deleted", arguments: StoreBackend.all)
    func userLifecycle(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let created = try await store.createUser(Self.alice())
            #expect(created.id > 0)
            let bob = try await store.createUser(UserRecord(name: "bob", createdAt: 1))
            #expect(bob.passwordHash == nil && bob.groups.isEmpty && !bob.disabled)

            #expect(try await store.user(named: "ALICE") == created)
            #expect(try await store.user(named: "nobody") == nil)
            #expect(try await store.users().map(\.name) == ["alice", "bob"])
            #expect(try await store.users(first: 1).map(\.name) == ["alice"])
            #expect(try await store.users(first: 3).map(\.name) == ["alice", "bob"])
            #expect(try await store.users(first: 0).isEmpty)

            var changed = created
            changed.displayName = "Alice L."
            changed.groups = ["ops"]
            changed.disabled = true
            changed.passwordHash = "$2y$05$" + String(repeating: "a", count: 53)
            try await store.updateUser(changed)
            #expect(try await store.user(named: "alice") == changed)

            try await store.deleteUser(named: "Alice")
            #expect(try await store.user(named: "alice") == nil)
            #expect(try await store.users().map(\.name) == ["bob"])
        }
    }

    @Test("names are unique regardless of case; missing users are reported", arguments: StoreBackend.all)
    func userUniqueness(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            _ = try await store.createUser(Self.alice())
            do {
                _ = try await store.createUser(UserRecord(name: "Alice", createdAt: 1))
                Issue.record("duplicate accepted")
            } catch let error as StoreError {
                #expect(error.code == .duplicate)
                #expect(error.message.contains("Alice"))
            }
            do {
                try await store.deleteUser(named: "carol")
                Issue.record("deleted a missing user")
            } catch let error as StoreError {
                #expect(error.code == .notFound)
            }
            var ghost = Self.alice()
            ghost.id = 9999
            ghost.name = "ghost"
            await #expect(throws: StoreError.self) { try await store.updateUser(ghost) }
            // Renaming onto an existing name is a duplicate too.
            let bob = try await store.createUser(UserRecord(name: "bob", createdAt: 1))
            var renamed = bob
            renamed.name = "aLiCe"
            do {
                try await store.updateUser(renamed)
                Issue.record("rename onto existing name accepted")
            } catch let error as StoreError {
                #expect(error.code == .duplicate)
            }
            #expect(try await store.users().count == 2)
        }
    }

    @Test("invalid user fields are refused before anything is written", arguments: StoreBackend.all)
    func invalidUsers(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            for name in ["", "has space", "semi;colon", String(repeating: "a", count: 65), "ünïcode", "new\nline"] {
                await #expect(throws: StoreError.self, "name \(name)") {
                    _ = try await store.createUser(UserRecord(name: name, createdAt: 1))
                }
            }
            await #expect(throws: StoreError.self) {
                _ = try await store.createUser(UserRecord(name: "x", groups: ["a,b"], createdAt: 1))
            }
            // Control characters (a NUL, which PostgreSQL cannot store, a tab) in the free text.
            for (display, email) in [("a\0b", ""), ("tab\there", ""), ("", "a\0@example.com"), ("", "a\u{85}@example.com")] {
                await #expect(throws: StoreError.self, "\(display.debugDescription) \(email.debugDescription)") {
                    _ = try await store.createUser(UserRecord(name: "x", displayName: display, email: email, createdAt: 1))
                }
            }
            let users = try await store.users()
            #expect(users.isEmpty)
            // A label no device can have is simply not found.
            let zed = try await store.createUser(UserRecord(name: "zed", createdAt: 1))
            await #expect(throws: StoreError.self) { try await store.removeDevice(userID: zed.id, label: "a\0b") }
            do {
                try await store.removeAppPassword(userID: zed.id, label: "a\0b")
                Issue.record("removed an app password that cannot exist")
            } catch let error as StoreError {
                #expect(error.code == .notFound)
            }
        }
    }

    @Test("devices: several per user, labels unique per user ignoring case, removed with their user", arguments: StoreBackend.all)
    func devices(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(Self.alice())
            let bob = try await store.createUser(UserRecord(name: "bob", createdAt: 1))
            let phone = Self.device("d1", userID: alice.id)
            try await store.addDevice(phone)
            var token = Self.device("d2", userID: alice.id, label: "token")
            token.parameters = OTPParameters(type: .hotp)
            token.state = OTPDeviceState(lastAccepted: 41)
            token.sealedPIN = [9, 9]
            try await store.addDevice(token)
            try await store.addDevice(Self.device("d3", userID: bob.id))  // same label, other user: fine

            #expect(try await store.devices(ofUserID: alice.id) == [phone, token])
            do {
                try await store.addDevice(Self.device("d4", userID: alice.id, label: "PHONE"))
                Issue.record("duplicate label accepted")
            } catch let error as StoreError {
                #expect(error.code == .duplicate)
            }
            try await store.removeDevice(userID: alice.id, label: "Token")
            #expect(try await store.devices(ofUserID: alice.id) == [phone])
            await #expect(throws: StoreError.self) { try await store.removeDevice(userID: alice.id, label: "token") }

            try await store.deleteUser(named: "alice")
            #expect(try await store.devices(ofUserID: alice.id).isEmpty)
            #expect(try await store.devices(ofUserID: bob.id).count == 1)
        }
    }

    @Test("an accepted step is recorded only if it is later than the last one", arguments: StoreBackend.all)
    func acceptanceOrdering(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(Self.alice())
            try await store.addDevice(Self.device("d1", userID: alice.id))
            #expect(try await store.recordAcceptance(deviceID: "d1", state: OTPDeviceState(lastAccepted: 100, drift: 1), at: 5))
            #expect(try await !store.recordAcceptance(deviceID: "d1", state: OTPDeviceState(lastAccepted: 100, drift: 0), at: 6))
            #expect(try await !store.recordAcceptance(deviceID: "d1", state: OTPDeviceState(lastAccepted: 99, drift: 0), at: 6))
            #expect(try await store.recordAcceptance(deviceID: "d1", state: OTPDeviceState(lastAccepted: 101, drift: -1), at: 7))
            #expect(try await !store.recordAcceptance(deviceID: "missing", state: OTPDeviceState(lastAccepted: 500), at: 7))
            let device = try await store.devices(ofUserID: alice.id)[0]
            #expect(device.state == OTPDeviceState(lastAccepted: 101, drift: -1))
            #expect(device.lastUsedAt == 7)
        }
    }

    @Test("of two tasks racing to accept the same code, exactly one wins, every time", arguments: StoreBackend.all)
    func racingAcceptance(backend: StoreBackend) async throws {
        try await withStore(backend) { store, directory in
            let alice = try await store.createUser(Self.alice())
            try await store.addDevice(Self.device("d1", userID: alice.id))
            // A second connection to the same data, as a second process or instance would have.
            let other = try await backend.open(directory)
            defer { Task { try? await other.close() } }
            for step in Int64(1)...60 {
                let stores: [any Store] = [store, step.isMultiple(of: 2) ? other : store]
                let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for racer in stores {
                        group.addTask { try await racer.recordAcceptance(deviceID: "d1", state: OTPDeviceState(lastAccepted: step), at: step) }
                    }
                    return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(wins == 1, "step \(step): \(wins) winners")
            }
        }
    }

    @Test("re-sealing every secret is all or nothing", arguments: StoreBackend.all)
    func resealAtomicity(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            let alice = try await store.createUser(Self.alice())
            for index in 1...5 { try await store.addDevice(Self.device("d\(index)", userID: alice.id, label: "device \(index)")) }
            try await store.setStorageKeyCheckIfAbsent([7, 7, 7])
            try await store.setStorageKeyCheckIfAbsent([8, 8, 8])  // ignored: one is set already
            #expect(try await store.storageKeyCheck() == [7, 7, 7])

            struct Refused: Error {}
            let counter = Counter()
            await #expect(throws: Refused.self) {
                _ = try await store.resealAll(newKeyCheck: [9]) { sealed, _ in
                    if counter.increment() == 4 { throw Refused() }
                    return sealed + [0xFF]
                }
            }
            #expect(try await store.devices(ofUserID: alice.id).allSatisfy { $0.sealedSecret == [1, 2, 3, 4] })
            #expect(try await store.storageKeyCheck() == [7, 7, 7])

            let count = try await store.resealAll(newKeyCheck: [9]) { sealed, context in
                #expect(context.contains("otp secret d"))
                return sealed + [0xFF]
            }
            #expect(count == 5)
            #expect(try await store.devices(ofUserID: alice.id).allSatisfy { $0.sealedSecret == [1, 2, 3, 4, 0xFF] })
            #expect(try await store.storageKeyCheck() == [9])
        }
    }

    @Test("a secret sealed under another key than the store's (a command that opened the store before a rotation) is refused when written", arguments: StoreBackend.all)
    func staleKeyRefused(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            var random = SystemRandomNumberGenerator()
            let old = SecretBox(key: StorageKey.generate(using: &random)), new = SecretBox(key: StorageKey.generate(using: &random))
            let alice = try await store.createUser(Self.alice())
            func device(_ id: String, sealedBy box: SecretBox) -> OTPDeviceRecord {
                var record = Self.device(id, userID: alice.id, label: id)
                record.sealedSecret = box.seal([1, 2, 3], context: OTPDeviceRecord.secretContext(deviceID: id), using: &random)
                return record
            }
            try await store.setStorageKeyCheckIfAbsent(old.seal([0], context: "check", using: &random))
            try await store.addDevice(device("before", sealedBy: old))
            _ = try await store.resealAll(newKeyCheck: new.seal([0], context: "check", using: &random)) { sealed, context in
                var random = SystemRandomNumberGenerator()
                return new.seal(try old.open(sealed, context: context), context: context, using: &random)
            }
            await #expect(throws: StoreError.self) { try await store.addDevice(device("stale", sealedBy: old)) }
            do {
                try await store.addDevice(device("stale", sealedBy: old))
            } catch let error as StoreError {
                #expect(error.code == .storageKey && error.message.contains("Run the command again"))
            }
            try await store.addDevice(device("fresh", sealedBy: new))
            #expect(try await store.devices(ofUserID: alice.id).map(\.label).sorted() == ["before", "fresh"])
        }
    }

    @Test("data survives closing and reopening", arguments: StoreBackend.all)
    func persistence(backend: StoreBackend) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try await backend.open(directory)
        let alice = try await first.createUser(Self.alice())
        try await first.addDevice(Self.device("d1", userID: alice.id))
        _ = try await first.recordAcceptance(deviceID: "d1", state: OTPDeviceState(lastAccepted: 77, drift: 2), at: 9)
        try await first.close()

        let second = try await backend.open(directory)
        #expect(try await second.user(named: "alice") == alice)
        #expect(try await second.devices(ofUserID: alice.id).first?.state == OTPDeviceState(lastAccepted: 77, drift: 2))
        #expect(try await !second.recordAcceptance(deviceID: "d1", state: OTPDeviceState(lastAccepted: 77), at: 10))
        try await second.close()
    }
}

/// A thread-safe counter for closures that must be Sendable.
final class Counter: @unchecked Sendable {
    // Guarded by `lock`.
    private var value = 0
    private let lock = NSLockShim()

    func increment() -> Int {
        lock.withLock {
            value += 1
            return value
        }
    }
}
