import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PortcullisCore
import PortcullisStore
import SQLiteNIO

/// `portcullis import ...`: move in from the systems Portcullis replaces.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import users and their OTP secrets from mod_authn_otp, htpasswd, caddy-basicauth-totp, Forward Auth TOTP, simpleotp or otpauth:// URIs.",
        discussion: """
            Every importer prints what it would create and what it skips and why. With --dry-run that is all \
            it does; otherwise it creates everything in one transaction, or nothing (for example when a user \
            exists already). Secrets are stored encrypted like any other.
            """,
        subcommands: [ModAuthnOTP.self, Htpasswd.self, CaddyBasicAuthTOTP.self, ForwardAuthTOTP.self, SimpleOTP.self, OTPAuth.self]
    )

    /// Options every importer takes.
    struct Options: ParsableArguments {
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Only print what would be created and what would be skipped.") var dryRun = false
        @Flag(help: "Leave out users who exist already (otherwise nothing is imported when one does).") var skipExisting = false
    }

    static func read(_ path: String, what: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("Cannot read the \(what) \(path). Check the path and its permissions.")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError("The \(what) \(path) is not UTF-8 text.") }
        return text
    }

    /// Prints the plan, and unless `dryRun` creates it.
    static func run(_ plan: ImportPlan, options: Options) async throws {
        for user in plan.users {
            let devices = user.devices.map { "\($0.label) (\($0.parameters.type.rawValue.uppercased()), \($0.parameters.digits) digits)" }
            let password = user.passwordHash != nil ? "password hash kept" : user.password != nil ? "PIN becomes the password" : "no password"
            print("create \(user.name): \(password); devices: \(devices.isEmpty ? "none" : devices.joined(separator: ", "))\(user.otpFailures > 0 ? "; \(user.otpFailures) wrong codes carried over" : "")")
        }
        for skipped in plan.skipped { print("skip \(skipped.location): \(skipped.reason)") }
        // A dry run only reads: it never creates a store, and says so when there is none to compare with.
        if options.dryRun {
            let found = try StorageSession.discover(options.global)
            let configuration = try StorageSession.loadConfiguration(options.global, found: found)
            guard configuration.postgres != nil || FileManager.default.fileExists(atPath: configuration.sqlitePath) else {
                print("Dry run: nothing was changed. There is no store at \(configuration.sqlitePath) yet (configuration: \(found.how)); importing would create it with \(plan.users.count) users (\(plan.skipped.count) entries skipped).")
                return
            }
        }
        try await StorageSession.with(options.global, creating: !options.dryRun) { session in
            var plan = plan
            let conflicts = try await session.vault.conflicts(in: plan)
            for name in conflicts { print("\(options.skipExisting ? "skip" : "conflict"): a user named '\(name)' exists already") }
            if options.skipExisting {
                let existing = Set(conflicts.map { $0.lowercased() })
                plan.users.removeAll { existing.contains($0.name.lowercased()) }
            }
            guard !options.dryRun else {
                print("Dry run: nothing was changed. \(plan.users.count) users would be created, \(plan.skipped.count) entries skipped.")
                return
            }
            guard conflicts.isEmpty || options.skipExisting else {
                throw CLIError("Nothing was imported: \(conflicts.count) user\(conflicts.count == 1 ? "" : "s") exist already (\(conflicts.joined(separator: ", "))). Remove or rename them, edit the file, or add --skip-existing.")
            }
            guard !plan.users.isEmpty else { throw CLIError("Nothing to import: every entry was skipped (see above).") }
            let count = try await session.vault.importPlan(plan, at: currentUnixTime())
            for user in plan.users {
                try await session.audit(.imported, user: user.name, "import, \(user.devices.count) device\(user.devices.count == 1 ? "" : "s")")
            }
            print("Imported \(count) user\(count == 1 ? "" : "s").")
            // Without a password they cannot log in with the form (unless auth.mode is otp_only).
            let passwordless = plan.users.filter { $0.passwordHash == nil && $0.password == nil }.map(\.name)
            if !passwordless.isEmpty, session.configuration.authMode == .passwordAndOTP {
                print("\(passwordless.count) user\(passwordless.count == 1 ? " has" : "s have") no password yet; set one with:")
                for name in passwordless { print("  portcullis user passwd \(name)") }
            }
        }
    }

    struct ModAuthnOTP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mod-authn-otp",
            abstract: "Import mod_authn_otp's users file (HOTP, TOTP and mOTP tokens, PINs, counters, drift, failure counts).",
            discussion: "PIN '-' means no password, a literal PIN becomes the password (hashed), '+' takes the user's hash from --pins-htpasswd."
        )
        @OptionGroup var options: Options
        @Argument(help: ArgumentHelp("The users file (OTPAuthUsersFile).", valueName: "users-file")) var usersFile: String
        @Option(help: ArgumentHelp("An htpasswd file with the hashes of users whose PIN is '+'.", valueName: "file")) var pinsHtpasswd: String?

        func run() async throws {
            var hashes: [String: String] = [:]
            var skipped: [ImportPlan.Skipped] = []
            if let pinsHtpasswd { (hashes, skipped) = HtpasswdImporter.hashes(try ImportCommand.read(pinsHtpasswd, what: "htpasswd file")) }
            var plan = ModAuthnOTPImporter.plan(usersFile: try ImportCommand.read(usersFile, what: "users file"), pinHashes: hashes)
            plan.skipped += skipped.map { ImportPlan.Skipped(location: "\(pinsHtpasswd ?? "") \($0.location)", reason: $0.reason) }
            try await ImportCommand.run(plan, options: options)
        }
    }

    struct Htpasswd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import users and their bcrypt hashes from an htpasswd file (as htpasswd -B writes it).",
            discussion: "Weaker schemes (apr1, SHA, crypt) are skipped with the users named, unless --allow-weak keeps apr1 and SHA hashes until each user's next good login replaces them with scrypt. Give the imported users devices with: portcullis user otp add NAME"
        )
        @OptionGroup var options: Options
        @Argument(help: ArgumentHelp("The htpasswd file.", valueName: "file")) var file: String
        @Flag(help: "Keep apr1 and SHA hashes; they are replaced by scrypt at each user's next good login.") var allowWeak = false

        func run() async throws {
            try await ImportCommand.run(HtpasswdImporter.plan(try ImportCommand.read(file, what: "htpasswd file"), allowWeak: allowWeak), options: options)
        }
    }

    struct CaddyBasicAuthTOTP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "caddy-basicauth-totp",
            abstract: "Import caddy-basicauth-totp's secrets JSON, with the users' bcrypt hashes from an htpasswd file or a Caddyfile."
        )
        @OptionGroup var options: Options
        @Argument(help: ArgumentHelp("The plugin's secrets JSON.", valueName: "secrets-json")) var secretsJSON: String
        @Option(help: ArgumentHelp("An htpasswd file with the users' hashes.", valueName: "file")) var htpasswd: String?
        @Option(help: ArgumentHelp("A Caddyfile whose basic_auth block has the users' hashes.", valueName: "file")) var caddyfile: String?

        func validate() throws {
            guard (htpasswd == nil) != (caddyfile == nil) else { throw ValidationError("Give the users' password hashes with exactly one of --htpasswd FILE or --caddyfile FILE.") }
        }

        func run() async throws {
            let hashes = try htpasswd.map { HtpasswdImporter.hashes(try ImportCommand.read($0, what: "htpasswd file")).hashes }
                ?? CaddyfileBasicAuth.hashes(try ImportCommand.read(caddyfile ?? "", what: "Caddyfile"))
            try await ImportCommand.run(CaddyBasicAuthTOTPImporter.plan(secretsJSON: try ImportCommand.read(secretsJSON, what: "secrets file"), hashes: hashes), options: options)
        }
    }

    struct ForwardAuthTOTP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "forward-auth-totp",
            abstract: "Import Forward Auth TOTP's seeds (its SQLite database), one user per seed, for auth.mode: otp_only.",
            discussion: "Seeds become users user1, user2, ... in the order of their ids, unless --names maps ids to names: --names 1=alice,2=bob"
        )
        @OptionGroup var options: Options
        @Argument(help: ArgumentHelp("The service's SQLite database (auth.db).", valueName: "auth-db")) var authDB: String
        @Option(help: ArgumentHelp("Names for seed ids: 1=alice,2=bob", valueName: "id=name,...")) var names: String?

        func run() async throws {
            var mapping: [Int64: String] = [:]
            for pair in (names ?? "").split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let id = Int64(parts[0].trimmingASCIIWhitespace()) else {
                    throw CLIError("--names takes id=name pairs separated by commas, like 1=alice,2=bob; '\(pair)' is not one.")
                }
                mapping[id] = parts[1].trimmingASCIIWhitespace()
            }
            guard FileManager.default.fileExists(atPath: authDB) else { throw CLIError("The database \(authDB) does not exist.") }
            let seeds = try await Self.readSeeds(authDB)
            try await ImportCommand.run(ForwardAuthTOTPImporter.plan(seeds: seeds, names: mapping), options: options)
        }

        static func readSeeds(_ path: String) async throws -> [(id: Int64?, secret: String)] {
            let connection = try await SQLiteConnection.open(storage: .file(path: path))
            do {
                let rows = try await connection.query("SELECT id, secret FROM seeds ORDER BY id")
                try await connection.close()
                return rows.map { (seedID($0.column("id")), $0.column("secret")?.string ?? "") }
            } catch {
                try? await connection.close()
                throw CLIError("Cannot read the seeds table of \(path): \(error). Is it Forward Auth TOTP's database?")
            }
        }

        /// A seed's id as a whole number, or nil. SQLite keeps any value in any column, and
        /// `SQLiteData.integer` traps on a REAL no `Int64` holds (an id of `1e400`), so each kind is read here.
        static func seedID(_ data: SQLiteData?) -> Int64? {
            switch data {
            case .integer(let value): Int64(value)
            case .float(let value): Int64(exactly: value)
            case .text(let text): Int64(text)
            default: nil
            }
        }
    }

    struct SimpleOTP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "simpleotp", abstract: "Import simpleotp's one shared secret (.totp_secret) as a user's device.")
        @OptionGroup var options: Options
        @Argument(help: ArgumentHelp("The secret file.", valueName: "totp-secret-file")) var file: String
        @Option(help: ArgumentHelp("The user to create.", valueName: "name")) var user: String

        func run() async throws {
            try await ImportCommand.run(SimpleOTPImporter.plan(secretFile: try ImportCommand.read(file, what: "secret file"), user: user), options: options)
        }
    }

    struct OTPAuth: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "otpauth",
            abstract: "Import otpauth:// URIs, one per line (also Authelia's `storage user totp export uri` output); the account is the user."
        )
        @OptionGroup var options: Options
        @Argument(help: ArgumentHelp("The file with the URIs.", valueName: "file")) var file: String

        func run() async throws {
            try await ImportCommand.run(OTPAuthImporter.plan(try ImportCommand.read(file, what: "URI file")), options: options)
        }
    }
}
