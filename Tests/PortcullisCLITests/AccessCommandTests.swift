import Foundation
import PortcullisTestSupport
import Testing

@Suite("access commands", .serialized) struct AccessCommandTests {
    static let rules = """
    session:
      cookies:
        - domain: example.com
          portal_url: https://auth.example.com
    access_control:
      default_policy: deny
      networks:
        - name: lan
          networks: [192.168.0.0/16]
      rules:
        - domain: app.example.com
          resources: ['^/health$']
          policy: bypass
        - domain: app.example.com
          resources: ['^/admin([/?].*)?$']
          subject: 'group:admins'
          policy: two_factor
        - domain: '*.example.com'
          networks: [lan]
          policy: one_factor
        - domain: nas.example.com
          networks: [192.168.1.0/24]
          policy: two_factor
    """

    @Test("access check names the deciding rule and why the ones before it did not match")
    func check() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        try Self.rules.write(toFile: harness.file("portcullis.yml"), atomically: true, encoding: .utf8)
        let config = ["--config", harness.file("portcullis.yml")]

        let health = try harness.run(["access", "check", "https://app.example.com/%68ealth"] + config)
        #expect(health.status == 0, "\(health.combined)")
        #expect(health.stdout.contains("request: GET app.example.com/health from 127.0.0.1, not logged in"))
        #expect(health.stdout.contains("policy: bypass (rule 0)"))

        let anonymous = try harness.run(["access", "check", "https://app.example.com/admin/x"] + config)
        #expect(anonymous.stdout.contains("rule 0 (domain app.example.com; resources ^/health$; bypass): no: its resources does not match"), "\(anonymous.stdout)")
        #expect(anonymous.stdout.contains("policy: login needed first (rule 1 names group:admins)"))

        let member = try harness.run(["access", "check", "https://app.example.com/admin/x", "--user", "alice", "--groups", "admins,dev"] + config)
        #expect(member.stdout.contains("policy: two_factor (rule 1)"), "\(member.stdout)")
        let other = try harness.run(["access", "check", "https://app.example.com/admin/x", "--user", "bob", "--groups", "dev", "--ip", "192.168.1.9"] + config)
        #expect(other.stdout.contains("rule 1 (") && other.stdout.contains("no: its subject does not match"), "\(other.stdout)")
        #expect(other.stdout.contains("policy: one_factor (rule 2)"))
        let outside = try harness.run(["access", "check", "https://app.example.com/", "--user", "bob", "--groups", "dev", "--ip", "203.0.113.5"] + config)
        #expect(outside.stdout.contains("policy: deny (no rule matched: access_control.default_policy)"), "\(outside.stdout)")

        let noStore = try harness.run(["access", "check", "https://app.example.com/", "--user", "nobody"] + config)
        #expect(noStore.status != 0 && noStore.stderr.contains("There is no Portcullis store at"), "\(noStore.combined)")
        #expect(!FileManager.default.fileExists(atPath: harness.file("portcullis-data")), "access check created a store")
        #expect(try harness.run(["user", "add", "bob", "--no-password"] + config).status == 0)
        let unknown = try harness.run(["access", "check", "https://app.example.com/", "--user", "nobody"] + config)
        #expect(unknown.status != 0 && unknown.stderr.contains("No user 'nobody' exists"), "\(unknown.combined)")
        let notURL = try harness.run(["access", "check", "app.example.com/admin"] + config)
        #expect(notURL.status != 0 && notURL.stderr.contains("is not an absolute http(s) URL"), "\(notURL.combined)")
    }

    @Test("config check counts the rules and warns about a rule an earlier one always matches first; bad rules are errors")
    func configCheck() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        try Self.rules.write(toFile: harness.file("portcullis.yml"), atomically: true, encoding: .utf8)
        let checked = try harness.run(["config", "check", "--config", harness.file("portcullis.yml")])
        #expect(checked.status == 0, "\(checked.combined)")
        #expect(checked.stdout.contains("access:   4 rules, default policy deny"))
        #expect(checked.stdout.contains("warning: access_control.rules.3 can never match: rule 2 matches every request it would."), "\(checked.stdout)")
        #expect(!checked.stdout.contains("anyone can add a query"), "anchored patterns are not warned about")
        try (Self.rules.replacingOccurrences(of: "['^/health$']", with: "['\\.css$']"))
            .write(toFile: harness.file("query.yml"), atomically: true, encoding: .utf8)
        let query = try harness.run(["config", "check", "--config", harness.file("query.yml")])
        #expect(query.status == 0 && query.stdout.contains("warning: access_control.rules.0 (bypass): the pattern '\\.css$' does not match '/' but matches '/?.css'"),
                "\(query.stdout)")

        try (Self.rules + "\n    - domain: app.example.com\n      resources: ['(?i)^/api']\n      policy: one_factor\n")
            .write(toFile: harness.file("bad.yml"), atomically: true, encoding: .utf8)
        let bad = try harness.run(["config", "check", "--config", harness.file("bad.yml")])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("access_control.rules.4.resources.0 '(?i)^/api' has flags"), "\(bad.combined)")
    }
}
