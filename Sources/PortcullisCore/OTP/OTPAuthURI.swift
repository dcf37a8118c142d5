/// The `otpauth://` Key URI Format that authenticator apps scan from QR codes.
///
/// ```swift
/// let uri = OTPAuthURI(issuer: "Portcullis", account: "alice", secret: secret)
/// uri.string  // otpauth://totp/Portcullis:alice?secret=...&issuer=Portcullis&algorithm=SHA1&digits=6&period=30
/// let parsed = try OTPAuthURI(parsing: uri.string)
/// ```
public struct OTPAuthURI: Sendable, Equatable {
    public var issuer: String?
    public var account: String
    public var secret: [UInt8]
    public var parameters: OTPParameters
    /// The initial counter, HOTP only; a parsed URI's is at most ``OTPDeviceState/maximumCounter``.
    public var counter: UInt64
    /// The device's label in Portcullis (`label=`, written by `portcullis user otp export` so that
    /// `import otpauth` keeps it; authenticator apps ignore it). Nil when absent or not 1–64 bytes
    /// of printable text.
    public var deviceLabel: String?

    /// The longest URI ``init(parsing:)`` reads.
    public static let maximumLength = 4096
    /// The longest issuer and account name, in UTF-8 bytes: written back percent-encoded (up to
    /// three characters a byte, the issuer twice) with the longest secret, a URI stays within
    /// ``maximumLength``, so every URI read can be written back and read again.
    public static let maximumNameBytes = 256

    public init(issuer: String?, account: String, secret: [UInt8], parameters: OTPParameters = OTPParameters(), counter: UInt64 = 0) {
        self.issuer = issuer
        self.account = account
        self.secret = secret
        self.parameters = parameters
        self.counter = counter
    }

    /// The URI text. Only TOTP and HOTP have a URI form; mOTP devices are entered by hand.
    public var string: String {
        let label = issuer.map { PercentEncoding.encode($0) + ":" } ?? ""
        var query = ["secret=" + Base32.encode(secret)]
        if let issuer { query.append("issuer=" + PercentEncoding.encode(issuer)) }
        query.append("algorithm=" + parameters.algorithm.uriName)
        query.append("digits=\(parameters.digits)")
        if parameters.type == .hotp {
            query.append("counter=\(counter)")
        } else {
            query.append("period=\(parameters.period)")
        }
        if let deviceLabel { query.append("label=" + PercentEncoding.encode(deviceLabel)) }
        return "otpauth://\(parameters.type.rawValue)/\(label)\(PercentEncoding.encode(account))?\(query.joined(separator: "&"))"
    }

