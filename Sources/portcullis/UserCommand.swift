import ArgumentParser
import PortcullisCore
import PortcullisStore

/// `portcullis user ...`: the people who can log in.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Add, list, show, change and remove users.",
        subcommands: [
            UserAdd.self, UserList.self, UserShow.self, UserRemove.self, UserDisable.self, UserEnable.self,
            UserUnlock.self, UserPasswd.self, OTPCommand.self, AppPasswordCommand.self, UserRecoveryCodes.self,
            UserInvite.self, UserResetOTP.self,
        ]
    )
}

/// What `user list --json` and `user show --json` print: never a password hash or secret.
struct UserSummary: Encodable {
    let name: String
    let displayName: String
    let email: String
    let groups: [String]
    let disabled: Bool
    let hasPassword: Bool
    let createdAt: String
    var devices: [DeviceSummary]?
    /// For `user list`: how many devices, whether locked, the last login still in the audit trail.
    var deviceCount: Int?
    var locked: Bool?
    var lastLogin: String?

    init(_ user: UserRecord, devices: [OTPDeviceRecord]? = nil) {
        name = user.name
        displayName = user.displayName
        email = user.email
        groups = user.groups
        disabled = user.disabled
        hasPassword = user.passwordHash != nil
        createdAt = formatTime(user.createdAt)
        self.devices = devices?.map(DeviceSummary.init)
    }
}

struct UserAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a user.",
        discussion: """
            The password is asked for twice on the terminal, or read from the first line of standard input \
            with --password-stdin. It is never taken from the command line, where other users could see it.

              portcullis user add alice --display-name "Alice Liddell" --email alice@example.com --groups admins,dev
              printf '%s\\n' "$PASSWORD" | portcullis user add bob --password-stdin
            """
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The login name: 1–64 letters, digits, '.', '_', '-' or '@'.") var name: String
    @Option(help: "The name shown to people.") var displayName: String?
    @Option(help: "The email address.") var email: String?
    @Option(help: ArgumentHelp("Groups, comma-separated.", valueName: "a,b")) var groups: String?
    @Flag(help: "Read the password from the first line of standard input.") var passwordStdin = false
    @Flag(help: "Create the user without a password (for auth.mode otp_only).") var noPassword = false

    func validate() throws {
        if passwordStdin && noPassword { throw ValidationError("Use either --password-stdin or --no-password, not both.") }
        try UserFieldRules.validateName(name)
    }

    func run() async throws {
        var record = UserRecord(name: name, displayName: displayName ?? "", email: email ?? "",
                                groups: splitGroups(groups), createdAt: currentUnixTime())
        try UserFieldRules.validate(record)
        try await StorageSession.with(options, creating: true) { session in
            if let existing = try await session.store.user(named: name) {
                throw StoreError(.duplicate, "A user named '\(existing.name)' exists already (names ignore case). Change their password with: portcullis user passwd \(existing.name)")
            }
            let password = noPassword ? nil : try PasswordInput.newPassword(fromStandardInput: passwordStdin, minimumLength: session.configuration.passwordMinLength)
            record = try await session.vault.addUser(record, password: password)
            try await session.audit(.userAdded, user: record.name, "user add" + (record.groups.isEmpty ? "" : ", groups \(record.groups.joined(separator: ","))")
                                    + (password == nil ? ", no password" : ""))
            print("Added user '\(record.name)'. Next, give them an authenticator: portcullis user otp add \(record.name)")
        }
    }
}

func splitGroups(_ text: String?) -> [String] {
    (text ?? "").split(separator: ",").map { $0.trimmingASCIISpaces() }.filter { !$0.isEmpty }
}

extension Substring {
    func trimmingASCIISpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

struct UserList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List users.")
    @OptionGroup var options: GlobalOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await StorageSession.with(options) { session in
            let lastLogins = try await session.store.lastLogins()
            var rows: [UserSummary] = []
            for user in try await session.store.users() {
                var row = UserSummary(user)
                row.deviceCount = try await session.store.devices(ofUserID: user.id).count
                row.locked = try await session.store.lockedAt(userID: user.id) != nil
                row.lastLogin = formatTime(lastLogins[user.name.lowercased()])
                rows.append(row)
            }
            if json { return try JSONOutput.print(rows) }
            guard !rows.isEmpty else { return print("No users yet. Add one with: portcullis user add NAME") }
            print("NAME                  DISPLAY NAME          GROUPS                DEVICES  STATE     LAST LOGIN")
            for row in rows {
                let state = row.disabled ? "disabled" : row.locked == true ? "locked" : "active"
                print(row.name.padding(22) + row.displayName.padding(22) + row.groups.joined(separator: ",").padding(22)
                      + String(row.deviceCount ?? 0).padding(9) + state.padding(10) + (row.lastLogin ?? "never"))
            }
        }
    }
}

