import ArgumentParser
import PortcullisCore
import PortcullisStore

/// `portcullis user recovery-codes NAME`: one-time codes for the day a phone is lost.
struct UserRecoveryCodes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recovery-codes",
        abstract: "Make 10 new one-time recovery codes for a user; the old ones stop working.",
        discussion: """
            Each code logs the user in once, typed in the login form's code field in place of a \
            one-time code (with the password, when the login asks for one). They are shown only now: give them to the user to \
            print or keep in a password manager. Portcullis keeps only keyed hashes of them. \
            Recovery codes do not work over HTTP Basic. With --remaining, nothing is made: it says \
            how many are left.
            """
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The user name.") var name: String
    @Flag(help: "Only say how many codes the user has left.") var remaining = false
    @Flag(help: "Print JSON: {\"user\": …, \"codes\": […]}.") var json = false

    struct Output: Encodable {
        let user: String
        let codes: [String]
    }

    func run() async throws {
        try await StorageSession.with(options) { session in
            let user = try await session.vault.requireUser(name)
            if remaining {
                let left = try await session.store.recoveryCodeCount(userID: user.id)
                print("User '\(user.name)' has \(left) recovery code\(left == 1 ? "" : "s") left.")
                return
            }
            let codes = try await session.vault.makeRecoveryCodes(for: user, at: currentUnixTime())
            // Shown before the audit entry is written: the old codes are void now, so the new ones must never be lost.
            if json {
                try JSONOutput.print(Output(user: user.name, codes: codes))
            } else {
                print("Recovery codes for \(user.name) (each works once; the old ones no longer work):\n")
                for pair in stride(from: 0, to: codes.count, by: 2) {
                    print("  " + codes[pair..<min(pair + 2, codes.count)].joined(separator: "    "))
                }
                print("\nThey are not shown again. Type one in the code field of the login form (with the password, when it asks for one) when no device is at hand.")
            }
            try await session.audit(.recoveryCodesMade, user: user.name, "portcullis user recovery-codes")
        }
    }
}
