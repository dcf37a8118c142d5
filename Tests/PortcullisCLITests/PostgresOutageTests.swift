import Foundation
import PortcullisTestSupport
import Testing

/// PostgreSQL stopped under a running server, then started again (issue 12 §3).
@Suite("a running server while PostgreSQL is away") struct PostgresOutageTests {
    @Test("sessions in memory keep verifying for storage.outage_grace, then need the store; logins and health say 503 with a reason, nothing crashes, and the server reconnects by itself")
    func outage() throws {
        let cluster = try PrivatePostgresCluster()
        defer { cluster.remove() }
        var harness = try CLIHarness()
        defer { harness.remove() }
        harness.environment.merge([
            "PORTCULLIS_STORAGE_POSTGRES_HOST": cluster.directory, "PORTCULLIS_STORAGE_POSTGRES_USERNAME": "postgres",
            "PORTCULLIS_STORAGE_POSTGRES_DATABASE": "portcullis", "PORTCULLIS_STORAGE_POSTGRES_TLS": "disable",
            // Long enough for the checks below (each waits up to 5 s for a connection), short enough to see it end.
            "PORTCULLIS_STORAGE_OUTAGE_GRACE": "20s",
        ]) { $1 }
        let secret = try AttackerTests.addUser(harness, "alice", password: "alice's pass")
        let server = try ServerProcess(harness)
        defer { server.stop() }
        func status(_ arguments: [String]) throws -> String {
            try server.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}"] + arguments).stdout
        }
        func verify(cookie: String? = nil, jar: String? = "jar", path: String = "/api/authz/forward-auth") throws -> String {
            var arguments = ["-H", "X-Forwarded-Proto: http", "-H", "X-Forwarded-Host: app.localhost", "-H", "X-Forwarded-URI: /"]
            if let jar { arguments += ["-b", jar] }
            if let cookie { arguments += ["-H", "Cookie: \(cookie)"] }
            return try status(arguments + [server.url(path)])
        }
        let login = try AttackerTests.logIn(server, user: "alice", password: "alice's pass", code: AttackerTests.code(secret), from: "192.0.2.30", jar: "jar")
        #expect(login.status == 303, "\(login.body.prefix(300))")
        #expect(try verify() == "200")
        // What the store acknowledged before it went away: it must all be there afterwards.
        func sessionIDs() throws -> Set<String> {
            let rows = try JSONSerialization.jsonObject(with: Data(try harness.run(["session", "list", "--json"]).stdout.utf8)) as? [[String: Any]]
            return Set((rows ?? []).compactMap { $0["id"] as? String })
        }
        let acknowledged = try sessionIDs()
        #expect(acknowledged.count == 1)

        try cluster.halt()
        let halted = Date()
        // A session this server holds keeps working; one it never saw needs the store.
        #expect(try verify() == "200", "\(server.log().suffix(2000))")
        let stranger = "portcullis_session=" + String(repeating: "A", count: 43)
        #expect(try verify(cookie: stranger, jar: nil) == "503")
        let nginxStyle = try server.curl(["-s", "-i", "-H", "Cookie: \(stranger)", "-H", "X-Original-URL: http://app.localhost/", server.url("/api/authz/auth-request")]).stdout
        #expect(nginxStyle.hasPrefix("HTTP/1.1 403") && nginxStyle.lowercased().contains("retry-after:"), "\(nginxStyle.prefix(300))")
        let health = try server.curl(["-s", "-w", "\n%{http_code}", server.url("/api/health")]).stdout
        #expect(health.hasSuffix("\n503") && health.contains("the store does not answer"), "\(health)")
        let refused = try AttackerTests.logIn(server, user: "alice", password: "alice's pass", code: AttackerTests.code(secret), from: "192.0.2.31")
        #expect(refused.status == 503, "\(refused.body.prefix(600))")
        #expect(refused.body.contains("unavailable for a moment"), "\(refused.body.suffix(1500))")
        #expect(server.process.isRunning)

        // Past the grace, the session this server holds needs the store too: a logout elsewhere could not reach it meanwhile.
        var refusedAfterGrace = false
        for _ in 0..<120 where !refusedAfterGrace {
            refusedAfterGrace = try verify() == "503"
            if !refusedAfterGrace { usleep(500_000) }
        }
        #expect(refusedAfterGrace, "\(server.log().suffix(2000))")
        // Not before the grace: the outage counts from the last good read (before the halt) plus 5 s.
        #expect(Date().timeIntervalSince(halted) >= 20, "memory stopped answering before the grace was over")
        #expect(server.log().contains("longer than storage.outage_grace"), "\(server.log().suffix(2000))")
        #expect(server.log().contains("sessions in memory keep verifying for 20 s"), "\(server.log().suffix(2000))")
        // On nginx's endpoint, which passes only 200, 401 and 403: 403 with Retry-After.
        let nginxAfterGrace = try server.curl(["-s", "-i", "-b", "jar", "-H", "X-Original-URL: http://app.localhost/", server.url("/api/authz/auth-request")]).stdout
        #expect(nginxAfterGrace.hasPrefix("HTTP/1.1 403") && nginxAfterGrace.lowercased().contains("retry-after:"), "\(nginxAfterGrace.prefix(300))")

        // Away for 30 s at least, as the issue asks.
        let away = Date().timeIntervalSince(halted)
        if away < 30 { usleep(UInt32((30 - away) * 1_000_000)) }
        try cluster.start()
        var healthy = false
        for _ in 0..<100 where !healthy {
            healthy = try status([server.url("/api/health")]) == "200"
            if !healthy { usleep(100_000) }
        }
        #expect(healthy, "\(server.log().suffix(2000))")
        let again = try AttackerTests.logIn(server, user: "alice", password: "alice's pass", code: AttackerTests.code(secret), from: "192.0.2.32", jar: "jar2")
        // The code was used by the first login in this 30-second step, or not: either way the store answers.
        #expect([303, 401].contains(again.status), "\(again.body.prefix(300))")
        #expect(try verify() == "200", "the store answers: memory does again")
        #expect(server.log().contains("the store answers again after"), "\(server.log().suffix(2000))")
        #expect(try sessionIDs().isSuperset(of: acknowledged), "no acknowledged write lost")
        #expect(!server.log().contains("Fatal error"))
    }
}
