import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PortcullisCore
import PortcullisTestSupport
import Testing

@Suite struct StorageKeyTests {
    static func enrol(_ cli: CLIHarness) throws -> String {
        try cli.run(["user", "add", "alice", "--password-stdin"], input: "pass phrase\n")
        let output = try cli.run(["user", "otp", "add", "alice", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
        return try #require(object?["secret"] as? String)
    }

    @Test("a wrong or missing key stops the program with a message naming the key, and no fallback")
    func wrongAndMissingKey() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        _ = try Self.enrol(cli)
        let keyPath = cli.file("portcullis-data/storage.key")
        let original = try String(contentsOfFile: keyPath, encoding: .utf8)

        var random = SystemRandomNumberGenerator()
        try StorageKey.generate(using: &random).fileText.write(toFile: keyPath, atomically: true, encoding: .utf8)
        let wrong = try cli.run(["user", "otp", "qr", "alice", "default"])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("portcullis-data/storage.key") && wrong.stderr.contains("not the key"))

        try FileManager.default.removeItem(atPath: keyPath)
        let missing = try cli.run(["user", "list"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("does not exist") && missing.stderr.contains("PORTCULLIS_STORAGE_ENCRYPTION_KEY"))
        #expect(!FileManager.default.fileExists(atPath: keyPath), "a new key must not be made for a store that has secrets")

        try "garbage".write(toFile: keyPath, atomically: true, encoding: .utf8)
        let malformed = try cli.run(["user", "list"])
        #expect(malformed.status != 0 && malformed.stderr.contains("Base64"))

        try original.write(toFile: keyPath, atomically: true, encoding: .utf8)
        #expect(try cli.run(["user", "otp", "qr", "alice", "default"]).status == 0)
    }

    @Test("the key can come from the environment, directly or from a file")
    func environmentKey() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        var random = SystemRandomNumberGenerator()
        let key = StorageKey.generate(using: &random)
        let environment = ["PORTCULLIS_STORAGE_ENCRYPTION_KEY": Base64.encode(key.bytes)]
        #expect(try cli.run(["user", "add", "alice", "--password-stdin"], input: "pass phrase\n", extraEnvironment: environment).status == 0)
        #expect(try cli.run(["user", "otp", "add", "alice"], extraEnvironment: environment).status == 0)
        #expect(!FileManager.default.fileExists(atPath: cli.file("portcullis-data/storage.key")))
        try key.fileText.write(toFile: cli.file("env.key"), atomically: true, encoding: .utf8)
        let fromFile = try cli.run(["user", "otp", "qr", "alice", "default"], extraEnvironment: ["PORTCULLIS_STORAGE_ENCRYPTION_KEY_FILE": cli.file("env.key")])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        let without = try cli.run(["user", "list"])
        #expect(without.status != 0)
    }

    @Test("rotate-key re-encrypts every secret under a new key file; the old key no longer opens the data")
    func rotation() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        let secret = try Self.enrol(cli)
        #expect(try cli.run(["user", "otp", "add", "alice", "--label", "second"]).status == 0)
        let keyPath = cli.file("portcullis-data/storage.key")
        let oldKey = try String(contentsOfFile: keyPath, encoding: .utf8)
        let oldCiphertext = try cli.sql("SELECT hex(sealed_secret) FROM otp_devices ORDER BY id")

        let rotated = try cli.run(["storage", "rotate-key"])
        #expect(rotated.status == 0, "\(rotated.combined)")
        #expect(rotated.stdout.contains("Re-encrypted 2 secrets"))
        let newKey = try String(contentsOfFile: keyPath, encoding: .utf8)
        #expect(newKey != oldKey)
        #expect(!FileManager.default.fileExists(atPath: keyPath + ".new"))
        #expect(try cli.sql("SELECT hex(sealed_secret) FROM otp_devices ORDER BY id") != oldCiphertext)

        let shown = try cli.run(["user", "otp", "qr", "alice", "default", "--json"])
        #expect(shown.stdout.contains(secret))

