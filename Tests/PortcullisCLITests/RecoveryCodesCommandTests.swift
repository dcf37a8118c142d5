import Foundation
import PortcullisTestSupport
import Testing

@Suite("portcullis user recovery-codes") struct RecoveryCodesCommandTests {
    @Test("prints 10 readable codes once, voids the old ones when run again, counts them, and audits it")
    func recoveryCodes() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        #expect(try harness.run(["user", "add", "alice", "--password-stdin"], input: "alice's pass\n").status == 0)
        let printed = try harness.run(["user", "recovery-codes", "alice"])
        #expect(printed.status == 0, "\(printed.stderr)")
        let codes = printed.stdout.matches(of: /[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}/).map { String($0.0) }
        #expect(codes.count == 10 && Set(codes).count == 10)
        #expect(printed.stdout.contains("not shown again"))
        #expect(try harness.run(["user", "recovery-codes", "alice", "--remaining"]).stdout.contains("has 10 recovery codes left"))
        #expect(try harness.run(["user", "show", "alice"]).stdout.contains("Recovery codes: 10 left"))

        let json = try harness.run(["user", "recovery-codes", "alice", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let fresh = try #require(object["codes"] as? [String])
        #expect(object["user"] as? String == "alice" && fresh.count == 10 && Set(fresh).isDisjoint(with: codes))
        // The database holds no code in clear text.
        let dump = try ProcessRunner.run("sqlite3", [harness.file("portcullis-data/portcullis.sqlite3"), ".dump"]).stdout
        #expect(!(codes + fresh).contains { dump.contains($0) || dump.contains($0.replacingOccurrences(of: "-", with: "")) })

        let audit = try harness.run(["audit", "--event", "recovery_codes_made"])
        #expect(audit.stdout.components(separatedBy: "portcullis user recovery-codes").count - 1 == 2, "\(audit.stdout)")
        let unknown = try harness.run(["user", "recovery-codes", "nobody"])
        #expect(unknown.status != 0 && unknown.stderr.contains("nobody"))
    }
}
