import Foundation
import PortcullisTestSupport

/// Runs the built `portcullis` binary in a temporary working folder with a clean environment.
struct CLIHarness {
    let directory: TemporaryDirectory
    var environment: [String: String]

    init() throws {
        directory = try TemporaryDirectory(prefix: "portcullis-cli")
        // No configuration is looked for (not ./portcullis.yml, not /etc/portcullis): tests name theirs.
        environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": directory.path, "PORTCULLIS_CONFIG": "none"]
    }

    /// Runs `portcullis ARGUMENTS` detached from any terminal (so prompts cannot be answered).
    @discardableResult
    func run(_ arguments: [String], input: String? = nil, extraEnvironment: [String: String] = [:], in folder: String? = nil) throws -> ProcessOutput {
        try ProcessRunner.run("/usr/bin/setsid", ["--wait", Binaries.path("portcullis")] + arguments, input: input,
                              environment: environment.merging(extraEnvironment) { $1 },
                              currentDirectory: folder.map { URL(fileURLWithPath: file($0)) } ?? directory.url)
    }

    func file(_ name: String) -> String { directory.file(name) }

    /// Runs SQL with the sqlite3 command-line tool against the default database.
    func sql(_ statement: String, database: String = "portcullis-data/portcullis.sqlite3") throws -> String {
        try ProcessRunner.run("sqlite3", [file(database), statement]).stdout
    }

    func remove() { directory.remove() }
}

extension ProcessOutput {
    var combined: String { stdout + stderr }
}
