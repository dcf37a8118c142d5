import Crypto

/// The 256-bit key that OTP secrets are encrypted under at rest.
///
/// It is written as Base64 text (44 characters) in a key file or an environment variable. Messages
/// refer to a key by its ``fingerprint``, never by its value.
public struct StorageKey: Sendable {
    let symmetricKey: SymmetricKey
    /// The key's raw bytes, for writing the key file.
    public let bytes: [UInt8]

    /// Bytes in a key.
    public static let byteCount = 32

    /// Wraps exactly 32 bytes.
    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.byteCount else {
            throw CoreError(.invalidStorageKey, "A storage key must be 32 bytes; this one has \(bytes.count).")
        }
        self.bytes = bytes
        self.symmetricKey = SymmetricKey(data: bytes)
    }

    /// Reads a key from its text form: 44 characters of Base64 or 64 hex digits, surrounding whitespace ignored.
    /// - Parameter source: where the text came from, named in the error (e.g. a file path or an environment variable).
    public init(text: String, source: String) throws {
        let trimmed = text.trimmingASCIIWhitespace()
        if trimmed.utf8.count == 64, let bytes = try? Hex.decode(trimmed) {
            try self.init(bytes: bytes)
        } else if let bytes = Base64.decode(trimmed), bytes.count == Self.byteCount {
            try self.init(bytes: bytes)
        } else {
            throw CoreError(
                .invalidStorageKey,
                "The storage key in \(source) is not 32 bytes of Base64 (44 characters) or hex (64 digits). Generate one with: head -c 32 /dev/urandom | base64"
            )
        }
    }

    /// A new random key.
    public static func generate(using generator: inout some RandomNumberGenerator) -> StorageKey {
        // 32 bytes is always the right length, so this cannot fail.
        try! StorageKey(bytes: SecretGenerator.makeSecret(byteCount: byteCount, using: &generator))
    }

    /// The key as it is written to a key file: Base64 and a newline.
    public var fileText: String { Base64.encode(bytes) + "\n" }

    /// A short, non-secret name for the key: the first 8 hex digits of SHA-256 over
    /// a fixed label and the key. Safe to print and log.
    public var fingerprint: String {
        Hex.encode(idBytes)
    }

    /// The fingerprint as 4 bytes, recorded in every value sealed under the key.
    var idBytes: [UInt8] {
        Array(SHA256.hash(data: Array("portcullis storage key fingerprint".utf8) + bytes).prefix(4))
    }
}
