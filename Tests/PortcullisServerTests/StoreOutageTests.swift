import Hummingbird
import HummingbirdTesting
import Logging
import PortcullisCore
@testable import PortcullisServer
import PortcullisStore
import Synchronization
import Testing

/// `storage.outage_grace`: how long memory answers for a store that does not.
@Suite("an outage of the store, and its grace") struct StoreOutageTests {
    @Test("an outage begins after 5 s without a good read of the change log (failed or hung), memory is trusted for the grace after that, and only a good read ends it")
    func grace() {
        let outage = StoreOutage(grace: 300, now: 1_000)
        #expect(outage.trustsMemory && !outage.isOut)
        #expect(outage.evaluate(at: 1_004) == nil)
        #expect(outage.evaluate(at: 1_005) == .began(seconds: 5))
        #expect(outage.isOut && outage.trustsMemory)
        #expect(outage.evaluate(at: 1_006) == nil, "once")
        #expect(outage.evaluate(at: 1_304) == nil)
        #expect(outage.evaluate(at: 1_305) == .graceOver(seconds: 305))
        #expect(!outage.trustsMemory)
        #expect(outage.evaluate(at: .max) == nil, "once, and no trap")
        #expect(outage.polled(at: 1_400) == .ended(seconds: 400))
        #expect(outage.trustsMemory && !outage.isOut)
        #expect(outage.polled(at: 1_401) == nil)
        #expect(outage.polled(at: .min) == nil, "a clock read out of order does not move the last good read back")
        #expect(outage.evaluate(at: 1_405) == nil)
        #expect(outage.evaluate(at: 1_406) == .began(seconds: 5))

        let none = StoreOutage(grace: 0, now: 0)
        #expect(none.evaluate(at: 5) == .began(seconds: 5))
        #expect(!none.trustsMemory, "a grace of 0 trusts nothing once the store is out")
        #expect(StoreOutage(grace: -7, now: 0).grace == 0)
    }

    /// A monotonic clock the test moves, from the real one's reading when it is made (the gate's
    /// outage counts from that).
    final class Monotonic: Sendable {
        let seconds = Atomic<Int64>(StoreOutage.monotonicNow())
        func advance(_ by: Int64) { seconds.add(by, ordering: .relaxed) }
        var now: Int64 { seconds.load(ordering: .relaxed) }
    }

    @Test("a session revoked while the change log cannot be read verifies for the grace, then no longer; the others are confirmed by the store; a good read ends it")
    func revokedDuringOutage() async throws {
        var configuration = GateHarness.exampleConfiguration()
        configuration.storageOutageGrace = 60
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice", password: nil, otp: false)
        let bob = try await harness.addUser("bob", password: nil, otp: false)
        let seeded = try await SessionCacheTests.seedSessions(harness, count: 2, users: [alice, bob])
        let (aliceToken, bobToken) = (seeded[0].0, seeded[1].0)
        let store = ObservedSessionStore(harness.store)
        let (gate, unwatched) = try await SessionCacheTests.gate(harness, store: store, capacity: 100)
        let clock = Monotonic()
        var sync = unwatched
        sync.outage = gate.outage
        sync.monotonicNow = { clock.now }
        sync.pollInterval = .milliseconds(20)
        #expect(try await SessionCacheTests.verifiedUser(gate, aliceToken) == "alice")
        #expect(try await SessionCacheTests.verifiedUser(gate, bobToken) == "bob")

        try await withThrowingTaskGroup(of: Void.self) { [sync] group in
            group.addTask { try await sync.run() }
            // The store answers single reads, not the change log: bob's revocation cannot reach memory.
            store.setChangeLogUnavailable(true)
            // Once a read has failed, no good one is under way (the sync reads one at a time).
            try await waitUntil(seconds: 60) { store.changeLogFailures > 0 }
            #expect(try await harness.store.deleteSession(idHash: bobToken.storageHash))
            // The watchdog's evaluation, done here too: the test need not wait for its next second.
            clock.advance(StoreOutage.detection)
            _ = gate.outage.evaluate(at: clock.now)
            #expect(gate.outage.isOut)
            #expect(try await SessionCacheTests.verifiedUser(gate, bobToken) == "bob", "within the grace, memory answers")
            clock.advance(60)
            _ = gate.outage.evaluate(at: clock.now)
            #expect(!gate.outage.trustsMemory)
            #expect(try await SessionCacheTests.verifiedUser(gate, bobToken) == nil, "past the grace the store says bob's session ended")
            #expect(try await SessionCacheTests.verifiedUser(gate, aliceToken) == "alice", "and that alice's goes on")
            #expect(try await SessionCacheTests.verifiedUser(gate, bobToken) == nil, "a read of the store does not end the outage")
            #expect(gate.outage.isOut && !gate.outage.trustsMemory)
            // Nothing answers at all: past the grace, a session needs the store.
            store.setUnavailable(true)
            await #expect(throws: StoreError.self) { _ = try await SessionCacheTests.verifiedUser(gate, aliceToken) }
            store.setUnavailable(false)
            store.setChangeLogUnavailable(false)
            // The sync's next good read (polled every 20 ms; the whole suite can keep it waiting for seconds).
            try await waitUntil(seconds: 60) { gate.outage.trustsMemory }
            #expect(!gate.outage.isOut)
            #expect(try await SessionCacheTests.verifiedUser(gate, aliceToken) == "alice")
            #expect(try await SessionCacheTests.verifiedUser(gate, bobToken) == nil)
            group.cancelAll()
        }
    }

    @Test("past the grace a lingering Basic credential is confirmed by the store: one whose user changed meanwhile is refused and forgotten, another still works")
    func basicDuringOutage() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        try await harness.addUser("bob")
        let server = try await harness.server()
        let outage = server.gate.outage
        let alice = BasicAuthTests.basic("alice", "correct horse" + harness.code())
        let bob = BasicAuthTests.basic("bob", "correct horse" + harness.code())
        // The router alone: no session sync, as when the change log cannot be read.
        try await Application(router: server.router).test(.router) { client in
            func verify(_ credential: String) async throws -> HTTPResponse.Status {
                try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: BasicAuthTests.scripted(credential)).status
            }
            #expect(try await verify(alice) == .ok)
            #expect(try await verify(bob) == .ok)
            // Alice's password changes; the store forgets her credential, this instance's memory does not hear of it.
            _ = try await harness.vault.setPassword(userName: "alice", password: "correct horse", endingSessions: false)
            #expect(try await verify(alice) == .ok, "while memory is trusted")
            let start = StoreOutage.monotonicNow()
            _ = outage.evaluate(at: start + StoreOutage.detection + 1_000)
            _ = outage.evaluate(at: start + StoreOutage.detection + 1_000)
            #expect(!outage.trustsMemory)
            #expect(try await verify(alice) == .unauthorized, "the store no longer has it; its code was used")
            #expect(try await verify(bob) == .ok, "the store confirms bob's")
            outage.polled(at: start + 2_000)
            #expect(outage.trustsMemory)
            #expect(try await verify(alice) == .unauthorized, "memory forgot it when the store said so")
            #expect(try await verify(bob) == .ok)
        }
    }
}