struct UserShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a user and their OTP devices.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The user name.") var name: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await StorageSession.with(options) { session in
            let user = try await session.vault.requireUser(name)
            let devices = try await session.store.devices(ofUserID: user.id)
            if json {
                try JSONOutput.print(UserSummary(user, devices: devices))
                return
            }
            print("Name:         \(user.name)")
            print("Display name: \(user.displayName)")
            print("Email:        \(user.email)")
            print("Groups:       \(user.groups.joined(separator: ", "))")
            print("Password:     \(user.passwordHash == nil ? "none" : "set")")
            print("Disabled:     \(user.disabled ? "yes" : "no")")
            if let locked = try await session.store.lockedAt(userID: user.id) {
                print("Locked:       since \(formatTime(locked)), after too many wrong codes (portcullis user unlock \(user.name))")
            }
            print("Created:      \(formatTime(user.createdAt))")
            print("OTP devices:  \(devices.isEmpty ? "none (add one with: portcullis user otp add \(user.name))" : "")")
            for device in devices { print("  " + DeviceSummary(device).line) }
            let recovery = try await session.store.recoveryCodeCount(userID: user.id)
            print("Recovery codes: \(recovery == 0 ? "none (make them with: portcullis user recovery-codes \(user.name))" : "\(recovery) left")")
        }
    }
}

struct UserRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove a user with their OTP devices, app passwords and sessions.",
        discussion: "A running server ends the user's sessions and lingering Basic credentials within about a second."
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The user name.") var name: String
    @Flag(help: "Remove without asking; needed when there is no terminal to ask on (scripts).") var yes = false

    func run() async throws {
        try await StorageSession.with(options) { session in
            let user = try await session.vault.requireUser(name)
            if !yes {
                let devices = try await session.store.devices(ofUserID: user.id).count
                let passwords = try await session.store.appPasswords(ofUserID: user.id).count
                let sessions = try await session.store.liveSessions(userID: user.id, at: currentUnixTime()).count
                let what = "\(devices) OTP device\(devices == 1 ? "" : "s"), \(passwords) app password\(passwords == 1 ? "" : "s") and \(sessions) live session\(sessions == 1 ? "" : "s")"
                guard let answer = PasswordInput.ask("Remove user '\(user.name)' with \(what)? This cannot be undone. Type the name to confirm: ") else {
                    throw CLIError("There is no terminal to confirm on. Add --yes to remove '\(user.name)' without asking.")
                }
                guard answer.trimmingASCIIWhitespace() == user.name else { throw CLIError("The name did not match; nothing was removed.") }
            }
            try await session.store.deleteUser(named: user.name)
            try await session.audit(.userRemoved, user: user.name, "user remove")
            print("Removed user '\(user.name)' with their OTP devices, app passwords and sessions.")
        }
    }
}

struct UserDisable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable", abstract: "Stop a user from logging in, keeping their data; their sessions end at once.",
        discussion: "A running server ends the user's sessions and lingering Basic credentials within about a second; enabling the user again brings none back."
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The user name.") var name: String

    func run() async throws { try await setDisabled(true, name: name, options: options) }
}

struct UserEnable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enable", abstract: "Let a disabled user log in again.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The user name.") var name: String

    func run() async throws { try await setDisabled(false, name: name, options: options) }
}

private func setDisabled(_ disabled: Bool, name: String, options: GlobalOptions) async throws {
    try await StorageSession.with(options) { session in
        let (user, ended) = try await session.vault.setDisabled(userName: name, disabled: disabled)
        try await session.audit(disabled ? .userDisabled : .userEnabled, user: user.name, disabled ? "user disable, \(ended) sessions ended" : "user enable")
        print(disabled ? "Disabled user '\(user.name)'" + endedSessionsNote(ended) + "." : "Enabled user '\(user.name)'.")
    }
}

/// ", ending N session(s)" when sessions ended.
private func endedSessionsNote(_ count: Int) -> String {
    count == 0 ? "" : ", ending \(count) session\(count == 1 ? "" : "s")"
}

struct UserUnlock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Let a user locked after too many wrong codes log in again.",
        discussion: "A user is locked after regulation.max_otp_failures wrong codes in a row (with the right password). Bans of the user's name are lifted with: portcullis ban remove --user NAME"
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The user name.") var name: String

    func run() async throws {
        try await StorageSession.with(options) { session in
            let user = try await session.vault.requireUser(name)
            guard try await session.store.unlock(userID: user.id) else {
                print("User '\(user.name)' is not locked.")
                return
            }
            try await session.store.appendAudit(AuditEntry(time: currentUnixTime(), event: .unlocked, userName: user.name, clientIP: "", reason: "portcullis user unlock"))
            print("Unlocked user '\(user.name)'.")
        }
    }
}

struct UserPasswd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
        abstract: "Set a user's password.",
        discussion: """
            Asks twice on the terminal, or reads the first line of standard input with --password-stdin. \
            Every session of the user ends (a running server notices within about a second) unless --keep-sessions is given; \
            lingering Basic credentials end in both cases.
            """
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The user name.") var name: String
    @Flag(help: "Read the password from the first line of standard input.") var passwordStdin = false
    @Flag(help: "Keep the user's sessions (they end by default).") var keepSessions = false

    func run() async throws {
        try await StorageSession.with(options) { session in
            _ = try await session.vault.requireUser(name)
            let password = try PasswordInput.newPassword(fromStandardInput: passwordStdin, minimumLength: session.configuration.passwordMinLength)
            let ended = try await session.vault.setPassword(userName: name, password: password, endingSessions: !keepSessions)
            try await session.audit(.passwordChanged, user: try await session.vault.requireUser(name).name, "user passwd, \(ended) sessions ended")
            print("Set a new password for '\(name)'" + endedSessionsNote(ended) + ".")
        }
    }
}
