import Crypto

/// HMAC-based one-time passwords (RFC 4226), the building block of TOTP.
public enum HOTP {
    /// The code for `counter`, zero-padded to `digits` digits.
    ///
    /// ```swift
    /// HOTP.code(secret: Array("12345678901234567890".utf8), counter: 1) // "287082"
    /// ```
    public static func code(
        secret: [UInt8],
        counter: UInt64,
        digits: Int = 6,
        algorithm: OTPAlgorithm = .sha1
    ) -> String {
        let value = truncatedValue(secret: secret, counter: counter, algorithm: algorithm)
        return zeroPadded(value % powerOfTen(digits), digits: digits)
    }

    /// The 31-bit dynamic truncation of RFC 4226 §5.3.
    static func truncatedValue(secret: [UInt8], counter: UInt64, algorithm: OTPAlgorithm) -> UInt64 {
        let message = withUnsafeBytes(of: counter.bigEndian) { Array($0) }
        let key = SymmetricKey(data: secret)
        switch algorithm {
        case .sha1:
            return truncate(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: key))
        case .sha256:
            return truncate(HMAC<SHA256>.authenticationCode(for: message, using: key))
        case .sha512:
            return truncate(HMAC<SHA512>.authenticationCode(for: message, using: key))
        }
    }

    private static func truncate(_ mac: some Sequence<UInt8>) -> UInt64 {
        let bytes = Array(mac)
        let offset = Int(bytes[bytes.count - 1] & 0x0F)
        return UInt64(bytes[offset] & 0x7F) << 24
            | UInt64(bytes[offset + 1]) << 16
            | UInt64(bytes[offset + 2]) << 8
            | UInt64(bytes[offset + 3])
    }

    /// 10^exponent, for 0 to 19 (the largest power of ten a `UInt64` holds); other exponents are
    /// brought into that range, so no digit count traps.
    static func powerOfTen(_ exponent: Int) -> UInt64 {
        var result: UInt64 = 1
        for _ in 0..<min(max(exponent, 0), 19) { result *= 10 }
        return result
    }

    static func zeroPadded(_ value: UInt64, digits: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
