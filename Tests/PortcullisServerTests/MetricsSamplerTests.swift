import Hummingbird
import HummingbirdTesting
import MetricsTestKit
import PortcullisCore
@testable import PortcullisServer
import PortcullisStore
import Testing

@Suite("metrics of state and of answers") struct MetricsSamplerTests {
    static func session(_ byte: UInt8, userID: Int64, now: Int64) -> SessionRecord {
        SessionRecord(idHash: Array(repeating: byte, count: 32), userID: userID, createdAt: now, lastActivity: now, expiresAt: now + 3600,
                      clientIP: "203.0.113.7", authLevel: AuthLevel.passwordAndCode.rawValue, rememberMe: false, cookieDomain: "example.com")
    }

    @Test("the first scrape reads the store; later ones within 10 s do not, and after that they refresh without waiting for it")
    func storeGauges() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        let recorded = TestMetrics()
        let server = try await harness.server(metrics: GateMetrics(factory: recorded, version: "9.9"))
        try await harness.store.createSession(Self.session(1, userID: alice.id, now: harness.clock.now))

        await server.sampler.sample()
        let live = try recorded.expectGauge("portcullis_sessions_live")
        #expect(live.lastValue == 1)
        #expect(try recorded.expectGauge("portcullis_bans_active").lastValue == 0)
        #expect(try recorded.expectGauge("portcullis_store_sample_timestamp_seconds").lastValue == Double(harness.clock.now))
        #expect(try recorded.expectGauge("portcullis_build_info", [("version", "9.9")]).lastValue == 1)

        try await harness.store.createSession(Self.session(2, userID: alice.id, now: harness.clock.now))
        harness.clock.advance(9)
        await server.sampler.sample()
        #expect(live.values.count == 1, "the store was asked again within 10 s")

        harness.clock.advance(1)
        await server.sampler.sample()
        for _ in 0..<200 where live.lastValue != 2 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(live.lastValue == 2)
    }

    @Test("verify answers are counted once each by style and outcome, on the router's path")
    func verifyCounts() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let recorded = TestMetrics()
        let server = try await harness.server(metrics: GateMetrics(factory: recorded))
        let app = Application(router: server.router)
        try await app.test(.router) { client in
            _ = try await client.verify(cookie: "portcullis_session=nonsense")
            _ = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Requests.forwardAuth(host: "elsewhere.org"))
            _ = try await client.execute(uri: "/api/authz/auth-request", method: .get, headers: [:])
        }
        #expect(try recorded.expectCounter("portcullis_verify_answers_total", [("style", "forward_auth"), ("outcome", "login_required")]).totalValue == 1)
        #expect(try recorded.expectCounter("portcullis_verify_answers_total", [("style", "forward_auth"), ("outcome", "forbidden")]).totalValue == 1)
        #expect(try recorded.expectCounter("portcullis_verify_answers_total", [("style", "auth_request"), ("outcome", "bad_request")]).totalValue == 1)
        #expect(try recorded.expectCounter("portcullis_verify_answers_total", [("style", "forward_auth"), ("outcome", "allowed")]).totalValue == 0)
    }
}
