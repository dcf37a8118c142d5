import MetricsTestKit
@testable import PortcullisStore
import PortcullisTestSupport
import Testing

@Suite("store operation timers") struct StoreTimersTests {
    @Test("operation names are bounded snake case made from the store's fixed descriptions")
    func names() {
        #expect(StoreTimers.operationName("create a session") == "create_session")
        #expect(StoreTimers.operationName("end a user's sessions") == "end_users_sessions")
        #expect(StoreTimers.operationName("read the storage key check") == "read_storage_key_check")
        #expect(StoreTimers.operationName("migrate") == "migrate")
    }

    @Test("each store operation records its time under its own name, failures included")
    func recording() async throws {
        let metrics = TestMetrics()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await SQLiteStore.open(path: directory.file("store.sqlite3"), metrics: metrics)
        _ = try await store.createUser(UserRecord(name: "alice", createdAt: 1))
        await #expect(throws: StoreError.self) { _ = try await store.createUser(UserRecord(name: "alice", createdAt: 1)) }
        _ = try await store.user(named: "alice")
        let added = try metrics.expectTimer(StoreTimers.label, [("operation", "add_user")])
        #expect(added.values.count == 2)
        #expect(added.values.allSatisfy { $0 > 0 && $0 < 60_000_000_000 })
        #expect(try metrics.expectTimer(StoreTimers.label, [("operation", "read_user")]).values.count == 1)
        #expect(try metrics.expectTimer(StoreTimers.label, [("operation", "migrate")]).values.count == 1)
        try await store.close()
    }
}
