import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PortcullisCore
@testable import PortcullisServer
import Testing

@Suite("settings reloaded in a running server") struct SettingsReloadTests {
    @Test("a reload changes access rules, cookies and the portal title for the next request; restart-only keys keep their old values and are named")
    func reload() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let server = try await harness.server()
        let app = Application(router: server.router)
        let gate = server.gate
        try await app.test(.router) { client in
            let before = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Requests.forwardAuth(host: "status.example.com", uri: "/health"))
            #expect(before.status == .found)

            var new = harness.configuration
            new.accessRules = [try AccessRule(domains: [DomainPattern("status.example.com")!], policy: .bypass)]
            new.sessionCookies.append(SessionCookieConfiguration(domain: "example.net", portalURL: "https://auth.example.net"))
            new.portalTitle = "Front door"
            new.listenPort = 1
            new.authMode = .otpOnly
            #expect(gate.settings.reload(new, logoDataURI: nil) == ["server.listen", "auth.mode"])

            let after = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Requests.forwardAuth(host: "status.example.com", uri: "/health"))
            #expect(after.status == .ok)
            #expect(after.headers[HeaderNames.remoteUser] == "")
            // A domain that was no cookie's is one now: its requests go to its own portal.
            let net = try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Requests.forwardAuth(host: "app.example.net"))
            #expect(net.status == .found && net.headers[.location]?.hasPrefix("https://auth.example.net/") == true)
            let page = try await client.execute(uri: "/login", method: .get, headers: [HTTPField.Name("X-Forwarded-Host")!: "auth.example.com"])
            #expect(String(buffer: page.body).contains("Front door"))
            #expect(gate.mode == .passwordAndOTP && gate.settings.current.configuration.authMode == .passwordAndOTP)
        }
    }
}
