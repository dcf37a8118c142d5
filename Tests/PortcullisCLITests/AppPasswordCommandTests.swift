import Foundation
import PortcullisTestSupport
import Testing

@Suite("app-password commands", .serialized) struct AppPasswordCommandTests {
    @Test("add prints the password once, list never shows it, it opens the verify endpoint over Basic, and remove closes it on a running server")
    func lifecycle() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        #expect(try harness.run(["user", "add", "alice", "--password-stdin"], input: "pw for alice\n").status == 0)
        let added = try harness.run(["user", "app-password", "add", "alice", "--label", "calendar", "--expires", "90d", "--json"])
        #expect(added.status == 0, "\(added.combined)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(added.stdout.utf8)) as? [String: Any])
        let password = try #require(json["password"] as? String)
        #expect(password.count == 39)
        let list = try harness.run(["user", "app-password", "list", "alice"])
        #expect(list.stdout.contains("calendar"))
        #expect(!list.stdout.contains(password))
        #expect(try harness.run(["user", "app-password", "add", "alice", "--label", "calendar"]).status != 0, "labels are unique")
        #expect(try harness.run(["user", "app-password", "add", "alice", "--label", "bad label"]).status != 0)
        #expect(try harness.run(["user", "app-password", "add", "alice", "--label", "x", "--expires", "soon"]).status != 0)
        let badLevel = try harness.run(["user", "app-password", "add", "alice", "--label", "x", "--level", "three_factor"])
        #expect(badLevel.status != 0 && badLevel.combined.contains("use two_factor or one_factor"))
        #expect(try harness.run(["user", "app-password", "add", "alice", "--label", "wiki", "--level", "one_factor"]).stdout.contains("level: one_factor"))
        let levels = try harness.run(["user", "app-password", "list", "alice", "--json"]).stdout
        #expect(levels.contains("\"level\" : \"two_factor\"") && levels.contains("\"level\" : \"one_factor\""), "\(levels)")
        #expect(try harness.sql("SELECT label, auth_level FROM app_passwords ORDER BY id").contains("wiki|3"))
        // The database holds only its hash.
        #expect(try !harness.sql("SELECT hex(hash) FROM app_passwords").contains(password))

        let server = try ServerProcess(harness)
        defer { server.stop() }
        func verify() throws -> String {
            try server.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "alice:\(password)", "-H", "X-Forwarded-Proto: http",
                             "-H", "X-Forwarded-Host: dav.localhost", "-H", "X-Forwarded-URI: /", server.url("/api/authz/forward-auth")]).stdout
        }
        #expect(try verify() == "200", "\(server.log())")
        #expect(try harness.run(["user", "app-password", "remove", "alice", "calendar"]).stdout.contains("Removed app password 'calendar' of alice."))
        var refused = false
        for _ in 0..<60 where !refused {
            refused = try verify() == "401"
            if !refused { usleep(100_000) }
        }
        #expect(refused, "the removed app password still worked")
        #expect(try harness.run(["user", "app-password", "remove", "alice", "calendar"]).status != 0)
    }
}
