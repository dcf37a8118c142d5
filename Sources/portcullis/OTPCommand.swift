public import ArgumentParser
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

/// `portcullis user otp ...`: authenticators.
struct OTPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "otp",
        abstract: "Add, list, show again and remove a user's OTP devices.",
        subcommands: [OTPAdd.self, OTPList.self, OTPRemove.self, OTPShowQR.self, OTPExport.self]
    )
}

extension OTPType: ExpressibleByArgument {}
extension OTPAlgorithm: ExpressibleByArgument {}

/// A device as `user show` and `user otp list` print it: never its secret.
struct DeviceSummary: Encodable {
    let label: String
    let type: String
    let algorithm: String
    let digits: Int
    let period: Int?
    let createdAt: String
    let lastUsedAt: String

    init(_ device: OTPDeviceRecord) {
        label = device.label
        type = device.parameters.type.rawValue
        algorithm = device.parameters.type == .motp ? "md5" : device.parameters.algorithm.rawValue
        digits = device.parameters.digits
        period = device.parameters.type == .hotp ? nil : device.parameters.period
        createdAt = formatTime(device.createdAt)
        lastUsedAt = formatTime(device.lastUsedAt)
    }

    var line: String {
        "\(label): \(type.uppercased()), \(algorithm.uppercased()), \(digits) digits\(period.map { ", \($0) s" } ?? ""), added \(createdAt), last used \(lastUsedAt)"
    }
}

/// How a device's enrolment is shown: secret, URI, and a QR code on the terminal or in files.
struct EnrolmentOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Also write the QR code as a PNG file (created with mode 0600).", valueName: "file")) var png: String?
    @Option(help: ArgumentHelp("Also write the QR code as an SVG file (created with mode 0600).", valueName: "file")) var svg: String?
    @Flag(help: "Print JSON (with secret and uri) instead of text and a QR code.") var json = false
}

/// What `--json` prints for an enrolment.
struct EnrolmentOutput: Encodable {
    let user: String
    let label: String
    let type: String
    let algorithm: String
    let digits: Int
    let period: Int?
    let counter: UInt64?
    let secret: String
    let uri: String?
}

func showEnrolment(user: UserRecord, device: OTPDeviceRecord, secret: [UInt8], issuer: String, counter: UInt64, options: EnrolmentOptions) throws {
    let parameters = device.parameters
    let secretText = parameters.type == .motp ? Hex.encode(secret) : Base32.encode(secret)
    let uri = parameters.type == .motp ? nil
        : OTPAuthURI(issuer: issuer, account: user.name, secret: secret, parameters: parameters, counter: counter).string
    var qr: QRCode?
    if let uri { qr = try QRCode(encoding: uri) }
    if let qr, let png = options.png { try writePrivateFile(png, bytes: qr.pngData()) }
    if let qr, let svg = options.svg { try writePrivateFile(svg, bytes: Array(qr.svgString().utf8)) }
    if (options.png != nil || options.svg != nil) && qr == nil {
        printError("mOTP devices have no QR code; type the secret into the mOTP app.")
    }
    if options.json {
        try JSONOutput.print(EnrolmentOutput(
            user: user.name, label: device.label, type: parameters.type.rawValue,
            algorithm: parameters.type == .motp ? "md5" : parameters.algorithm.rawValue, digits: parameters.digits,
            period: parameters.type == .hotp ? nil : parameters.period, counter: parameters.type == .hotp ? counter : nil,
            secret: secretText, uri: uri))
        return
    }
    print(DeviceSummary(device).line)
    print("Secret: \(secretText)")
    if let uri { print("URI:    \(uri)") }
    if let qr {
        print("")
        print(qr.terminalString(), terminator: "")
        print("")
        print("Scan this with an authenticator app, or type the secret in. It is shown again with: portcullis user otp qr \(user.name) '\(device.label)'")
    }
}

func writePrivateFile(_ path: String, bytes: [UInt8]) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw CLIError("Cannot write \(path): \(String(cString: strerror(errno))).") }
    defer { close(descriptor) }
    fchmod(descriptor, 0o600)
    let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    guard written == bytes.count else { throw CLIError("Cannot write \(path): \(String(cString: strerror(errno))).") }
}

