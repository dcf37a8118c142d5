/// Makes new OTP secrets from a random source the caller passes in.
public enum SecretGenerator {
    /// The RFC 4226 §4 recommended secret length: 160 bits.
    public static let defaultByteCount = 20

    /// Returns `byteCount` random bytes drawn from `generator`.
    ///
    /// Pass `SystemRandomNumberGenerator()` in production; tests pass a seeded generator.
    public static func makeSecret(
        byteCount: Int = defaultByteCount,
        using generator: inout some RandomNumberGenerator
    ) -> [UInt8] {
        (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
