import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

/// The inputs that crashed the command line or the server before values were bounded where they enter.
@Suite("bounded input on the command line and in the server", .serialized) struct BoundedInputCLITests {
    @Test("`user otp add` refuses an HOTP counter past 2^53 − 1, and a server whose store holds one answers a login instead of crashing")
    func hotpCounter() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        #expect(try harness.run(["user", "add", "alice", "--password-stdin"], input: "alice's pass\n").status == 0)
        // An expiry that overflowed `now + duration`.
        let expires = try harness.run(["user", "app-password", "add", "alice", "--label", "x", "--expires", "9223372036854775807"])
        #expect(expires.status != 0 && expires.stderr.contains("is not a duration"), "\(expires.combined)")
        let refused = try harness.run(["user", "otp", "add", "alice", "--type", "hotp", "--counter", "18446744073709551615"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("An HOTP counter must be 0 to 9007199254740991"), "\(refused.combined)")

        let added = try harness.run(["user", "otp", "add", "alice", "--type", "hotp", "--counter", "5", "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(added.stdout.utf8)) as? [String: Any], "\(added.combined)")
        let secret = try Base32.decode(try #require(json["secret"] as? String))
        // What the store held after `--counter 18446744073709551615` was accepted: the store could hold anything.
        _ = try harness.sql("UPDATE otp_devices SET last_accepted = 9223372036854775806")

        let server = try ServerProcess(harness)
        defer { server.stop() }
        let code = OTPVerifier.code(for: .max, secret: secret, parameters: OTPParameters(type: .hotp))
        let attempt = try AttackerTests.logIn(server, user: "alice", password: "alice's pass", code: code, from: "198.51.100.20")
        #expect(attempt.status == 401, "\(attempt.body)\n\(server.log())")
        #expect(server.process.isRunning, "\(server.log())")
        #expect(try server.curl(["-sf", "-o", "/dev/null", server.url("/api/health")]).status == 0)
    }

    @Test("`config check` reports a duration that overflows instead of crashing")
    func durationOverflow() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let template = try harness.run(["config", "template"])
        try template.stdout.write(toFile: harness.file("portcullis.yml"), atomically: true, encoding: .utf8)
        let check = try harness.run(["config", "check", "--config", "portcullis.yml"],
                                    extraEnvironment: ["PORTCULLIS_SESSION_INACTIVITY": "9223372036854775807s1s"])
        #expect(check.status == 1, "\(check.combined)")
        #expect(check.stderr.contains("session.inactivity is '9223372036854775807s1s'"))
    }

    @Test("importers skip a seed id of 1e400, offsets of ±2^63 and counters past the maximum, and refuse a billion laughs at once")
    func importers() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        _ = try ProcessRunner.run("sqlite3", [harness.file("auth.db"),
            "CREATE TABLE seeds (id, secret TEXT); INSERT INTO seeds VALUES (1e400, 'JBSWY3DPEHPK3PXP'), (2, 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');"])
        let seeds = try harness.run(["import", "forward-auth-totp", "auth.db", "--dry-run"])
        #expect(seeds.status == 0, "\(seeds.combined)")
        #expect(seeds.stdout.contains("create user1:"))
        #expect(seeds.stdout.contains("skip seed 2 (in id order): its id is not a whole number"))

        let key = "3132333435363738393031323334353637383930"
        try "HOTP/E alice - \(key) -9223372036854775808\nHOTP/T30 bob - \(key) 9223372036854775807 0 123456 2009-06-12T17:52:32L\n"
            .write(toFile: harness.file("users.otp"), atomically: true, encoding: .utf8)
        let offsets = try harness.run(["import", "mod-authn-otp", "users.otp"])
        #expect(offsets.status == 1, "\(offsets.combined)")
        #expect(offsets.stdout.contains("skip line 1: user alice: the counter offset -9223372036854775808 is not 0 to 9007199254740991"))
        #expect(offsets.stdout.contains("skip line 2: user bob: the time offset 9223372036854775807 is more than 100 steps either way"))

        try "otpauth://hotp/Bank:carol?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=9223372036854775807\n"
            .write(toFile: harness.file("uris.txt"), atomically: true, encoding: .utf8)
        let uris = try harness.run(["import", "otpauth", "uris.txt"])
        #expect(uris.status == 1)
        #expect(uris.stdout.contains("skip line 1: The otpauth URI has counter '9223372036854775807'"), "\(uris.combined)")

        try HostileYAML.laughs(levels: 9).write(toFile: harness.file("secrets.json"), atomically: true, encoding: .utf8)
        try "lee:$2y$05$abcdefghijklmnopqrstuu5s2v8.iWn6p4fkjKu4B5tmv5Yt/qTfC\n".write(toFile: harness.file("htpasswd"), atomically: true, encoding: .utf8)
        let started = Date()
        let laughs = try harness.run(["import", "caddy-basicauth-totp", "secrets.json", "--htpasswd", "htpasswd"])
        #expect(laughs.status == 1)
        #expect(laughs.stdout.contains("skip the secrets file: it has more than 524288 values once its aliases are expanded."), "\(laughs.combined)")
        #expect(Date().timeIntervalSince(started) < 10)
    }
}
