import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

/// What `user disable`, `user passwd` and `user remove` end on a running server.
@Suite("commands that end sessions", .serialized) struct SessionEndingTests {
    /// A running server with alice (password and TOTP device) logged in through the form.
    struct LoggedIn {
        let harness: CLIHarness
        let server: ServerProcess

        /// Starts the server and logs alice in, keeping the session in the cookie jar `jar`.
        init(_ harness: CLIHarness, environment: [String: String] = [:]) throws {
            self.harness = harness
            let secret = try AttackerTests.addUser(harness, "alice", password: "pw for alice")
            server = try ServerProcess(harness, environment: environment)
            let page = try server.curl(["-s", "-c", "jar", "-b", "jar", server.url("/login")])
            let token = try #require(page.stdout.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
            let login = try server.curl(["-s", "-c", "jar", "-b", "jar", "-o", "/dev/null", "-w", "%{http_code}",
                                         "--data-urlencode", "csrf=\(token)", "--data-urlencode", "username=alice",
                                         "--data-urlencode", "password=pw for alice", "--data-urlencode", "code=\(AttackerTests.code(secret))",
                                         server.url("/login")])
            #expect(login.stdout == "303", "\(server.log())")
            #expect(try verify() == "200")
        }

        /// The forward-auth answer for a page of app.localhost with the session cookie.
        func verify() throws -> String {
            try server.curl(["-s", "-b", "jar", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Forwarded-Proto: http", "-H", "X-Forwarded-Host: app.localhost",
                             "-H", "X-Forwarded-URI: /", "-H", "Accept: text/html", server.url("/api/authz/forward-auth")]).stdout
        }

        /// Whether the running server refuses the session within 6 s.
        func refusedSoon() throws -> Bool {
            for _ in 0..<60 {
                if try verify() == "302" { return true }
                usleep(100_000)
            }
            return false
        }

        /// The session token in the cookie jar.
        func token() throws -> String {
            let jar = try String(contentsOfFile: harness.file("jar"), encoding: .utf8)
            let line = jar.split(separator: "\n").first { $0.split(separator: "\t").dropFirst(5).first == "portcullis_session" }
            return try #require(line?.split(separator: "\t").last.map(String.init))
        }

        /// How many sessions the store holds.
        func storedSessions() throws -> Int {
            Int(try harness.sql("SELECT COUNT(*) FROM sessions").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
    }

    @Test("user disable ends the user's sessions on the running server at once, and user enable brings none back")
    func disableThenEnable() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let alice = try LoggedIn(harness)
        defer { alice.server.stop() }

        let disabled = try harness.run(["user", "disable", "alice"])
        #expect(disabled.stdout.contains("Disabled user 'alice', ending 1 session."), "\(disabled.combined)")
        #expect(try alice.storedSessions() == 0)
        #expect(try alice.refusedSoon(), "the running server still accepted a disabled user's session")

        #expect(try harness.run(["user", "enable", "alice"]).status == 0)
        // Longer than the server's poll interval: had the session come back, it would be let in by now.
        usleep(1_500_000)
        #expect(try alice.verify() == "302", "enabling the user brought their session back")
        #expect(try harness.run(["session", "list"]).stdout.contains("No live sessions."))
    }

    @Test("user passwd ends the user's sessions on the running server; with --keep-sessions it keeps them")
    func passwdEndsSessions() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let alice = try LoggedIn(harness)
        defer { alice.server.stop() }

        let kept = try harness.run(["user", "passwd", "alice", "--keep-sessions", "--password-stdin"], input: "second password\n")
        #expect(kept.stdout.contains("Set a new password for 'alice'."), "\(kept.combined)")
        usleep(1_500_000)
        #expect(try alice.verify() == "200", "--keep-sessions ended the session")
        #expect(try alice.storedSessions() == 1)

        let changed = try harness.run(["user", "passwd", "alice", "--password-stdin"], input: "third password\n")
        #expect(changed.stdout.contains("Set a new password for 'alice', ending 1 session."), "\(changed.combined)")
        #expect(try alice.storedSessions() == 0)
        #expect(try alice.refusedSoon(), "the running server still accepted a session after the password changed")
    }

    @Test("user remove ends the user's sessions on the running server")
    func removeEndsSessions() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let alice = try LoggedIn(harness)
        defer { alice.server.stop() }

        #expect(try harness.run(["user", "remove", "alice", "--yes"]).stdout.contains("with their OTP devices, app passwords and sessions"))
        #expect(try alice.storedSessions() == 0)
        #expect(try alice.refusedSoon(), "the running server still accepted a removed user's session")
        #expect(try harness.sql("SELECT kind FROM changes ORDER BY seq DESC LIMIT 1").trimmingCharacters(in: .whitespacesAndNewlines) == "user_removed")
    }
}