        try oldKey.write(toFile: keyPath, atomically: true, encoding: .utf8)
        #expect(try cli.run(["user", "otp", "qr", "alice", "default"]).status != 0)
    }

    @Test("an interrupted rotation is finished at the next start when the new key is already in use")
    func interruptedRotation() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        let secret = try Self.enrol(cli)
        let keyPath = cli.file("portcullis-data/storage.key")
        let oldKey = try String(contentsOfFile: keyPath, encoding: .utf8)
        // Rotate, then put the old key back and the new one beside it: as if the process died before the rename.
        #expect(try cli.run(["storage", "rotate-key"]).status == 0)
        let newKey = try String(contentsOfFile: keyPath, encoding: .utf8)
        try newKey.write(toFile: keyPath + ".new", atomically: true, encoding: .utf8)
        try oldKey.write(toFile: keyPath, atomically: true, encoding: .utf8)

        let recovered = try cli.run(["user", "otp", "qr", "alice", "default", "--json"])
        #expect(recovered.status == 0, "\(recovered.combined)")
        #expect(recovered.stdout.contains(secret))
        #expect(recovered.stderr.contains("interrupted key rotation"))
        #expect(try String(contentsOfFile: keyPath, encoding: .utf8) == newKey)
        #expect(!FileManager.default.fileExists(atPath: keyPath + ".new"))
    }

    @Test("rotate-key while a server runs: the server loads the new key and keeps logging users in")
    func rotationUnderARunningServer() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        let phone = try AttackerTests.addUser(cli, "alice", password: "alice's password")
        let tablet = try Base32.decode(try #require(try JSONSerialization.jsonObject(with: Data(cli.run(["user", "otp", "add", "alice", "--label", "tablet", "--json"]).stdout.utf8)) as? [String: Any])["secret"] as? String ?? "")
        let server = try ServerProcess(cli)
        defer { server.stop() }
        #expect(try AttackerTests.logIn(server, user: "alice", password: "alice's password", code: AttackerTests.code(phone), from: "198.51.100.7").status == 303)

        let rotated = try cli.run(["storage", "rotate-key"])
        #expect(rotated.status == 0, "\(rotated.combined)")
        let login = try AttackerTests.logIn(server, user: "alice", password: "alice's password", code: AttackerTests.code(tablet), from: "198.51.100.7")
        #expect(login.status == 303, "\(login.body)\n\(server.log())")
        #expect(server.log().contains("loaded the new storage key"), "\(server.log())")
        #expect(try server.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", server.url("/api/health")]).stdout == "200")
        #expect(!server.log().contains("error"), "\(server.log())")
    }

    /// A `.new` key file that opens nothing in the store; returns the key file's path.
    static func strayNewKey(_ cli: CLIHarness) throws -> String {
        let keyPath = cli.file("portcullis-data/storage.key")
        var random = SystemRandomNumberGenerator()
        try StorageKey.generate(using: &random).fileText.write(toFile: keyPath + ".new", atomically: true, encoding: .utf8)
        return keyPath
    }

    /// Takes the lock rotate-key holds while its .new file is in use; close the descriptor to release it.
    static func holdRotationLock(_ cli: CLIHarness) throws -> Int32 {
        let lock = open(cli.file("portcullis-data/portcullis.sqlite3.rotation.lock"), O_RDWR | O_CREAT, 0o600)
        try #require(lock >= 0 && flock(lock, LOCK_EX) == 0)
        return lock
    }

    @Test("a rotation in progress keeps its .new key file: other commands leave it alone, and use it once the store is re-encrypted")
    func rotationInProgress() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        _ = try Self.enrol(cli)
        let keyPath = try Self.strayNewKey(cli)

        let lock = try Self.holdRotationLock(cli)
        #expect(try cli.run(["user", "list"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: keyPath + ".new"), "a running rotation's new key must survive other commands")
        let second = try cli.run(["storage", "rotate-key"])
        #expect(second.status != 0 && second.stderr.contains("Another storage rotate-key is running"), "\(second.combined)")

        // Between the rotation's commit and its rename: the store uses the .new key already, and a
        // command (or a server) starting then uses it, leaving the files to the rotation.
        close(lock)
        try FileManager.default.removeItem(atPath: keyPath + ".new")
        let oldKey = try String(contentsOfFile: keyPath, encoding: .utf8)
        #expect(try cli.run(["storage", "rotate-key"]).status == 0)
        try String(contentsOfFile: keyPath, encoding: .utf8).write(toFile: keyPath + ".new", atomically: true, encoding: .utf8)
        try oldKey.write(toFile: keyPath, atomically: true, encoding: .utf8)
        let relock = try Self.holdRotationLock(cli)
        let during = try cli.run(["user", "otp", "qr", "alice", "default"])
        #expect(during.status == 0, "\(during.combined)")
        #expect(FileManager.default.fileExists(atPath: keyPath + ".new"))
        #expect(try String(contentsOfFile: keyPath, encoding: .utf8) == oldKey)
        close(relock)
        let finished = try cli.run(["user", "list"])
        #expect(finished.status == 0 && finished.stderr.contains("interrupted key rotation"), "\(finished.combined)")
        #expect(!FileManager.default.fileExists(atPath: keyPath + ".new"))
    }

    @Test("a stale .new key file of a rotation that never committed is removed once no rotation runs")
    func staleNewKeyFile() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        _ = try Self.enrol(cli)
        let keyPath = try Self.strayNewKey(cli)
        let cleaned = try cli.run(["user", "list"])
        #expect(cleaned.status == 0 && cleaned.stderr.contains("did not complete"), "\(cleaned.combined)")
        #expect(!FileManager.default.fileExists(atPath: keyPath + ".new"))
    }
}
