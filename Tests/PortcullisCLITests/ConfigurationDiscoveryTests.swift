import Foundation
import PortcullisTestSupport
import Testing

/// Finding the configuration and the store: `--config`, `PORTCULLIS_CONFIG`, `./portcullis.yml`,
/// `/etc/portcullis/portcullis.yml`, the defaults; paths relative to the file; read-only commands
/// that create nothing.
@Suite("finding the configuration and the store", .serialized) struct ConfigurationDiscoveryTests {
    @Test("./portcullis.yml is found, its relative paths are the file's folder's; PORTCULLIS_CONFIG works from anywhere; --verbose says which")
    func discovery() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        try FileManager.default.createDirectory(atPath: harness.file("site"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: harness.file("elsewhere"), withIntermediateDirectories: true)
        try "storage:\n  sqlite:\n    path: data/gate.sqlite3\n".write(toFile: harness.file("site/portcullis.yml"), atomically: true, encoding: .utf8)

        let search = ["PORTCULLIS_CONFIG": ""]  // unset: the search applies
        let added = try harness.run(["user", "add", "alice", "--no-password"], extraEnvironment: search, in: "site")
        #expect(added.status == 0, "\(added.combined)")
        #expect(added.stderr.contains("Created a new store at data/gate.sqlite3 (configuration: ./portcullis.yml)"), "\(added.stderr)")
        #expect(FileManager.default.fileExists(atPath: harness.file("site/data/gate.sqlite3")))

        // From another folder, through PORTCULLIS_CONFIG: the same store, found relative to the file.
        let listed = try harness.run(["user", "list", "--verbose"], extraEnvironment: ["PORTCULLIS_CONFIG": harness.file("site/portcullis.yml")], in: "elsewhere")
        #expect(listed.status == 0 && listed.stdout.contains("alice"), "\(listed.combined)")
        #expect(listed.stderr.contains("configuration: PORTCULLIS_CONFIG=\(harness.file("site/portcullis.yml"))"), "\(listed.stderr)")
        #expect(listed.stderr.contains("store: \(harness.file("site/data/gate.sqlite3"))"), "\(listed.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: harness.file("elsewhere")).isEmpty, "nothing was created in the working folder")
        // --config wins over PORTCULLIS_CONFIG; a missing file named by either is an error.
        let missing = try harness.run(["user", "list"], extraEnvironment: ["PORTCULLIS_CONFIG": harness.file("nope.yml")], in: "elsewhere")
        #expect(missing.status != 0 && missing.stderr.contains("(from PORTCULLIS_CONFIG) does not exist"), "\(missing.combined)")
        let explicit = try harness.run(["user", "list", "--config", "../site/portcullis.yml"], extraEnvironment: ["PORTCULLIS_CONFIG": harness.file("nope.yml")], in: "elsewhere")
        #expect(explicit.status == 0 && explicit.stdout.contains("alice"), "\(explicit.combined)")
    }

    @Test("commands that only read create no store and no key where there is none, and say where they looked; config check notes it")
    func readOnlyCommandsCreateNothing() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        for command in [["user", "list"], ["user", "show", "alice"], ["session", "list"], ["audit"], ["ban", "list"], ["user", "otp", "list", "alice"],
                        ["user", "otp", "export", "--user", "alice"], ["user", "app-password", "list", "alice"], ["user", "remove", "alice"],
                        ["user", "disable", "alice"], ["session", "revoke", "--all"], ["storage", "rotate-key"]] {
            let answer = try harness.run(command, extraEnvironment: ["PORTCULLIS_CONFIG": ""])
            #expect(answer.status != 0, "\(command)")
            #expect(answer.stderr.contains("There is no Portcullis store at portcullis-data/portcullis.sqlite3 (configuration: the built-in defaults (no file found at --config, PORTCULLIS_CONFIG, ./portcullis.yml, /etc/portcullis/portcullis.yml))"),
                    "\(command): \(answer.combined)")
            #expect(answer.stderr.contains("To start a new store, add a user: portcullis user add NAME"))
        }
        let checked = try harness.run(["config", "check"], extraEnvironment: ["PORTCULLIS_CONFIG": ""])
        #expect(checked.status == 0 && checked.stdout.contains("store:    SQLite portcullis-data/portcullis.sqlite3 (does not exist yet"), "\(checked.combined)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: harness.file(".")).isEmpty, "something was created")
        let none = try harness.run(["user", "list"])
        #expect(none.stderr.contains("(configuration: the built-in defaults (PORTCULLIS_CONFIG=none))"), "\(none.combined)")
    }
}
