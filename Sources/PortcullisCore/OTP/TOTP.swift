/// Time-based one-time passwords (RFC 6238): HOTP over the number of whole periods since 1970.
public enum TOTP {
    /// The time step that contains `unixTime` (seconds since 1970, UTC).
    /// Rounds down for times before 1970; a period below 1 second counts as 1, so no input divides by zero.
    public static func step(at unixTime: Int64, period: Int = 30) -> Int64 {
        let (quotient, remainder) = unixTime.quotientAndRemainder(dividingBy: Int64(max(period, 1)))
        return remainder < 0 ? quotient - 1 : quotient
    }

    /// The code valid at `unixTime`.
    ///
    /// ```swift
    /// TOTP.code(secret: Array("12345678901234567890".utf8), at: 59, digits: 8) // "94287082"
    /// ```
    public static func code(
        secret: [UInt8],
        at unixTime: Int64,
        period: Int = 30,
        digits: Int = 6,
        algorithm: OTPAlgorithm = .sha1
    ) -> String {
        code(secret: secret, step: step(at: unixTime, period: period), digits: digits, algorithm: algorithm)
    }

    /// The code of a given time step.
    public static func code(secret: [UInt8], step: Int64, digits: Int = 6, algorithm: OTPAlgorithm = .sha1) -> String {
        HOTP.code(secret: secret, counter: UInt64(bitPattern: step), digits: digits, algorithm: algorithm)
    }
}
