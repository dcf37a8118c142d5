import Logging
import PortcullisCore
@testable import PortcullisServer
import PortcullisStore
import Testing

/// `storage.outage_grace`: how long memory answers for a store that does not.
@Suite("an outage of the store, and its grace") struct StoreOutageTests {
    @Test("memory is trusted while the store answers and for the grace after it stopped; one outage at a time; any time is safe")
    func grace() {
        let outage = StoreOutage(grace: 300)
        #expect(outage.trustsMemory(at: 1_000) && outage.began == nil)
        #expect(outage.failed(at: 1_000))
        #expect(!outage.failed(at: 1_050), "an outage going on does not begin again")
        #expect(outage.began == 1_000)
        #expect(outage.trustsMemory(at: 1_299))
        #expect(!outage.trustsMemory(at: 1_300))
        #expect(!outage.trustsMemory(at: .max))
        #expect(outage.trustsMemory(at: .min), "a clock gone back before the outage is within it (saturating, no trap)")
        #expect(outage.answered() == 1_000)
        #expect(outage.answered() == nil)
        #expect(outage.trustsMemory(at: .max))

        let none = StoreOutage(grace: 0)
        none.failed(at: 5)
        #expect(!none.trustsMemory(at: 5), "a grace of 0 ends trust at once")
        #expect(StoreOutage(grace: -7).grace == 0)
    }

    @Test("a session in memory verifies for the grace after the store stopped answering, then needs the store; when it answers again, memory does too")
    func sessions() async throws {
        var configuration = GateHarness.exampleConfiguration()
        configuration.storageOutageGrace = 60
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice", password: nil, otp: false)
        let (token, _) = try #require(try await SessionCacheTests.seedSessions(harness, count: 1, users: [alice]).first)
        let store = ObservedSessionStore(harness.store)
        let (gate, unwatched) = try await SessionCacheTests.gate(harness, store: store, capacity: 100)
        var sync = unwatched
        sync.outage = gate.outage
        sync.pollInterval = .milliseconds(20)
        #expect(try await SessionCacheTests.verifiedUser(gate, token) == "alice")

        try await withThrowingTaskGroup(of: Void.self) { [sync] group in
            group.addTask { try await sync.run() }
            store.setUnavailable(true)
            try await waitUntil { gate.outage.began != nil }
            #expect(gate.outage.began == harness.clock.now, "the sync's failed read began it")
            #expect(try await SessionCacheTests.verifiedUser(gate, token) == "alice", "within the grace, from memory")
            harness.clock.advance(59)
            #expect(try await SessionCacheTests.verifiedUser(gate, token) == "alice")
            harness.clock.advance(1)
            await #expect(throws: StoreError.self, "past the grace the session is read from the store, which does not answer") {
                _ = try await SessionCacheTests.verifiedUser(gate, token)
            }
            store.setUnavailable(false)
            try await waitUntil { gate.outage.began == nil }
            #expect(try await SessionCacheTests.verifiedUser(gate, token) == "alice")
            group.cancelAll()
        }
    }

    @Test("a request that finds the store answering ends the outage before the sync does")
    func answeredOnTheVerifyPath() async throws {
        var configuration = GateHarness.exampleConfiguration()
        configuration.storageOutageGrace = 0
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice", password: nil, otp: false)
        let (token, _) = try #require(try await SessionCacheTests.seedSessions(harness, count: 1, users: [alice]).first)
        let store = ObservedSessionStore(harness.store)
        let (gate, _) = try await SessionCacheTests.gate(harness, store: store, capacity: 100)
        #expect(try await SessionCacheTests.verifiedUser(gate, token) == "alice")
        gate.outage.failed(at: harness.clock.now)
        let reads = store.singleReads
        #expect(try await SessionCacheTests.verifiedUser(gate, token) == "alice", "read from the store, which answers")
        #expect(store.singleReads == reads + 1)
        #expect(gate.outage.began == nil)
        #expect(try await SessionCacheTests.verifiedUser(gate, token) == "alice")
        #expect(store.singleReads == reads + 1, "from memory again")
    }
}
