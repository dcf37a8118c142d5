import ArgumentParser
import PortcullisCore
import PortcullisStore

/// How an invitation link is made and shown, for `user invite` and `user reset-otp`.
struct InvitationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How long the link works: 72h, 7d, ... (at most 30d).", valueName: "duration")) var expires = "72h"
    @Option(help: ArgumentHelp("The portal the link opens, when session.cookies has several (default: the first).", valueName: "url")) var portal: String?
    @Flag(help: "Print JSON: {\"user\": …, \"url\": …, \"expires\": …}.") var json = false

    var lifetime: Int64 {
        get throws {
            guard let seconds = DurationParser.seconds(expires), (1...Vault.maximumInvitationLifetime).contains(seconds) else {
                throw ValidationError("--expires '\(expires)' is not a duration from 1s to 30d; write it like 72h or 7d.")
            }
            return seconds
        }
    }

    struct Output: Encodable {
        let user: String
        let url: String
        let expires: String
    }

    /// Makes the invitation and prints its link.
    func invite(_ user: UserRecord, kind: InvitationRecord.Kind, session: StorageSession) async throws {
        guard !user.disabled else {
            throw CLIError("User '\(user.name)' is disabled, and a link would not work. Enable them first: portcullis user enable \(user.name)")
        }
        let portals = session.configuration.effectiveSessionCookies.map(\.portalBase)
        let base: String
        if let portal {
            let wanted = portal.hasSuffix("/") ? String(portal.dropLast()) : portal
            guard let match = portals.first(where: { $0.lowercased() == wanted.lowercased() }) else {
                throw CLIError("--portal '\(portal)' is not one of the portals in session.cookies: \(portals.joined(separator: ", ")).")
            }
            base = match
        } else {
            base = portals.first ?? ""
        }
        if session.configuration.sessionCookies.isEmpty {
            printError("Note: session.cookies is not set, so the link points at \(base), which works only on this machine. Set session.cookies to your portal's public address (docs/configuration.md) and make the link again.")
        }
        let now = currentUnixTime()
        let (token, invitation) = try await session.vault.invite(user, kind: kind, lifetime: try lifetime, at: now)
        let url = "\(base)/enroll?token=\(token)"
        // Shown before the audit entry: an earlier link is void now, so this one must not be lost.
        if json {
            try JSONOutput.print(Output(user: user.name, url: url, expires: formatTime(invitation.expiresAt)))
        } else {
            let what = kind == .enroll ? "choose a password, add an authenticator app and get recovery codes"
                : "enter their password and add a new authenticator app; their other devices and sessions end"
            print("""
                Send this link to \(user.name); it works once, until \(formatTime(invitation.expiresAt)):

                  \(url)

                On that page they \(what). Any earlier link for \(user.name) no longer works.
                """)
        }
        try await session.audit(.invited, user: user.name, "user \(kind == .enroll ? "invite" : "reset-otp"), expires \(formatTime(invitation.expiresAt))")
    }
}

/// `portcullis user invite NAME`: a link with which a person sets up their own login.
struct UserInvite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite",
        abstract: "Make a one-time link with which a user sets their password and adds their authenticator app.",
        discussion: """
            Creates the user if needed (with --display-name, --email, --groups), then prints a link to \
            the portal's /enroll page. There the person chooses a password (auth.password_min_length), \
            scans a QR code with an authenticator app, confirms it with one code, is shown 10 recovery \
            codes once, and is logged in. The link works once and expires (72 hours unless --expires \
            says otherwise); a new link voids the old one. Only a hash of it is stored.

              portcullis user invite alice --display-name "Alice Liddell" --email alice@example.com --groups admins
              portcullis user invite bob --expires 7d --json
            """
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The login name: 1–64 letters, digits, '.', '_', '-' or '@'.") var name: String
    @Option(help: "The name shown to people (for a new user).") var displayName: String?
    @Option(help: "The email address (for a new user).") var email: String?
    @Option(help: ArgumentHelp("Groups, comma-separated (for a new user).", valueName: "a,b")) var groups: String?
    @OptionGroup var invitation: InvitationOptions

    func validate() throws {
        try UserFieldRules.validateName(name)
        _ = try invitation.lifetime
    }

    func run() async throws {
        try await StorageSession.with(options, creating: true) { session in
            let user: UserRecord
            if let existing = try await session.store.user(named: name) {
                if displayName != nil || email != nil || groups != nil {
                    throw CLIError("User '\(existing.name)' exists already; --display-name, --email and --groups are only for a new user. Leave them out to invite \(existing.name) again.")
                }
                // An invitation sets the password and adds a device: for someone who has a login, it
                // would hand both to whoever holds the link, and keep a lost phone working.
                let devices = try await session.store.devices(ofUserID: existing.id)
                if existing.passwordHash != nil || !devices.isEmpty {
                    throw CLIError("User '\(existing.name)' has a login already (\(existing.passwordHash != nil ? "a password" : "no password")\(devices.isEmpty ? "" : ", \(devices.count) device\(devices.count == 1 ? "" : "s")")). For a lost device use: portcullis user reset-otp \(existing.name); for a forgotten password: portcullis user passwd \(existing.name)")
                }
                user = existing
            } else {
                let record = UserRecord(name: name, displayName: displayName ?? "", email: email ?? "", groups: splitGroups(groups), createdAt: currentUnixTime())
                try UserFieldRules.validate(record)
                user = try await session.vault.addUser(record, password: nil)
                try await session.audit(.userAdded, user: user.name, "user invite" + (user.groups.isEmpty ? "" : ", groups \(user.groups.joined(separator: ","))"))
            }
            try await invitation.invite(user, kind: .enroll, session: session)
        }
    }
}

/// `portcullis user reset-otp NAME`: a link with which someone who lost their phone sets up a new one.
struct UserResetOTP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset-otp",
        abstract: "Make a one-time link with which a user who lost their device replaces it.",
        discussion: """
            For a lost phone and no recovery codes left. On the link's page the person enters their \
            password, scans a new QR code and confirms it with one code; then every other device of \
            theirs is removed, their sessions end, and they get new recovery codes. Until then \
            nothing changes. The link works once and expires (72 hours unless --expires says otherwise). \
            With auth.mode otp_only there is no password to ask for: the link alone is enough, so \
            send it only where the user alone can read it.

              portcullis user reset-otp alice
            """
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The user name.") var name: String
    @OptionGroup var invitation: InvitationOptions

    func validate() throws {
        _ = try invitation.lifetime
    }

    func run() async throws {
        try await StorageSession.with(options) { session in
            let user = try await session.vault.requireUser(name)
            guard user.passwordHash != nil || session.configuration.authMode == .otpOnly else {
                throw CLIError("User '\(user.name)' has no password, and the page asks for it. Invite them instead: portcullis user invite \(user.name)")
            }
            try await invitation.invite(user, kind: .resetOTP, session: session)
        }
    }
}
