import ArgumentParser
import PortcullisCore
import PortcullisStore

/// `portcullis user app-password ...`: passwords for devices that cannot produce codes.
struct AppPasswordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app-password",
        abstract: "Passwords for one device each (WebDAV, calendar, git), used with HTTP Basic without a code.",
        discussion: """
            An app password is 160 random bits, shown once and stored only as a hash. It works as the \
            Basic password on its own (no code), for one user, until it expires or is removed:

              portcullis user app-password add alice --label phone-calendar --expires 90d
              curl -u 'alice:abcd-efgh-...' https://dav.example.com/

            With access rules, an app password opens what two factors open (--level two_factor, the \
            default), or with --level one_factor only addresses whose rule is one_factor or bypass.
            """,
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an app password and print it once.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The user name.") var name: String
        @Option(help: ArgumentHelp("What it is for: 1-64 letters, digits, '.', '_', '-' or '@'.", valueName: "label")) var label: String
        @Option(help: ArgumentHelp("Stop working after this long: 90d, 12h, ...", valueName: "duration")) var expires: String?
        @Option(help: ArgumentHelp("Which access rules it satisfies: two_factor (all but deny) or one_factor (only one_factor and bypass addresses).",
                                   valueName: "level")) var level = "two_factor"
        @Flag(help: "Print JSON.") var json = false

        /// `--level` as the store keeps it.
        var authLevel: AuthLevel? { AppPasswordLevel.level(named: level) }

        func validate() throws {
            guard (try? UserFieldRules.validateName(label)) != nil else {
                throw ValidationError("The label '\(label)' is not allowed; use 1-64 letters, digits, '.', '_', '-' or '@'.")
            }
            guard authLevel != nil else {
                throw ValidationError("--level '\(level)' is not a level; use two_factor or one_factor.")
            }
            if let expires {
                guard let seconds = DurationParser.seconds(expires), seconds > 0 else {
                    throw ValidationError("--expires '\(expires)' is not a duration of at most 100 years; write it like 90d or 12h.")
                }
            }
        }

        struct Output: Encodable {
            let user: String
            let label: String
            let password: String
            let expires: String
            let level: String
        }

        func run() async throws {
            try await StorageSession.with(options) { session in
                let user = try await session.vault.requireUser(name)
                let now = currentUnixTime()
                var random = SystemRandomNumberGenerator()
                let password = AppPassword.generate(using: &random)
                let expiresAt = expires.flatMap(DurationParser.seconds).map { now + $0 }
                _ = try await session.store.addAppPassword(AppPasswordRecord(userID: user.id, label: label, hash: password.storageHash, createdAt: now,
                                                                             expiresAt: expiresAt, level: authLevel ?? .passwordAndCode))
                try await session.audit(.appPasswordAdded, user: user.name, "user app-password add, '\(label)', level \(level), expires \(formatTime(expiresAt))")
                if json {
                    return try JSONOutput.print(Output(user: user.name, label: label, password: password.text, expires: formatTime(expiresAt), level: level))
                }
                print("App password '\(label)' for \(user.name) (expires: \(formatTime(expiresAt)), level: \(level)):")
                print("")
                print("  \(password.text)")
                print("")
                print("It is shown only now. Use it as the password with HTTP Basic, without a code.")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a user's app passwords (never the passwords).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The user name.") var name: String
        @Flag(help: "Print JSON.") var json = false

        struct Row: Encodable {
            let label: String
            let created: String
            let expires: String
            let lastUsed: String
            let level: String
        }

        func run() async throws {
            try await StorageSession.with(options) { session in
                let user = try await session.vault.requireUser(name)
                let rows = try await session.store.appPasswords(ofUserID: user.id).map {
                    Row(label: $0.label, created: formatTime($0.createdAt), expires: formatTime($0.expiresAt), lastUsed: formatTime($0.lastUsedAt),
                        level: AppPasswordLevel.name(of: $0.level))
                }
                if json { return try JSONOutput.print(rows) }
                guard !rows.isEmpty else { return print("\(user.name) has no app passwords.") }
                print("LABEL                 LEVEL       CREATED               EXPIRES               LAST USED")
                for row in rows { print(row.label.padding(22) + row.level.padding(12) + row.created.padding(22) + row.expires.padding(22) + row.lastUsed) }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an app password; it stops working within a second on a running server.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The user name.") var name: String
        @Argument(help: "The label.") var label: String

        func run() async throws {
            try await StorageSession.with(options) { session in
                let user = try await session.vault.requireUser(name)
                try await session.store.removeAppPassword(userID: user.id, label: label)
                try await session.audit(.appPasswordRemoved, user: user.name, "user app-password remove, '\(label)'")
                print("Removed app password '\(label)' of \(user.name).")
            }
        }
    }
}

/// The names of app password levels on the command line: the policies they satisfy.
enum AppPasswordLevel {
    static func level(named name: String) -> AuthLevel? {
        switch name {
        case "two_factor": .passwordAndCode
        case "one_factor": .password
        default: nil
        }
    }

    static func name(of level: AuthLevel) -> String {
        level == .password ? "one_factor" : "two_factor"
    }
}
