import Foundation
import PortcullisTestSupport
import Testing

/// The shipped systemd unit, checked by systemd's own tools: `systemd-analyze verify` finds nothing
/// wrong, and `systemd-analyze security` rates its exposure 2.0 or lower.
@Suite("the systemd unit") struct SystemdUnitTests {
    /// The repository's root, from this file's place in it.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let shipped = root + "/deploy/systemd/portcullis.service"

    @Test("systemd-analyze verify accepts deploy/systemd/portcullis.service and security rates it 2.0 or lower")
    func unit() throws {
        guard ProcessRunner.isAvailable("systemd-analyze") else {
            Issue.record("systemd-analyze is missing: apt-get install systemd")
            return
        }
        let folder = try TemporaryDirectory(prefix: "portcullis-unit")
        defer { folder.remove() }
        // The unit as shipped, with the binary where this build put it.
        let text = try String(contentsOfFile: Self.shipped, encoding: .utf8)
        #expect(text.contains("ExecStart=/usr/local/bin/portcullis serve --config /etc/portcullis/portcullis.yml"))
        let unit = folder.file("portcullis.service")
        try text.replacingOccurrences(of: "/usr/local/bin/portcullis", with: Binaries.path("portcullis")).write(toFile: unit, atomically: true, encoding: .utf8)

        let verified = try ProcessRunner.run("systemd-analyze", ["verify", "--man=no", unit])
        #expect(verified.status == 0 && verified.stdout.isEmpty && verified.stderr.isEmpty, "\(verified.stdout)\(verified.stderr)")

        let security = try ProcessRunner.run("systemd-analyze", ["security", "--offline=yes", "--no-pager", unit])
        let score = try #require(security.stdout.firstMatch(of: /Overall exposure level for portcullis\.service: (\d+\.\d+)/).flatMap { Double($0.1) },
                                 "\(security.stdout)\(security.stderr)")
        #expect(score <= 2.0, "exposure \(score)")
        // The fail2ban jail watches this unit's journal.
        let jail = try String(contentsOfFile: Self.root + "/deploy/fail2ban/jail.d/portcullis.local", encoding: .utf8)
        #expect(jail.contains("journalmatch = _SYSTEMD_UNIT=portcullis.service"))
    }
}
