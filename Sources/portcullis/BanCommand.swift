import ArgumentParser
import PortcullisCore
import PortcullisStore

/// `portcullis ban ...`: names and addresses turned away after too many failed logins.
struct BanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ban",
        abstract: "List and lift bans after failed logins.",
        discussion: "A user name or client address that fails regulation.max_retries logins within regulation.find_time is refused for regulation.ban_time. Bans survive restarts.",
        subcommands: [List.self, Remove.self]
    )

    struct Row: Encodable {
        let kind: String
        let value: String
        let since: String
        let until: String
        let secondsLeft: Int64
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the bans in force.")
        @OptionGroup var options: GlobalOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await StorageSession.with(options) { session in
                let now = currentUnixTime()
                let rows = try await session.store.activeBans(at: now).map {
                    Row(kind: $0.kind.rawValue, value: $0.value, since: formatTime($0.createdAt), until: formatTime($0.until), secondsLeft: $0.retryAfter(now: now))
                }
                if json { return try JSONOutput.print(rows) }
                guard !rows.isEmpty else { return print("No bans in force.") }
                print("KIND  VALUE                                     UNTIL")
                for row in rows {
                    let shown = NamePseudonym.isPseudonym(row.value) ? "\(row.value) (a name that is no user)" : row.value
                    print(row.kind.padding(6) + shown.padding(42) + row.until)
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lift a ban on a client address or a user name.",
            discussion: """
                portcullis ban remove --ip 203.0.113.7
                portcullis ban remove --user alice
                """
        )
        @OptionGroup var options: GlobalOptions
        @Option(help: ArgumentHelp("The client address.", valueName: "ip")) var ip: String?
        @Option(help: ArgumentHelp("The user name.", valueName: "name")) var user: String?

        func validate() throws {
            guard (ip == nil) != (user == nil) else { throw ValidationError("Give exactly one of --ip IP or --user NAME.") }
            if let ip, IPAddress(ip) == nil { throw ValidationError("'\(ip)' is not an IPv4 or IPv6 address.") }
        }

        func run() async throws {
            try await StorageSession.with(options) { session in
                let kind: BanKind = ip != nil ? .ip : .user
                let value: String
                if let address = ip.flatMap({ IPAddress($0) }) {
                    // IPv6 clients are counted and banned by their prefix.
                    value = RegulationKeys.clientKey(address, policy: session.configuration.regulation)
                } else {
                    // A name that is no user's is kept as its pseudonym.
                    let name = user ?? ""
                    value = try await session.store.user(named: name).map { $0.name.lowercased() } ?? session.vault.pseudonyms.of(name)
                }
                let count = try await session.store.removeBan(kind: kind, value: value)
                guard count > 0 else { return print("There is no ban on \(kind == .ip ? "address" : "user") \(value); its failure count was reset.") }
                try await session.store.appendAudit(AuditEntry(time: currentUnixTime(), event: .banRemoved, userName: kind == .user ? value : "",
                                                               clientIP: kind == .ip ? value : "", reason: "portcullis ban remove"))
                print("Lifted the ban on \(kind == .ip ? "address" : "user") \(value).")
            }
        }
    }
}
