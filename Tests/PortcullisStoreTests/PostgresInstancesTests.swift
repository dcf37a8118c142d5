import Foundation
import PortcullisCore
import PortcullisPostgres
import PortcullisStore
import PortcullisStoreTesting
import PortcullisTestSupport
import Testing

/// What the PostgreSQL backend promises beyond the contract: several instances (each a store with
/// its own connection pool) on one database behave as one store.
@Suite struct PostgresInstancesTests {
    /// Opens `count` instances on one new database at once; closes them and drops it afterwards.
    func withInstances(_ count: Int, _ body: ([PostgresStore], TemporaryDirectory) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        let settings = try StoreBackend.postgresSettings(for: directory)
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<count { group.addTask { try await PostgresStore.open(settings, password: nil, leaseTimeout: StoreBackend.testLeaseTimeout) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        do {
            try await body(stores, directory)
        } catch {
            for store in stores { try? await store.close() }
            StoreBackend.postgres.remove(directory)
            throw error
        }
        for store in stores { try? await store.close() }
        StoreBackend.postgres.remove(directory)
        directory.remove()
    }

    @Test("instances starting at once on a new database migrate it once; all of them work")
    func concurrentMigration() async throws {
        try await withInstances(3) { stores, directory in
            let versions = try TestPostgres.psql("SELECT count(*), max(version) FROM schema_migrations", database: TestPostgres.databaseName(for: directory))
            #expect(versions.trimmingCharacters(in: .whitespacesAndNewlines) == "\(PostgresStore.schemaVersion)|\(PostgresStore.schemaVersion)", "each step applied once")
            let alice = try await stores[0].createUser(UserRecord(name: "alice", createdAt: 1))
            #expect(try await stores[2].user(named: "ALICE") == alice)
        }
    }

    @Test("a database migrated by a newer Portcullis is refused, saying so")
    func newerSchema() async throws {
        try await withInstances(1) { _, directory in
            let name = TestPostgres.databaseName(for: directory)
            try TestPostgres.psql("INSERT INTO schema_migrations (version, applied_at) VALUES (\(PostgresStore.schemaVersion + 1), 0)", database: name)
            do {
                _ = try await PostgresStore.open(try StoreBackend.postgresSettings(for: directory), password: nil)
                Issue.record("opened a newer schema")
            } catch let error as StoreError {
                #expect(error.code == .schema)
                #expect(error.message.contains("newer than this Portcullis knows"))
            }
        }
    }

    @Test("of 8 logins with one code spread over three instances, exactly one records it")
    func codeAcceptedOnce() async throws {
        try await withInstances(3) { stores, _ in
            let alice = try await stores[0].createUser(UserRecord(name: "alice", createdAt: 1))
            try await stores[0].addDevice(StoreContractTests.device("d1", userID: alice.id))
            for step in Int64(1)...5 {
                let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for attempt in 0..<8 {
                        let store = stores[attempt % 3]
                        group.addTask { try await store.recordAcceptance(deviceID: "d1", state: OTPDeviceState(lastAccepted: step * 10, drift: 0), at: step) }
                    }
                    return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(winners == 1, "step \(step)")
            }
        }
    }

    @Test("60 concurrent wrong logins spread over three instances are admitted no more than the policy allows")
    func sharedRegulation() async throws {
        try await withInstances(3) { stores, _ in
            let policy = RegulationPolicy(maxRetries: 5, findTime: 600, banTime: 900, maxOTPFailures: 0, maxInFlight: 3)
            // Six waves of ten at once: within a wave the cap on attempts in flight refuses some
            // (busy); across waves the failures add up to a ban.
            var outcomes: [(admitted: Bool, bans: Int)] = []
            for wave in 0..<6 {
                outcomes += try await withThrowingTaskGroup(of: (admitted: Bool, bans: Int).self) { group in
                    for attempt in 0..<10 {
                        let store = stores[attempt % 3]
                        group.addTask {
                            let keys = RegulationKeys(name: "alice", client: "203.0.113.\((wave * 10 + attempt) % 7)")
                            guard case .admitted(let ticket) = try await store.reserveAttempt(keys: keys, at: 1000, policy: policy) else { return (false, 0) }
                            let settlement = try await store.settleAttempt(ticket, outcome: .failed(wrongCodeOf: nil), at: 1000, policy: policy)
                            return (true, settlement.bans.count)
                        }
                    }
                    return try await group.reduce(into: [(admitted: Bool, bans: Int)]()) { $0.append($1) }
                }
            }
            // The name's count reaches max_retries once and bans it; nothing is checked after that.
            #expect(outcomes.filter(\.admitted).count == policy.maxRetries)
            #expect(outcomes.map(\.bans).reduce(0, +) == 1)
            #expect(try await stores[1].activeBan(userName: "ALICE", clientIP: "192.0.2.1", at: 1001)?.kind == .user)
        }
    }

    @Test("the change log written by three instances at once is read in commit order, nothing skipped, while it is written")
    func changeLogOrder() async throws {
        try await withInstances(3) { stores, _ in
            let users = try await withThrowingTaskGroup(of: UserRecord.self) { group in
                for index in 0..<3 { group.addTask { try await stores[index].createUser(UserRecord(name: "user\(index)", createdAt: 1)) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let start = try await stores[0].latestChangeSequence()
            let perInstance = 40
            // A follower reads while the instances write; whatever it has read stays complete.
            let follower = Task { () -> [StoreChange] in
                var seen: [StoreChange] = []
                var position = start
                while seen.count < perInstance * 3 {
                    guard case .changes(let batch) = try await stores[0].changes(after: position, limit: 7) else {
                        Issue.record("the follower fell behind")
                        return seen
                    }
                    seen += batch
                    position = batch.last?.sequence ?? position
                    if batch.isEmpty { try await Task.sleep(for: .milliseconds(2)) }
                }
                return seen
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, user) in users.enumerated() {
                    group.addTask {
                        for session in 0..<perInstance {
                            let hash = Array("\(index)-\(session)".utf8) + [UInt8](repeating: 0, count: 24)
                            try await stores[index].createSession(SessionRecord(idHash: hash, userID: user.id, createdAt: 1, lastActivity: 1, expiresAt: 9_999_999_999,
                                                                                clientIP: "192.0.2.1", authLevel: 2, rememberMe: false, cookieDomain: "example.com"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seen = try await follower.value
            #expect(seen.count == perInstance * 3)
            #expect(Set(seen.compactMap(\.sessionHash)).count == perInstance * 3)
            #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
        }
    }

    @Test("a change one instance commits wakes another's change signal (LISTEN/NOTIFY), long before its next poll", .timeLimit(.minutes(2)))
    func notifications() async throws {
        try await withInstances(2) { stores, _ in
            let signal = try #require(stores[1].changeSignal)
            // The listener raises the signal once it listens (changes may have come before): take that one.
            await signal.wait(upTo: .seconds(30))
            let alice = try await stores[0].createUser(UserRecord(name: "alice", createdAt: 1))
            // Ten minutes unless the commit below wakes it: the time limit would fail the test.
            async let woken: Void = signal.wait(upTo: .seconds(600))
            try await stores[0].createSession(SessionRecord(idHash: [UInt8](repeating: 7, count: 32), userID: alice.id, createdAt: 1, lastActivity: 1,
                                                            expiresAt: 9_999_999_999, clientIP: "192.0.2.1", authLevel: 2, rememberMe: false,
                                                            cookieDomain: "example.com"))
            await woken
            try await withStore(.sqlite) { sqlite, _ in #expect(sqlite.changeSignal == nil, "SQLite is polled") }
        }
    }

    @Test("an unreachable server, a missing database and a wrong role are told apart")
    func connectionFailures() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var nowhere = PostgresSettings()
        nowhere.host = directory.path  // no server's socket there
        nowhere.tls = .disable
        await #expect(throws: StoreError.self) { _ = try await PostgresStore.open(nowhere, password: nil) }
        do {
            _ = try await PostgresStore.open(nowhere, password: nil)
        } catch let error as StoreError {
            #expect(error.code == .unavailable, "\(error)")
            #expect(error.message.contains("socket \(directory.path)/.s.PGSQL.5432"))
        }

        var missing = PostgresSettings()
        missing.host = try TestPostgres.socketDirectory()
        missing.username = "postgres"
        missing.database = "no_such_database_here"
        do {
            _ = try await PostgresStore.open(missing, password: nil)
            Issue.record("opened a missing database")
        } catch let error as StoreError {
            #expect(error.code == .unreadable)
            #expect(error.message.contains("does not exist"), "\(error)")
        }

        missing.database = "postgres"
        missing.username = "nobody_at_all"
        do {
            _ = try await PostgresStore.open(missing, password: nil)
            Issue.record("logged in as a missing role")
        } catch let error as StoreError {
            #expect(error.code == .unreadable, "\(error)")
            #expect(!error.message.isEmpty)
        }
    }

    @Test("text PostgreSQL cannot hold (NUL, from a request) is recorded, not a failed write")
    func nulInRequestText() async throws {
        try await withStore(.postgres) { store, _ in
            try await store.appendAudit(AuditEntry(time: 5, event: .loginFailed, userName: "a\0b", clientIP: "192.0.2.1", reason: "x\0"))
            #expect(try await store.auditEntries(userName: nil, since: 0, limit: 10).map(\.userName) == ["a\u{FFFD}b"])
            let keys = RegulationKeys(name: "a\0b", client: "192.0.2.1")
            guard case .admitted = try await store.reserveAttempt(keys: keys, at: 5, policy: RegulationPolicy()) else {
                Issue.record("not admitted")
                return
            }
        }
    }
}
