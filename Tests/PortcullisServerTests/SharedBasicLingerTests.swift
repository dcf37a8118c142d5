import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PortcullisCore
import PortcullisServer
import PortcullisStore
import Testing

/// Several servers on one store, as instances behind a proxy that spreads a Basic client's requests.
@Suite("lingering Basic credentials shared by the instances on one store") struct SharedBasicLingerTests {
    typealias Client = any TestClientProtocol

    /// Runs `body` with a client of each of `count` servers made on the harness's store, their session syncs running.
    func withInstances(_ harness: GateHarness, _ count: Int, _ body: @escaping @Sendable ([Client]) async throws -> Void) async throws {
        try await Self.nest(harness, count, clients: [], body)
    }

    private static func nest(_ harness: GateHarness, _ remaining: Int, clients: [Client], _ body: @escaping @Sendable ([Client]) async throws -> Void) async throws {
        guard remaining > 0 else { return try await body(clients) }
        let server = try await harness.server()
        try await Application(router: server.router, services: [server.sync]).test(.router) { client in
            try await nest(harness, remaining - 1, clients: clients + [client], body)
        }
    }

    static func verify(_ client: Client, _ credential: String, from address: String = "203.0.113.7") async throws -> HTTPResponse.Status {
        try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: BasicAuthTests.scripted(credential, from: address)).status
    }

    @Test("accepted by one instance, the credential works on the others without its code being checked again, and on one started later")
    func spread() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        let credential = BasicAuthTests.basic("alice", "correct horse" + harness.code())
        try await withInstances(harness, 3) { (instances: [Client]) async throws in
            #expect(try await Self.verify(instances[0], credential) == .ok)
            for (index, instance) in instances.enumerated() {
                #expect(try await Self.verify(instance, credential) == .ok, "instance \(index)")
            }
            // The key includes the address (basic.logout_on_ip_change): elsewhere, the code is a replay on every instance.
            #expect(try await Self.verify(instances[2], credential, from: "198.51.100.9") == .unauthorized)
            harness.clock.advance(300)
            #expect(try await Self.verify(instances[1], credential) == .ok)
        }
        // A restart loses nothing: a new instance finds it in the store.
        try await withInstances(harness, 1) { (instances: [Client]) async throws in
            #expect(try await Self.verify(instances[0], credential) == .ok)
            harness.clock.advance(301)
            #expect(try await Self.verify(instances[0], credential) == .unauthorized, "refused once basic.linger (600 s) is over")
        }
        let audit = try await harness.store.auditEntries(userName: "alice", since: 0, limit: 100)
        #expect(audit.filter { $0.event == .loginSucceeded }.count == 1, "one check, whichever instance answered")
        #expect(audit.filter { $0.event == .loginFailed }.map(\.reason) == ["replayed_otp", "bad_otp"])
    }

    @Test("a password change, a disabled user or a removed device ends the credential on every instance, also on those that had it in memory, and in the store")
    func userChanged() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        // Each change, and what makes the next step possible again.
        let changes: [(String, change: @Sendable () async throws -> Void, undo: @Sendable () async throws -> Void)] = [
            ("password", { _ = try await harness.vault.setPassword(userName: "alice", password: "correct horse", endingSessions: false) }, {}),
            ("disabled", { _ = try await harness.vault.setDisabled(userName: "alice", disabled: true) },
             { _ = try await harness.vault.setDisabled(userName: "alice", disabled: false) }),
            ("device", {
                let alice = try await harness.vault.requireUser("alice")
                try await harness.store.removeDevice(userID: alice.id, label: "phone")
            }, {}),
        ]
        for (what, change, undo) in changes {
            harness.clock.advance(90)
            let credential = BasicAuthTests.basic("alice", "correct horse" + harness.code())
            try await withInstances(harness, 2) { (instances: [Client]) async throws in
                #expect(try await Self.verify(instances[0], credential) == .ok, "\(what)")
                #expect(try await Self.verify(instances[1], credential) == .ok, "\(what)")
                try await change()
                // Each instance's sync applies the change within its poll (a second); the store's record went with the change.
                for (index, instance) in instances.enumerated() {
                    try await waitUntil { try await Self.verify(instance, credential) == .unauthorized }
                    #expect(try await Self.verify(instance, credential) == .unauthorized, "\(what), instance \(index)")
                }
            }
            try await withInstances(harness, 1) { (instances: [Client]) async throws in
                #expect(try await Self.verify(instances[0], credential) == .unauthorized, "\(what): not in the store either")
            }
            try await undo()
        }
    }

    @Test("with basic.idle, an instance judges idleness by the uses the others recorded")
    func idle() async throws {
        var configuration = BasicAuthTests.configuration { $0.basic.idle = 120 }
        configuration.basic.linger = 3600
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        try await harness.addUser("alice")
        let credential = BasicAuthTests.basic("alice", "correct horse" + harness.code())
        try await withInstances(harness, 2) { (instances: [Client]) async throws in
            #expect(try await Self.verify(instances[0], credential) == .ok)
            // Used on the first instance every 100 s (each use past basic.idle / 4 is written to the store).
            for _ in 0..<4 {
                harness.clock.advance(100)
                #expect(try await Self.verify(instances[0], credential) == .ok)
            }
            // The second has not seen it for 400 s, but the store says it was used just now.
            try await waitUntil { try await Self.verify(instances[1], credential) == .ok }
            harness.clock.advance(121 + 30)
            #expect(try await Self.verify(instances[0], credential) == .unauthorized, "idle on the first")
            #expect(try await Self.verify(instances[1], credential) == .unauthorized, "idle on the second")
        }
    }
}
