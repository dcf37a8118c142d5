import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

@Suite struct OTPCommandTests {
    static func json(_ output: ProcessOutput) throws -> [String: Any] {
        try #require(output.status == 0, "\(output.combined)")
        return try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    }

    @Test("otp add makes a device whose codes oathtool agrees with, and whose QR files decode to its URI")
    func addAndScan() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        try cli.run(["user", "add", "alice", "--password-stdin"], input: "pass phrase\n")
        let enrolment = try Self.json(cli.run(["user", "otp", "add", "alice", "--label", "phone", "--algorithm", "sha256",
                                               "--digits", "8", "--png", cli.file("qr.png"), "--svg", cli.file("qr.svg"), "--json"]))
        let secret = try #require(enrolment["secret"] as? String)
        let uri = try #require(enrolment["uri"] as? String)
        #expect(try Base32.decode(secret).count == 20)
        #expect(uri.hasPrefix("otpauth://totp/Portcullis:alice?secret=\(secret)"))
        #expect(uri.contains("algorithm=SHA256") && uri.contains("digits=8"))

        // The PNG holds the same URI and, like the secret it carries, is readable by the owner only.
        let permissions = try FileManager.default.attributesOfItem(atPath: cli.file("qr.png"))[.posixPermissions] as? Int
        #expect(permissions == 0o600)
        let decoded = try ProcessRunner.run("zbarimg", ["--quiet", "--raw", cli.file("qr.png")])
        #expect(decoded.stdout.trimmingCharacters(in: .newlines) == uri)
        #expect(try String(contentsOfFile: cli.file("qr.svg"), encoding: .utf8).contains("<svg"))

        // oathtool computes the same code from the printed secret.
        let now = Int64(Date().timeIntervalSince1970)
        let ours = TOTP.code(secret: try Base32.decode(secret), at: now, digits: 8, algorithm: .sha256)
        let theirs = try ProcessRunner.run("oathtool", ["--totp=sha256", "--digits=8", "--base32", "--now=@\(now)", secret])
        #expect(theirs.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == ours)

        // The secret is stored encrypted: neither its bytes nor its Base32 are in the database.
        let dump = try ProcessRunner.run("sqlite3", [cli.file("portcullis-data/portcullis.sqlite3"), ".dump"]).stdout
        #expect(!dump.contains(secret))
        #expect(!dump.lowercased().contains(Hex.encode(try Base32.decode(secret))))

        // qr shows it again; the terminal rendering is there without --json.
        let again = try Self.json(cli.run(["user", "otp", "qr", "alice", "PHONE", "--json"]))
        #expect(again["secret"] as? String == secret)
        let terminal = try cli.run(["user", "otp", "qr", "alice", "phone"])
        #expect(terminal.stdout.contains("\u{2588}") && terminal.stdout.contains(uri))

        let list = try cli.run(["user", "otp", "list", "alice"])
        #expect(list.stdout.contains("phone: TOTP, SHA256, 8 digits, 60 s") == false)
        #expect(list.stdout.contains("phone: TOTP, SHA256, 8 digits, 30 s"))
        #expect(!list.stdout.contains(secret))
    }

    @Test("a given Base32 secret is kept; HOTP and mOTP devices are added; duplicates and bad input are refused")
    func variants() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        try cli.run(["user", "add", "bob", "--password-stdin"], input: "pass phrase\n")
        let given = try Self.json(cli.run(["user", "otp", "add", "bob", "--secret", "jbsw y3dp ehpk 3pxp", "--json"]))
        #expect(given["secret"] as? String == "JBSWY3DPEHPK3PXP")

        let hotp = try Self.json(cli.run(["user", "otp", "add", "bob", "--label", "token", "--type", "hotp", "--counter", "5", "--json"]))
        #expect((hotp["uri"] as? String)?.contains("counter=5") == true)

        let motp = try Self.json(cli.run(["user", "otp", "add", "bob", "--label", "motp", "--type", "motp",
                                          "--secret", "0123456789abcdef", "--pin-stdin", "--json"], input: "1234\n"))
        #expect(motp["secret"] as? String == "0123456789abcdef")
        #expect(motp["uri"] == nil || motp["uri"] is NSNull)

        let duplicate = try cli.run(["user", "otp", "add", "bob", "--label", "DEFAULT"])
        #expect(duplicate.status != 0 && duplicate.stderr.contains("--label"))
        let badSecret = try cli.run(["user", "otp", "add", "bob", "--label", "x", "--secret", "not!base32"])
        #expect(badSecret.status != 0 && badSecret.stderr.contains("'!'"))
        let badDigits = try cli.run(["user", "otp", "add", "bob", "--label", "x", "--digits", "12"])
        #expect(badDigits.status != 0 && badDigits.stderr.contains("6 to 10"))
        let noUser = try cli.run(["user", "otp", "add", "nobody"])
        #expect(noUser.status != 0 && noUser.stderr.contains("No user 'nobody'"))

        #expect(try cli.run(["user", "otp", "remove", "bob", "token"]).status == 0)
        let left = try cli.run(["user", "otp", "list", "bob"]).stdout
        #expect(left.contains("default:") && left.contains("motp:") && !left.contains("token:"))
        let missing = try cli.run(["user", "otp", "remove", "bob", "token"])
        #expect(missing.status != 0 && missing.stderr.contains("default, motp"))
    }
}
