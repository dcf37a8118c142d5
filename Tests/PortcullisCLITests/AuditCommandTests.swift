import Foundation
import PortcullisTestSupport
import Testing

/// Every change an administrator makes is in the audit trail, with the command and who ran it.
@Suite("the audit trail of administrators' changes", .serialized) struct AuditCommandTests {
    @Test("user, device, app password, key and import changes are audited; --event filters; an unknown event is refused")
    func adminChanges() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        #expect(try harness.run(["user", "add", "alice", "--groups", "ops", "--password-stdin"], input: "pass phrase\n").status == 0)
        #expect(try harness.run(["user", "otp", "add", "alice", "--label", "phone"]).status == 0)
        #expect(try harness.run(["user", "app-password", "add", "alice", "--label", "dav"]).status == 0)
        #expect(try harness.run(["user", "app-password", "remove", "alice", "dav"]).status == 0)
        #expect(try harness.run(["user", "otp", "remove", "alice", "phone"]).status == 0)
        #expect(try harness.run(["user", "disable", "alice"]).status == 0)
        #expect(try harness.run(["user", "enable", "alice"]).status == 0)
        #expect(try harness.run(["user", "passwd", "alice", "--password-stdin"], input: "another pass phrase\n").status == 0)
        #expect(try harness.run(["storage", "rotate-key"]).status == 0)
        try "otpauth://totp/Portcullis:bob?secret=JBSWY3DPEHPK3PXP&issuer=Portcullis\n".write(toFile: harness.file("uris.txt"), atomically: true, encoding: .utf8)
        #expect(try harness.run(["import", "otpauth", "uris.txt"]).status == 0)
        #expect(try harness.run(["user", "remove", "alice", "--yes"]).status == 0)

        let listed = try harness.run(["audit", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(entries.compactMap { $0["event"] as? String } == ["user_added", "device_added", "app_password_added", "app_password_removed", "device_removed",
                                                                 "user_disabled", "user_enabled", "password_changed", "key_rotated", "imported", "user_removed"],
                "\(listed.stdout)")
        let me = try ProcessRunner.run("id", ["-un"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(entries.allSatisfy { ($0["reason"] as? String)?.hasSuffix("(by \(me))") == true }, "every change names who ran it")
        #expect((entries[0]["reason"] as? String)?.hasPrefix("user add, groups ops") == true && entries[0]["user"] as? String == "alice")
        #expect(entries[9]["user"] as? String == "bob")
        #expect(!listed.stdout.contains("pass phrase"), "never a password")

        let removed = try harness.run(["audit", "--event", "user_removed", "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(removed.stdout.utf8)) as? [[String: Any]])?.count == 1, "\(removed.stdout)")
        // The filter applies before the limit: the one removal, the last of eleven entries, is found with --limit 1.
        let limited = try harness.run(["audit", "--event", "user_removed", "--limit", "1", "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(limited.stdout.utf8)) as? [[String: Any]])?.first?["event"] as? String == "user_removed", "\(limited.stdout)")
        let unknown = try harness.run(["audit", "--action", "user_vanished"])
        #expect(unknown.status != 0 && unknown.stderr.contains("is not an event; use one of:"), "\(unknown.combined)")
    }
}
