import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

@Suite("serve, config and session commands", .serialized) struct ServeCommandTests {
    @Test("serve with no configuration starts on the embedded store, says how to add a user, and stops cleanly on SIGTERM")
    func serveDefaults() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let server = try ServerProcess(harness)
        let health = try server.curl(["-s", "-w", " %{http_code}", server.url("/api/health")])
        #expect(health.stdout == "{\"status\":\"ok\"}\n 200")
        #expect(server.log().contains("portcullis user add alice && portcullis user otp add alice"))
        #expect(FileManager.default.fileExists(atPath: harness.file("portcullis-data/portcullis.sqlite3")))
        // A second server on the same address says what is wrong and what to do.
        let second = try harness.run(["serve"], extraEnvironment: ["PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(server.port)"])
        #expect(second.status != 0)
        #expect(second.stderr.contains("Cannot listen on 127.0.0.1:\(server.port): another program"), "\(second.combined)")
        #expect(second.stderr.contains("server.listen"))
        #expect(server.stop() == 0, "\(server.log())")
    }

    @Test("serve refuses a bad configuration, listing every problem, and does not start")
    func serveRefuses() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let output = try harness.run(["serve"], extraEnvironment: ["PORTCULLIS_SESSION_INACTIVITY": "5x", "PORTCULLIS_AUTH_MODE": "magic"])
        #expect(output.status != 0)
        #expect(output.stderr.contains("session.inactivity is '5x'"))
        #expect(output.stderr.contains("auth.mode is 'magic'"))
        #expect(!FileManager.default.fileExists(atPath: harness.file("portcullis-data")))
    }

    @Test("config template passes config check, and config check reports every problem with exit status 1")
    func configCommands() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let template = try harness.run(["config", "template"])
        #expect(template.status == 0)
        try template.stdout.write(toFile: harness.file("portcullis.yml"), atomically: true, encoding: .utf8)
        let check = try harness.run(["config", "check", "--config", "portcullis.yml"])
        #expect(check.status == 0, "\(check.combined)")
        #expect(check.stdout.contains("The configuration is valid."))

        try "server:\n  listen: nowhere\nsession:\n  ip_binding: sometimes\n".write(toFile: harness.file("bad.yml"), atomically: true, encoding: .utf8)
        let bad = try harness.run(["config", "check", "--config", "bad.yml"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("server.listen is 'nowhere'"))
        #expect(bad.stderr.contains("session.ip_binding is 'sometimes'"))
        let missing = try harness.run(["config", "check", "--config", "absent.yml"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("does not exist"))
    }

    @Test("log in over HTTP, list the session, revoke it from the command line, and the running server refuses it within seconds")
    func sessionCommands() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        #expect(try harness.run(["user", "add", "alice", "--password-stdin"], input: "pw for alice\n").status == 0)
        let added = try harness.run(["user", "otp", "add", "alice", "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(added.stdout.utf8)) as? [String: Any])
        let secret = try Base32.decode(try #require(json["secret"] as? String))
        let server = try ServerProcess(harness)
        defer { server.stop() }

        let page = try server.curl(["-s", "-c", "jar", "-b", "jar", server.url("/login?rd=http%3A%2F%2Fapp.localhost%2Fx%3Fy%3D1")])
        let token = try #require(page.stdout.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
        let code = OTPVerifier.code(for: TOTP.step(at: Int64(Date().timeIntervalSince1970), period: 30), secret: secret, parameters: OTPParameters())
        let login = try server.curl(["-s", "-c", "jar", "-b", "jar", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                                     "--data-urlencode", "csrf=\(token)", "--data-urlencode", "username=alice", "--data-urlencode", "password=pw for alice",
                                     "--data-urlencode", "code=\(code)", "--data-urlencode", "rd=http://app.localhost/x?y=1", server.url("/login")])
        #expect(login.stdout == "303 http://app.localhost/x?y=1", "\(server.log())")

        func verify() throws -> String {
            try server.curl(["-s", "-b", "jar", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Forwarded-Proto: http", "-H", "X-Forwarded-Host: app.localhost",
                             "-H", "X-Forwarded-URI: /x", "-H", "Accept: text/html", server.url("/api/authz/forward-auth")]).stdout
        }
        #expect(try verify() == "200")

        let list = try harness.run(["session", "list", "--json"])
        let sessions = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(sessions.count == 1)
        #expect(sessions.first?["user"] as? String == "alice")
        #expect(sessions.first?["clientIP"] as? String == "127.0.0.1")
        #expect(sessions.first?["domain"] as? String == "localhost" && sessions.first?["factors"] as? String == "password+code")
        let users = try JSONSerialization.jsonObject(with: Data(try harness.run(["user", "list", "--json"]).stdout.utf8)) as? [[String: Any]]
        #expect((users?.first?["lastLogin"] as? String)?.hasPrefix("20") == true && users?.first?["deviceCount"] as? Int == 1, "\(String(describing: users))")
        let table = try harness.run(["session", "list"])
        #expect(table.stdout.contains("alice") && table.stdout.contains("DOMAIN") && table.stdout.contains("localhost") && table.stdout.contains("password+code"), "\(table.stdout)")

        let shortID = try #require(sessions.first?["id"] as? String)
        #expect(try harness.run(["session", "revoke", "ffffffffffff"]).status != 0 || shortID.hasPrefix("ffffffffffff"))
        let revoke = try harness.run(["session", "revoke", "--user", "alice"])
        #expect(revoke.stdout.contains("Ended 1 session of alice."), "\(revoke.combined)")
        var refused = false
        for _ in 0..<60 where !refused {
            refused = try verify() == "302"
            if !refused { usleep(100_000) }
        }
        #expect(refused, "the running server still accepted a revoked session")
        #expect(try harness.run(["session", "revoke"]).status != 0)
        #expect(try harness.run(["session", "revoke", "--all"]).stdout.contains("Ended 0 sessions."))
    }
}
