import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

@Suite("portcullis user invite and reset-otp") struct InviteCommandTests {
    /// The token of the link a command printed.
    static func token(_ output: String) throws -> String {
        String(try #require(output.firstMatch(of: /\/enroll\?token=([A-Za-z0-9_-]{43})/)?.1))
    }

    @Test("invite creates the user and prints a one-time link; a real server's page sets up the login and logs in; the link then stops working")
    func invite() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let printed = try harness.run(["user", "invite", "bob", "--display-name", "Bob Example", "--email", "bob@example.com", "--groups", "dev,ops"])
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(printed.stdout.contains("http://localhost:9091/enroll?token="), "\(printed.stdout)")
        #expect(printed.stderr.contains("session.cookies is not set"), "a link to localhost says how to get a public one")
        let first = try Self.token(printed.stdout)
        let shown = try harness.run(["user", "show", "bob", "--json"])
        let user = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(user["email"] as? String == "bob@example.com" && user["groups"] as? [String] == ["dev", "ops"] && user["hasPassword"] as? Bool == false)
        // A new link voids the old; only hashes are stored.
        let again = try harness.run(["user", "invite", "bob", "--expires", "2h", "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        let token = try Self.token(try #require(json["url"] as? String))
        #expect(try harness.sql("SELECT COUNT(*) FROM invitations").trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        let dump = try ProcessRunner.run("sqlite3", [harness.file("portcullis-data/portcullis.sqlite3"), ".dump"]).stdout
        #expect(!dump.contains(token) && !dump.contains(first))

        let server = try ServerProcess(harness)
        defer { _ = server.stop() }
        #expect(try server.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", server.url("/enroll?token=" + first)]).stdout == "404")
        let page = try server.curl(["-s", "-c", "jar", "-b", "jar", server.url("/enroll?token=" + token)])
        let csrf = try #require(page.stdout.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
        let pending = try #require(page.stdout.firstMatch(of: /name="pending" value="([^"]+)"/)?.1)
        let secretText = try #require(page.stdout.firstMatch(of: /<p class="secret">([A-Z2-7 ]+)</)?.1)
        let secret = try Base32.decode(secretText.replacingOccurrences(of: " ", with: ""))
        let done = try server.curl(["-s", "-c", "jar", "-b", "jar", "-w", "\n%{http_code}",
                                    "--data-urlencode", "csrf=\(csrf)", "--data-urlencode", "token=\(token)", "--data-urlencode", "pending=\(pending)",
                                    "--data-urlencode", "password=correct battery", "--data-urlencode", "password2=correct battery",
                                    "--data-urlencode", "label=Phone", "--data-urlencode", "code=\(AttackerTests.code(secret))", server.url("/enroll")])
        #expect(done.stdout.hasSuffix("\n200"), "\(done.stdout.suffix(300)) \(server.log())")
        #expect(done.stdout.matches(of: /<li>[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}<\/li>/).count == 10)
        let verify = try server.curl(["-s", "-b", "jar", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Forwarded-Proto: http", "-H", "X-Forwarded-Host: app.localhost",
                                      "-H", "X-Forwarded-URI: /", server.url("/api/authz/forward-auth")])
        #expect(verify.stdout == "200")
        #expect(try server.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", server.url("/enroll?token=" + token)]).stdout == "404")
        let audit = try harness.run(["audit", "--user", "bob"]).stdout
        #expect(audit.contains("invited") && audit.contains("enrolled"), "\(audit)")
    }

    @Test("mistakes are refused with what to do: details for an existing user, a user who has a login, a lifetime over 30 days, a reset for a user without a password, a disabled user")
    func refusals() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        #expect(try harness.run(["user", "add", "alice", "--password-stdin"], input: "alice's pass\n").status == 0)
        #expect(try harness.run(["user", "add", "carol", "--no-password"]).status == 0)
        let details = try harness.run(["user", "invite", "alice", "--email", "a@example.com"])
        #expect(details.status != 0 && details.stderr.contains("only for a new user"))
        let enrolled = try harness.run(["user", "invite", "alice"])
        #expect(enrolled.status != 0 && enrolled.stderr.contains("portcullis user reset-otp alice") && enrolled.stderr.contains("user passwd alice"))
        #expect(try harness.run(["user", "invite", "carol"]).status == 0, "a user without a password or device may be invited")
        let long = try harness.run(["user", "invite", "alice", "--expires", "31d"])
        #expect(long.status != 0 && long.stderr.contains("30d"))
        let noPassword = try harness.run(["user", "reset-otp", "carol"])
        #expect(noPassword.status != 0 && noPassword.stderr.contains("portcullis user invite carol"))
        #expect(try harness.run(["user", "disable", "alice"]).status == 0)
        let disabled = try harness.run(["user", "reset-otp", "alice"])
        #expect(disabled.status != 0 && disabled.stderr.contains("portcullis user enable alice"))
        #expect(try harness.run(["user", "enable", "alice"]).status == 0)
        let reset = try harness.run(["user", "reset-otp", "alice", "--expires", "1h"])
        #expect(reset.status == 0 && reset.stdout.contains("/enroll?token=") && reset.stdout.contains("other devices and sessions end"))
        #expect(try harness.sql("SELECT kind FROM invitations JOIN users ON users.id = invitations.user_id WHERE users.name = 'alice'").trimmingCharacters(in: .whitespacesAndNewlines) == "reset_otp")
    }
}
