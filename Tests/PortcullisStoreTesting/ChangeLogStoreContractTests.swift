import PortcullisCore
public import PortcullisStore
import PortcullisTestSupport
import Testing

/// The changes logged after `sequence`; records an issue when the store says the reader fell behind.
public func loggedChanges(_ store: any Store, after sequence: Int64) async throws -> [StoreChange] {
    switch try await store.changes(after: sequence, limit: 1000) {
    case .changes(let changes): return changes
    case .fellBehind(let latest):
        Issue.record("the log says a reader at \(sequence) fell behind (latest \(latest))")
        return []
    }
}

/// A change without its sequence and time, for comparing what was logged.
struct LoggedChange: Equatable, CustomStringConvertible {
    let kind: StoreChange.Kind
    let userID: Int64?
    let sessionHash: [UInt8]?

    init(_ kind: StoreChange.Kind, _ userID: Int64?, _ sessionHash: [UInt8]? = nil) {
        self.kind = kind
        self.userID = userID
        self.sessionHash = sessionHash
    }

    init(_ change: StoreChange) {
        self.init(change.kind, change.userID, change.sessionHash)
    }

    var description: String { "\(kind.rawValue)(\(userID.map(String.init) ?? "-")\(sessionHash.map { ", \($0.first ?? 0)" } ?? ""))" }
}

@Suite struct ChangeLogStoreContractTests {
    static func hash(_ byte: UInt8) -> [UInt8] { Array(repeating: byte, count: 32) }

    static func session(_ byte: UInt8, userID: Int64) -> SessionRecord {
        SessionStoreContractTests.session(byte, userID: userID)
    }

    static func device(_ label: String, userID: Int64) -> OTPDeviceRecord {
        OTPDeviceRecord(id: label + "-id", userID: userID, label: label, parameters: OTPParameters(), sealedSecret: [1, 2, 3],
                        sealedPIN: nil, state: OTPDeviceState(), createdAt: 1)
    }