struct OTPAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Give a user an OTP device, and show its QR code.",
        discussion: """
            Without --secret a new 160-bit secret is made. TOTP devices use the totp.* settings unless \
            the options say otherwise.

              portcullis user otp add alice                         # TOTP, QR code on the terminal
              portcullis user otp add alice --label yubikey --type hotp --digits 8
              portcullis user otp add alice --secret JBSWY3DPEHPK3PXP --json
              portcullis user otp add carol --type motp --secret 0123456789abcdef --pin-stdin
            """
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The user name.") var name: String
    @Option(help: "A name for the device, unique for the user.") var label = "default"
    @Option(help: "totp, hotp or motp.") var type: OTPType = .totp
    @Option(help: "sha1, sha256 or sha512 (TOTP and HOTP).") var algorithm: OTPAlgorithm?
    @Option(help: "Digits per code, 6 to 10.") var digits: Int?
    @Option(help: ArgumentHelp("Seconds per TOTP code.", valueName: "seconds")) var period: Int?
    @Option(help: "The first counter value (HOTP), 0 to \(OTPDeviceState.maximumCounter).") var counter: UInt64 = 0
    @Option(help: ArgumentHelp("An existing secret: Base32 (TOTP, HOTP) or hex (mOTP).", valueName: "secret")) var secret: String?
    @Flag(help: "Read the mOTP PIN from the first line of standard input (otherwise asked on the terminal).") var pinStdin = false
    @OptionGroup var enrolment: EnrolmentOptions

    func validate() throws {
        if type == .motp, secret == nil {
            throw ValidationError("An mOTP device needs --secret with the hex secret set in the mOTP app.")
        }
        if let digits, !OTPParameters.allowedDigits.contains(digits) {
            throw ValidationError("--digits must be 6 to 10; \(digits) was given.")
        }
        if let period, !(1...OTPParameters.maximumPeriod).contains(period) {
            throw ValidationError("--period must be 1 to \(OTPParameters.maximumPeriod) seconds; \(period) was given.")
        }
        do { _ = try OTPDeviceState(nextCounter: counter) } catch let error as CoreError {
            throw ValidationError("--counter: \(error.message)")
        }
    }

    func run() async throws {
        let secretBytes: [UInt8]
        if let secret {
            secretBytes = try type == .motp ? Hex.decode(secret) : Base32.decode(secret)
        } else {
            var random = SystemRandomNumberGenerator()
            secretBytes = SecretGenerator.makeSecret(using: &random)
        }
        try await StorageSession.with(options) { session in
            let configuration = session.configuration
            let parameters = OTPParameters(
                type: type,
                algorithm: algorithm ?? (type == .totp ? configuration.totpAlgorithm : .sha1),
                digits: digits ?? (type == .totp ? configuration.totpDigits : 6),
                period: period ?? configuration.totpPeriod
            )
            let user = try await session.vault.requireUser(name)
            let pin = type == .motp
                ? (pinStdin ? try PasswordInput.readStandardInput(what: "mOTP PIN") : try PasswordInput.prompt("mOTP PIN: ", confirm: true))
                : nil
            let device = try await session.vault.addDevice(
                userName: user.name, label: label, parameters: parameters, secret: secretBytes, pin: pin,
                initialCounter: counter, at: currentUnixTime())
            try await session.audit(.deviceAdded, user: user.name, "user otp add, device '\(device.label)' (\(parameters.type.rawValue.uppercased()))")
            try showEnrolment(user: user, device: device, secret: secretBytes, issuer: configuration.totpIssuer,
                              counter: counter, options: enrolment)
        }
    }
}

struct OTPList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List a user's OTP devices (never their secrets).")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The user name.") var name: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await StorageSession.with(options) { session in
            let user = try await session.vault.requireUser(name)
            let devices = try await session.store.devices(ofUserID: user.id)
            if json {
                try JSONOutput.print(devices.map(DeviceSummary.init))
            } else if devices.isEmpty {
                print("'\(user.name)' has no OTP devices. Add one with: portcullis user otp add \(user.name)")
            } else {
                for device in devices { print(DeviceSummary(device).line) }
            }
        }
    }
}

struct OTPRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove one of a user's OTP devices.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The user name.") var name: String
    @Argument(help: "The device's label.") var label: String

    func run() async throws {
        try await StorageSession.with(options) { session in
            let (user, device) = try await session.vault.requireDevice(userName: name, label: label)
            try await session.store.removeDevice(userID: user.id, label: device.label)
            try await session.audit(.deviceRemoved, user: user.name, "user otp remove, device '\(device.label)'")
            print("Removed device '\(device.label)' of '\(user.name)'.")
        }
    }
}

struct OTPShowQR: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qr",
        abstract: "Show a device's secret, URI and QR code again.",
        discussion: "Anyone who sees the output can make codes for this user: show it only to them."
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The user name.") var name: String
    @Argument(help: "The device's label.") var label: String
    @OptionGroup var enrolment: EnrolmentOptions

    func run() async throws {
        try await StorageSession.with(options) { session in
            let (user, device) = try await session.vault.requireDevice(userName: name, label: label)
            let secret = try session.vault.secret(of: device)
            let counter = device.state.nextCounter
            try showEnrolment(user: user, device: device, secret: secret, issuer: session.configuration.totpIssuer,
                              counter: counter, options: enrolment)
        }
    }
}
