import ArgumentParser
import PortcullisCore
import PortcullisStore

/// `portcullis user otp export`: every device's secret, for backups and moving elsewhere.
struct OTPExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print every OTP device with its secret, as otpauth:// URIs or CSV (for backups; keep the output safe).",
        discussion: """
            portcullis user otp export > backup.txt              # one URI per line; portcullis import otpauth reads it back
            portcullis user otp export --format csv --user alice
            mOTP devices have no URI form; they are listed in CSV only.
            """
    )
    enum Format: String, ExpressibleByArgument, CaseIterable { case uri, csv }

    @OptionGroup var options: GlobalOptions
    @Option(help: "uri or csv.") var format: Format = .uri
    @Option(help: ArgumentHelp("Only this user's devices.", valueName: "name")) var user: String?

    func run() async throws {
        try await StorageSession.with(options) { session in
            let users: [UserRecord]
            if let user { users = [try await session.vault.requireUser(user)] } else { users = try await session.store.users() }
            if format == .csv { print("user,label,type,algorithm,digits,period,counter,secret_base32,pin") }
            var skipped = 0
            for user in users {
                for device in try await session.store.devices(ofUserID: user.id) {
                    let secret = try session.vault.secret(of: device)
                    // The next counter, for HOTP; time-based devices have none.
                    let counter = device.parameters.type == .hotp ? device.state.nextCounter : 0
                    switch format {
                    case .uri:
                        guard device.parameters.type != .motp else {
                            skipped += 1
                            continue
                        }
                        var uri = OTPAuthURI(issuer: session.configuration.totpIssuer, account: user.name, secret: secret, parameters: device.parameters, counter: counter)
                        uri.deviceLabel = device.label
                        print(uri.string)
                    case .csv:
                        let fields = [user.name, device.label, device.parameters.type.rawValue, device.parameters.algorithm.rawValue,
                                      String(device.parameters.digits), String(device.parameters.period), String(counter),
                                      Base32.encode(secret), try session.vault.pin(of: device)]
                        print(fields.map(Self.csvField).joined(separator: ","))
                    }
                }
            }
            if skipped > 0 { printError("Left out \(skipped) mOTP device\(skipped == 1 ? "" : "s"), which have no URI form; use --format csv.") }
            printError("This output holds OTP secrets: store it like a password.")
        }
    }

    static func csvField(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacing("\"", with: "\"\"") + "\"" : text
    }
}