    @Test("every mutation that changed something logs it, in order, with its payload; the log starts empty", arguments: StoreBackend.all)
    func kindsAndOrder(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            #expect(try await store.latestChangeSequence() == 0)
            var alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
            let bob = try await store.createUser(UserRecord(name: "bob", createdAt: 1))
            try await store.createSession(Self.session(1, userID: alice.id))
            try await store.createSession(Self.session(2, userID: bob.id))
            #expect(try await store.deleteSession(idHash: Self.hash(1)))
            try await store.addDevice(Self.device("phone", userID: alice.id))
            try await store.removeDevice(userID: alice.id, label: "PHONE")
            let app = try await store.addAppPassword(AppPasswordRecord(userID: bob.id, label: "dav", hash: Self.hash(7), createdAt: 1))
            try await store.removeAppPassword(userID: bob.id, label: "dav")
            alice.groups = ["admins"]
            try await store.updateUser(alice)
            alice.passwordHash = "$scrypt$new"
            alice.disabled = true
            try await store.createSession(Self.session(3, userID: alice.id))
            #expect(try await store.updateUser(alice, endingSessions: false) == 1)
            alice.disabled = false
            try await store.updateUser(alice)
            #expect(try await store.deleteAllSessions() == 1)
            try await store.createSession(SessionStoreContractTests.session(4, userID: bob.id, expiresAt: 50))
            #expect(try await store.purgeExpiredSessions(before: 60) == 1)
            try await store.deleteUser(named: "bob")

            let changes = try await loggedChanges(store, after: 0)
            #expect(changes.map(LoggedChange.init) == [
                LoggedChange(.sessionStarted, alice.id, Self.hash(1)),
                LoggedChange(.sessionStarted, bob.id, Self.hash(2)),
                LoggedChange(.sessionEnded, alice.id, Self.hash(1)),
                LoggedChange(.deviceAdded, alice.id),
                LoggedChange(.deviceRemoved, alice.id),
                LoggedChange(.appPasswordAdded, bob.id),
                LoggedChange(.appPasswordRemoved, bob.id),
                LoggedChange(.userDetailsChanged, alice.id),
                LoggedChange(.sessionStarted, alice.id, Self.hash(3)),
                LoggedChange(.userDisabled, alice.id),
                LoggedChange(.userPasswordChanged, alice.id),
                LoggedChange(.sessionEnded, alice.id, Self.hash(3)),
                LoggedChange(.userEnabled, alice.id),
                LoggedChange(.allSessionsEnded, nil),
                LoggedChange(.sessionStarted, bob.id, Self.hash(4)),
                LoggedChange(.sessionEnded, bob.id, Self.hash(4)),
                LoggedChange(.userRemoved, bob.id),
            ])
            #expect(app.id > 0)
            let sequences = changes.map(\.sequence)
            #expect(sequences == sequences.sorted() && Set(sequences).count == sequences.count, "sequences increase")
            #expect(try await store.latestChangeSequence() == sequences.last)
            #expect(changes.allSatisfy { $0.at > 1_700_000_000 }, "stamped with the store's clock")
            // A reader continues from its own cursor, in pages.
            let third = try #require(changes.dropFirst(2).first)
            #expect(try await loggedChanges(store, after: third.sequence).first == changes[3])
            guard case .changes(let page) = try await store.changes(after: 0, limit: 2) else { Issue.record("a page"); return }
            #expect(page == Array(changes.prefix(2)))
            await #expect(throws: StoreError.self) { _ = try await store.changes(after: 0, limit: 0) }
        }
    }

    @Test("mutations that change nothing log nothing", arguments: StoreBackend.all)
    func noOpsLogNothing(backend: StoreBackend) async throws {
        try await withStore(backend) { store, _ in
            var alice = try await store.createUser(UserRecord(name: "alice", passwordHash: "$scrypt$old", createdAt: 1))
            try await store.createSession(Self.session(1, userID: alice.id))
            let start = try await store.latestChangeSequence()

            // A logout with a token that is no session (a stranger's random one).
            #expect(try await !store.deleteSession(idHash: Self.hash(0xEE)))
            #expect(try await store.deleteSessions(userID: alice.id + 100) == 0)
            // An update that changes no field; a rehash of the same password.
            try await store.updateUser(alice)
            #expect(try await store.replacePasswordHash(userID: alice.id, current: "$scrypt$old", with: "$scrypt$rehashed"))
            #expect(try await !store.replacePasswordHash(userID: alice.id, current: "$scrypt$old", with: "$scrypt$again"))
            alice.passwordHash = "$scrypt$rehashed"
            try await store.updateUser(alice)
            // Failed mutations.
            await #expect(throws: StoreError.self) { try await store.removeDevice(userID: alice.id, label: "none") }
            await #expect(throws: StoreError.self) { try await store.removeAppPassword(userID: alice.id, label: "none") }
            await #expect(throws: StoreError.self) { try await store.deleteUser(named: "nobody") }
            var ghost = alice
            ghost.id += 100
            await #expect(throws: StoreError.self) { try await store.updateUser(ghost) }
            // Activity is not a change others must apply; a purge that found nothing changed nothing.
            try await store.touchSession(idHash: Self.hash(1), lastActivity: 500)
            #expect(try await store.purgeExpiredSessions(before: 0) == 0)
            #expect(try await store.deleteAllSessions() == 1)
            #expect(try await store.deleteAllSessions() == 0)

            #expect(try await loggedChanges(store, after: start).map(LoggedChange.init) == [LoggedChange(.allSessionsEnded, nil)])
        }
    }

    @Test("pruning keeps the newest changes; a reader behind them, or ahead of the log, is told to reload", arguments: StoreBackend.all)
    func pruning(backend: StoreBackend) async throws {
        try await withStore(backend) { store, directory in
            let alice = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
            for byte in UInt8(1)...10 { try await store.createSession(Self.session(byte, userID: alice.id)) }
            let latest = try await store.latestChangeSequence()
            #expect(try await store.pruneChanges(keepingLast: 4) == 6)
            #expect(try await store.pruneChanges(keepingLast: 4) == 0)
            #expect(try await store.latestChangeSequence() == latest)
            #expect(try await loggedChanges(store, after: latest - 4).compactMap(\.sessionHash) == (UInt8(7)...10).map(Self.hash))
            #expect(try await store.changes(after: latest - 5, limit: 100) == .fellBehind(latest: latest))
            #expect(try await store.changes(after: 0, limit: 100) == .fellBehind(latest: latest))
            #expect(try await store.changes(after: latest + 1, limit: 100) == .fellBehind(latest: latest))

            // Emptied, the log still knows where it was, also after reopening: sequences are never reused.
            #expect(try await store.pruneChanges(keepingLast: 0) == 4)
            #expect(try await loggedChanges(store, after: latest).isEmpty)
            try await store.close()
            let reopened = try await backend.open(directory)
            #expect(try await reopened.latestChangeSequence() == latest)
            #expect(try await reopened.deleteSession(idHash: Self.hash(1)))
            #expect(try await loggedChanges(reopened, after: latest).map(\.sequence) == [latest + 1])
            try await reopened.close()
        }
    }
}
