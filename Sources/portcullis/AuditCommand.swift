import ArgumentParser
import PortcullisCore
import PortcullisStore

/// `portcullis audit`: logins, logouts, revocations, bans, lockouts, unlocks and every change an
/// administrator made with the command line.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show the audit trail: logins and failures (with reasons), logouts, revocations, bans, lockouts, and administrators' changes.",
        discussion: """
            portcullis audit                       # the last 24 hours
            portcullis audit --user alice --since 7d
            portcullis audit --event user_removed --since 30d     # also --action
            portcullis audit --since 1h --json | jq 'map(select(.event == "login_failed"))'
            """
    )
    @OptionGroup var options: GlobalOptions
    @Option(help: ArgumentHelp("Only entries about this user name.", valueName: "name")) var user: String?
    @Option(help: ArgumentHelp("How far back: 90s, 15m, 12h, 30d.", valueName: "duration")) var since = "24h"
    @Option(name: [.customLong("event"), .customLong("action")],
            help: ArgumentHelp("Only entries of this event, such as login_failed or user_removed (see the EVENT column).", valueName: "event"))
    var event: String?
    @Option(help: ArgumentHelp("The most entries shown.", valueName: "n")) var limit = 1000
    @Flag(help: "Print JSON.") var json = false

    struct Row: Encodable {
        let time: String
        let event: String
        let user: String
        let clientIP: String
        let reason: String
    }

    func validate() throws {
        guard DurationParser.seconds(since) != nil else { throw ValidationError("--since '\(since)' is not a duration of at most 100 years; write it like 90s, 15m, 12h or 30d.") }
        guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be 1 to 100000.") }
        if let event, AuditEntry.Event(rawValue: event) == nil {
            throw ValidationError("--event '\(event)' is not an event; use one of: \(AuditEntry.Event.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
    }

    func run() async throws {
        try await StorageSession.with(options) { session in
            let start = currentUnixTime() - (DurationParser.seconds(since) ?? 86_400)
            let rows = try await session.store.auditEntries(userName: user, event: event.flatMap(AuditEntry.Event.init(rawValue:)), since: start, limit: limit).map {
                Row(time: formatTime($0.time), event: $0.event.rawValue, user: $0.userName, clientIP: $0.clientIP, reason: $0.reason)
            }
            if json { return try JSONOutput.print(rows) }
            guard !rows.isEmpty else { return print("No audit entries in the last \(since)\(user.map { " for \($0)" } ?? "").") }
            print("TIME                  EVENT             USER                  CLIENT IP        REASON")
            for row in rows {
                print(row.time.padding(22) + row.event.padding(18) + row.user.padding(22) + row.clientIP.padding(17) + row.reason)
            }
        }
    }
}
