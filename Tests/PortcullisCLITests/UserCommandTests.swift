import Foundation
import PortcullisTestSupport
import Testing

@Suite struct UserCommandTests {
    @Test("user add, list, show, disable, enable, passwd and remove work, with JSON output")
    func lifecycle() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        let added = try cli.run(["user", "add", "alice", "--display-name", "Alice Liddell", "--email", "alice@example.com",
                                 "--groups", "admins, dev", "--password-stdin"], input: "first password\n")
        #expect(added.status == 0, "\(added.combined)")
        #expect(added.stdout.contains("portcullis user otp add alice"))
        #expect(added.stderr.contains("storage key"))

        // The data folder is private.
        let attributes = try FileManager.default.attributesOfItem(atPath: cli.file("portcullis-data"))
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        let keyAttributes = try FileManager.default.attributesOfItem(atPath: cli.file("portcullis-data/storage.key"))
        #expect((keyAttributes[.posixPermissions] as? Int) == 0o600)

        let hash = try cli.sql("SELECT password_hash FROM users WHERE name = 'alice'")
        #expect(hash.hasPrefix("$scrypt$ln=15,r=8,p=1$"))
        #expect(!hash.contains("first password"))

        let list = try cli.run(["user", "list", "--json"])
        let users = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
        #expect(users?.count == 1)
        #expect(users?.first?["name"] as? String == "alice")
        #expect(users?.first?["groups"] as? [String] == ["admins", "dev"])
        #expect(users?.first?["hasPassword"] as? Bool == true)
        #expect(!list.stdout.contains("scrypt"))

        #expect(try cli.run(["user", "disable", "ALICE"]).status == 0)
        let shown = try cli.run(["user", "show", "alice", "--json"])
        let user = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any]
        #expect(user?["disabled"] as? Bool == true)
        #expect(user?["email"] as? String == "alice@example.com")
        #expect(try cli.run(["user", "enable", "alice"]).status == 0)
        #expect(try cli.run(["user", "show", "alice"]).stdout.contains("Disabled:     no"))
        let table = try cli.run(["user", "list"]).stdout
        #expect(table.contains("DEVICES  STATE     LAST LOGIN") && table.contains("admins,dev") && table.contains("active") && table.contains("never"), "\(table)")
        let listed = try JSONSerialization.jsonObject(with: Data(try cli.run(["user", "list", "--json"]).stdout.utf8)) as? [[String: Any]]
        #expect(listed?.first?["deviceCount"] as? Int == 0 && listed?.first?["locked"] as? Bool == false && listed?.first?["lastLogin"] as? String == "never")

        // Removing asks on a terminal; without one it needs --yes, and removes nothing.
        let unasked = try cli.run(["user", "remove", "alice"])
        #expect(unasked.status != 0 && unasked.stderr.contains("Add --yes to remove 'alice' without asking"), "\(unasked.combined)")
        #expect(try cli.run(["user", "show", "alice"]).status == 0)

        #expect(try cli.run(["user", "passwd", "alice", "--password-stdin"], input: "second password\n").status == 0)
        #expect(try cli.sql("SELECT password_hash FROM users WHERE name = 'alice'") != hash)

        #expect(try cli.run(["user", "remove", "alice", "--yes"]).status == 0)
        #expect(try cli.run(["user", "list"]).stdout.contains("No users yet"))
    }

    @Test("errors name the problem and the fix, exit non-zero, and change nothing")
    func errors() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        try cli.run(["user", "add", "alice", "--password-stdin"], input: "pass phrase\n")

        let duplicate = try cli.run(["user", "add", "Alice", "--password-stdin"], input: "pass phrase\n")
        #expect(duplicate.status != 0)
        #expect(duplicate.stderr.contains("A user named 'alice' exists already"), "names the existing user as written: \(duplicate.stderr)")
        #expect(try cli.run(["ban", "list", "--json"]).stdout == "[]\n", "an empty list is [] for scripts")

        let unknown = try cli.run(["user", "show", "bob"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("No user 'bob'") && unknown.stderr.contains("portcullis user list"))

        let badName = try cli.run(["user", "add", "bad name", "--password-stdin"], input: "pass phrase\n")
        #expect(badName.status != 0)
        #expect(badName.stderr.contains("not allowed"))

        // Passwords shorter than auth.password_min_length (8 by default) are refused, for add and passwd alike.
        let short = try cli.run(["user", "add", "dave", "--password-stdin"], input: "hunter2\n")
        #expect(short.status != 0 && short.stderr.contains("The password has 7 characters; at least 8 are needed (auth.password_min_length)"), "\(short.combined)")
        #expect(try cli.run(["user", "show", "dave"]).status != 0, "no user was added")
        #expect(try cli.run(["user", "passwd", "alice", "--password-stdin"], input: "short\n").status != 0)
        #expect(try cli.run(["user", "add", "dave", "--password-stdin"], input: "abcd\n", extraEnvironment: ["PORTCULLIS_AUTH_PASSWORD_MIN_LENGTH": "4"]).status == 0)
        #expect(try cli.run(["user", "remove", "dave", "--yes"]).status == 0)

        // No terminal and no --password-stdin: refused, with the way to do it.
        let noTTY = try cli.run(["user", "add", "carol"])
        #expect(noTTY.status != 0)
        #expect(noTTY.stderr.contains("--password-stdin"))
        let empty = try cli.run(["user", "add", "carol", "--password-stdin"], input: "")
        #expect(empty.status != 0)

        // A password is never accepted as an argument.
        let inArgv = try cli.run(["user", "add", "carol", "--password", "secret"])
        #expect(inArgv.status != 0)

        #expect(try cli.sql("SELECT name FROM users").trimmingCharacters(in: .whitespacesAndNewlines) == "alice")
    }

    @Test("hash-password prints a default-format hash of the password on standard input")
    func hashPassword() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        let output = try cli.run(["hash-password", "--password-stdin"], input: "hunter2\n")
        #expect(output.status == 0)
        let hash = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hash.hasPrefix("$scrypt$ln=15,r=8,p=1$"))
        #expect(hash.split(separator: "$").count == 4)
        #expect(try cli.run(["hash-password", "--password-stdin"], input: "hunter2\n").stdout != output.stdout)
    }

    @Test("--help teaches: subcommands and examples are listed")
    func help() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        let root = try cli.run(["--help"])
        #expect(root.stdout.contains("user") && root.stdout.contains("hash-password") && root.stdout.contains("storage"))
        let add = try cli.run(["user", "otp", "add", "--help"])
        #expect(add.stdout.contains("--secret") && add.stdout.contains("portcullis user otp add alice"))
    }
}