    /// Parses a URI, with an error that names the part that is wrong.
    public init(parsing text: String) throws {
        let text = text.trimmingASCIIWhitespace()
        guard text.utf8.count <= Self.maximumLength else {
            throw Self.error("is longer than \(Self.maximumLength) characters")
        }
        let scheme = "otpauth://"
        guard text.lowercased().hasPrefix(scheme) else {
            throw Self.error("does not start with otpauth://")
        }
        let rest = text.dropFirst(scheme.count)
        guard let slash = rest.firstIndex(of: "/") else {
            throw Self.error("has no type; expected otpauth://totp/... or otpauth://hotp/...")
        }
        let typeName = rest[rest.startIndex..<slash].lowercased()
        let type: OTPType
        switch typeName {
        case "totp": type = .totp
        case "hotp": type = .hotp
        default: throw Self.error("has type '\(typeName)'; only totp and hotp are allowed")
        }
        let afterType = rest[rest.index(after: slash)...]
        let (rawLabel, rawQuery) = afterType.splitOnce("?")
        guard let label = PercentEncoding.decode(String(rawLabel)) else {
            throw Self.error("has a label with broken percent-encoding")
        }

        var fields: [String: String] = [:]
        for pair in (rawQuery ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let (key, value) = pair.splitOnce("=")
            guard let decoded = PercentEncoding.decode(String(value ?? "")) else {
                throw Self.error("has a '\(key)' value with broken percent-encoding")
            }
            let name = key.lowercased()
            guard fields[name] == nil else { throw Self.error("repeats the '\(name)' parameter") }
            fields[name] = decoded
        }

        guard let secretText = fields["secret"], !secretText.isEmpty else {
            throw Self.error("has no secret parameter")
        }
        let secret: [UInt8]
        do { secret = try Base32.decode(secretText) } catch let error as CoreError {
            throw Self.error("has a secret that is not valid: \(error.message)")
        }

        var labelIssuer: String?
        var account = label.trimmingASCIIWhitespace()
        // The colon is looked for among Unicode scalars, not Characters: an account starting with a
        // combining mark would otherwise hide it (":" + U+032B is one Character).
        let scalars = label.unicodeScalars
        if let colon = scalars.firstIndex(of: ":") {
            labelIssuer = String(scalars[..<colon]).trimmingASCIIWhitespace()
            account = String(scalars[scalars.index(after: colon)...]).trimmingASCIIWhitespace()
        }
        guard !account.isEmpty else { throw Self.error("has no account name in its label") }
        guard account.utf8.count <= Self.maximumNameBytes else {
            throw Self.error("has an account name longer than \(Self.maximumNameBytes) bytes")
        }
        let queryIssuer = fields["issuer"]?.trimmingASCIIWhitespace()
        let issuer = queryIssuer ?? labelIssuer
        if let labelIssuer, let queryIssuer, labelIssuer != queryIssuer {
            throw Self.error("names two issuers: '\(labelIssuer)' in the label and '\(queryIssuer)' in the parameters")
        }
        // The label's first colon, written or %3A-encoded, ends the issuer, so an issuer with a colon
        // could not be written back into a label.
        if let issuer, issuer.unicodeScalars.contains(":") {
            throw Self.error("has the issuer '\(issuer)', which contains ':'")
        }
        if let issuer, issuer.utf8.count > Self.maximumNameBytes {
            throw Self.error("has an issuer longer than \(Self.maximumNameBytes) bytes")
        }

        var parameters = OTPParameters(type: type)
        if let algorithm = fields["algorithm"] {
            guard let parsed = OTPAlgorithm(rawValue: algorithm.lowercased()) else {
                throw Self.error("has algorithm '\(algorithm)'; allowed are SHA1, SHA256 and SHA512")
            }
            parameters.algorithm = parsed
        }
        if let digits = fields["digits"] {
            guard let parsed = Int(digits), OTPParameters.allowedDigits.contains(parsed) else {
                throw Self.error("has digits '\(digits)'; allowed are 6 to 10")
            }
            parameters.digits = parsed
        }
        if let period = fields["period"] {
            guard let parsed = Int(period), (1...OTPParameters.maximumPeriod).contains(parsed) else {
                throw Self.error("has period '\(period)'; allowed are 1 to \(OTPParameters.maximumPeriod) seconds")
            }
            parameters.period = parsed
        }
        var counter: UInt64 = 0
        if type == .hotp {
            guard let value = fields["counter"] else { throw Self.error("is an hotp URI without a counter parameter") }
            guard let parsed = UInt64(value), parsed <= UInt64(OTPDeviceState.maximumCounter) else {
                throw Self.error("has counter '\(value)'; allowed are whole numbers from 0 to \(OTPDeviceState.maximumCounter)")
            }
            counter = parsed
        }
        self.init(issuer: issuer, account: account, secret: secret, parameters: parameters, counter: counter)
        if let label = fields["label"]?.trimmingASCIIWhitespace(), !label.isEmpty, label.utf8.count <= 64,
           !label.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            deviceLabel = label
        }
    }

    private static func error(_ problem: String) -> CoreError {
        CoreError(.invalidOTPAuthURI, "The otpauth URI \(problem).")
    }
}

/// Percent-encoding (RFC 3986) of URI components.
enum PercentEncoding {
    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// Encodes everything but the unreserved characters `A–Z a–z 0–9 - . _ ~`.
    static func encode(_ text: String) -> String {
        var output: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.append(byte)
            default:
                output.append(UInt8(ascii: "%"))
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes `%XX` escapes; nil for a broken escape or bytes that are not UTF-8.
    /// `+` stays `+` (it only means space in form bodies).
    static func decode(_ text: String) -> String? {
        var output: [UInt8] = []
        var bytes = text.utf8.makeIterator()
        while let byte = bytes.next() {
            guard byte == UInt8(ascii: "%") else {
                output.append(byte)
                continue
            }
            guard let high = bytes.next().flatMap(Hex.nibble), let low = bytes.next().flatMap(Hex.nibble) else {
                return nil
            }
            output.append(high << 4 | low)
        }
        return String(validating: output, as: UTF8.self)
    }
}

extension StringProtocol {
    /// Splits at the first `separator`: the part before, and the part after if there is one.
    func splitOnce(_ separator: Character) -> (SubSequence, SubSequence?) {
        guard let index = firstIndex(of: separator) else { return (self[...], nil) }
        return (self[..<index], self[self.index(after: index)...])
    }

    /// The text without leading and trailing spaces, tabs and line breaks.
    public func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
