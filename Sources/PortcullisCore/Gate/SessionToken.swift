import Crypto

/// A session id: 256 random bits, sent in the cookie as 43 characters of unpadded base64url.
/// The store keeps only its SHA-256 (``storageHash``), so a stolen database holds no usable ids.
public struct SessionToken: Sendable, Hashable {
    /// The 32 random bytes.
    public let bytes: [UInt8]

    public static let byteCount = 32
    static let textLength = 43

    /// A new random token.
    public static func generate(using generator: inout some RandomNumberGenerator) -> SessionToken {
        SessionToken(unchecked: SecretGenerator.makeSecret(byteCount: byteCount, using: &generator))
    }

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// Reads a cookie value; nil unless it is exactly 43 base64url characters.
    public init?(cookieValue: some StringProtocol) {
        guard cookieValue.utf8.count == Self.textLength,
              let bytes = Base64.decode(String(cookieValue).base64URLToStandard()), bytes.count == Self.byteCount
        else { return nil }
        self.bytes = bytes
    }

    /// The cookie value.
    public var cookieValue: String {
        Base64.encode(bytes, padding: false).standardToBase64URL()
    }

    /// What the store keeps: SHA-256 of the bytes.
    public var storageHash: [UInt8] { Array(SHA256.hash(data: bytes)) }
}

extension String {
    func base64URLToStandard() -> String {
        String(map { $0 == "-" ? "+" : ($0 == "_" ? "/" : $0) })
    }

    func standardToBase64URL() -> String {
        String(map { $0 == "+" ? "-" : ($0 == "/" ? "_" : $0) })
    }
}
