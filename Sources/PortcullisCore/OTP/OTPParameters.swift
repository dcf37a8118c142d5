/// The hash function an HOTP or TOTP device uses (RFC 6238 §1.2).
public enum OTPAlgorithm: String, Sendable, CaseIterable, Codable {
    case sha1, sha256, sha512

    /// The spelling used in `otpauth://` URIs: `SHA1`, `SHA256`, `SHA512`.
    public var uriName: String { rawValue.uppercased() }
}

/// How a device counts: by time (TOTP), by event (HOTP), or mOTP's MD5-over-time scheme.
public enum OTPType: String, Sendable, CaseIterable, Codable {
    case totp, hotp, motp
}

/// What a device needs besides its secret to produce a code.
///
/// Values are checked by ``validate()``: 6–10 digits, a TOTP period of at least 1 second,
/// mOTP with 10-second steps. Defaults are those of every authenticator app: TOTP, SHA-1, 6 digits, 30 s.
public struct OTPParameters: Sendable, Equatable, Codable {
    public var type: OTPType
    public var algorithm: OTPAlgorithm
    public var digits: Int
    /// Seconds per step for TOTP (any value ≥ 1) and mOTP (always 10); unused for HOTP.
    public var period: Int

    /// The digit counts a code may have.
    public static let allowedDigits = 6...10
    /// The longest TOTP period accepted, one day.
    public static let maximumPeriod = 86_400
    /// mOTP's fixed step.
    public static let motpPeriod = 10

    public init(type: OTPType = .totp, algorithm: OTPAlgorithm = .sha1, digits: Int = 6, period: Int = 30) {
        self.type = type
        self.algorithm = algorithm
        self.digits = digits
        self.period = type == .motp ? Self.motpPeriod : period
    }

    /// Checks the parameters and says which one is wrong.
    public func validate() throws {
        guard Self.allowedDigits.contains(digits) else {
            throw CoreError(.invalidOTPParameters, "A code must have 6 to 10 digits; \(digits) was given.")
        }
        switch type {
        case .totp:
            guard (1...Self.maximumPeriod).contains(period) else {
                throw CoreError(.invalidOTPParameters, "A TOTP period must be 1 to \(Self.maximumPeriod) seconds; \(period) was given.")
            }
        case .motp:
            guard period == Self.motpPeriod else {
                throw CoreError(.invalidOTPParameters, "mOTP always uses 10-second steps; \(period) was given.")
            }
        case .hotp:
            break
        }
    }
}

/// What the store remembers about a device between logins.
public struct OTPDeviceState: Sendable, Equatable, Codable {
    /// The last accepted time step (TOTP, mOTP) or counter (HOTP); -1 when none was accepted yet.
    /// Only steps or counters above it can be accepted, so each code works once (RFC 6238 §5.2).
    public var lastAccepted: Int64
    /// The measured offset, in steps, between this device's clock and ours (RFC 6238 §6).
    /// For HOTP, how far ahead of the expected counter the last accepted code was.
    public var drift: Int

    /// The largest HOTP counter Portcullis takes in: 2^53 − 1, which every JSON reader holds exactly,
    /// and which a token pressed once a second reaches in 285 million years. Counters from the command
    /// line, otpauth URIs and importers are checked against it, and no code is accepted beyond it.
    public static let maximumCounter: Int64 = (1 << 53) - 1

    /// The largest drift, in steps either way, an importer carries over (the verifier applies at most
    /// ``OTPVerifier/maximumDrift`` of it).
    public static let maximumDrift = OTPVerifier.maximumWindow

    public init(lastAccepted: Int64 = -1, drift: Int = 0) {
        self.lastAccepted = lastAccepted
        self.drift = drift
    }

    /// The state of a new HOTP device whose next code is for `nextCounter`.
    /// - Throws: ``CoreError/Code/invalidOTPParameters`` when the counter is above ``maximumCounter``.
    public init(nextCounter: UInt64) throws {
        guard nextCounter <= UInt64(Self.maximumCounter) else {
            throw CoreError(.invalidOTPParameters, "An HOTP counter must be 0 to \(Self.maximumCounter); \(nextCounter) was given.")
        }
        self.init(lastAccepted: Int64(nextCounter) - 1)
    }

    /// The counter of an HOTP device's next code, as exports and enrolment show it; 0 for any state
    /// below, and never more than ``maximumCounter``, whatever the store holds.
    public var nextCounter: UInt64 {
        UInt64(clamping: Swift.min(Swift.max(lastAccepted, -1), Self.maximumCounter - 1) + 1)
    }
}
