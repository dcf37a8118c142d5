import ArgumentParser
import PortcullisCore
import PortcullisStore

/// `portcullis session ...`: see and end login sessions, also those of a running server.
struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session",
        abstract: "List and end login sessions.",
        discussion: "A running server notices an ended session within about a second.",
        subcommands: [List.self, Revoke.self]
    )

    struct Row: Encodable {
        let id: String
        let user: String
        let created: String
        let lastActivity: String
        let expires: String
        let clientIP: String
        let domain: String
        let rememberMe: Bool
        /// The factors it was made with: password+code, password (for one_factor addresses), or code.
        let factors: String
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List live sessions (the ID column is what revoke takes).")
        @OptionGroup var options: GlobalOptions
        @Option(help: ArgumentHelp("Only this user's sessions.", valueName: "name"))
        var user: String?
        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            try await StorageSession.with(options) { session in
                var sessions = try await session.store.liveSessions(at: currentUnixTime())
                if let user {
                    let record = try await session.vault.requireUser(user)
                    sessions = sessions.filter { $0.1.id == record.id }
                }
                let rows = sessions.map { record, user in
                    Row(id: record.shortID, user: user.name, created: formatTime(record.createdAt), lastActivity: formatTime(record.lastActivity),
                        expires: formatTime(record.expiresAt), clientIP: record.clientIP, domain: record.cookieDomain, rememberMe: record.rememberMe,
                        factors: AuthLevel(stored: record.authLevel).name)
                }
                if json { return try JSONOutput.print(rows) }
                guard !rows.isEmpty else { return print(user == nil ? "No live sessions." : "No live sessions for \(user!).") }
                print("ID            USER                  DOMAIN                FACTORS         CLIENT IP        LAST ACTIVITY         EXPIRES")
                for row in rows {
                    print(row.id.padding(14) + row.user.padding(22) + row.domain.padding(22) + row.factors.padding(16) + row.clientIP.padding(17)
                          + row.lastActivity.padding(22) + row.expires)
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End sessions at once: one by ID (a prefix of at least 6 hex digits), a user's, or all.",
            discussion: """
                portcullis session revoke 3fa9c2        # one session, by the ID session list shows
                portcullis session revoke --user alice  # all of alice's sessions
                portcullis session revoke --all         # everyone logs in again

                --user and --all also end the lingering HTTP Basic credentials (password and code sent by scripts) of those users, on every instance: their next request needs a new code.
                """
        )
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The session's ID or a unique prefix of it.", valueName: "id"))
        var id: String?
        @Option(help: ArgumentHelp("End every session of this user.", valueName: "name"))
        var user: String?
        @Flag(help: "End every session.")
        var all = false

        func validate() throws {
            let chosen = [id != nil, user != nil, all].filter { $0 }.count
            guard chosen == 1 else { throw ValidationError("Give exactly one of: an ID, --user NAME, or --all.") }
            if let id {
                guard (6...64).contains(id.count), id.allSatisfy(\.isHexDigit) else {
                    throw ValidationError("'\(id)' is not a session ID; give at least 6 hex digits of an ID from: portcullis session list")
                }
            }
        }

        func run() async throws {
            try await StorageSession.with(options) { session in
                var userName = ""
                var detail = ""
                if all {
                    let count = try await session.store.deleteAllSessions()
                    detail = "all (\(count))"
                    print("Ended \(count) session\(count == 1 ? "" : "s").")
                } else if let user {
                    let record = try await session.vault.requireUser(user)
                    let count = try await session.store.deleteSessions(userID: record.id)
                    userName = record.name
                    detail = "all of the user's (\(count))"
                    print("Ended \(count) session\(count == 1 ? "" : "s") of \(record.name).")
                } else if let id {
                    _ = try await session.store.deleteSession(shortIDPrefix: id.lowercased())
                    detail = "session \(id.lowercased())"
                    print("Ended session \(id.lowercased()).")
                }
                try await session.store.appendAudit(AuditEntry(time: currentUnixTime(), event: .sessionRevoked, userName: userName, clientIP: "", reason: detail))
            }
        }
    }
}

extension String {
    /// The text padded with spaces to `width` (never cut).
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
