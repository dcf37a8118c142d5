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

    /// Reads a cookie value; nil unless it is exactly 43 base64url characters (the standard
    /// alphabet's `+` and `/` are read too).
    public init?(cookieValue: some StringProtocol) {
        guard let bytes = Array(cookieValue.utf8).withUnsafeBufferPointer(Self.decode) else { return nil }
        self.bytes = bytes
    }

    /// ``init(cookieValue:)`` for the verify path, which has the value as a slice of the Cookie
    /// header: its UTF-8 is read in place.
    public init?(cookieValue: Substring) {
        var value = cookieValue
        guard let bytes = value.withUTF8(Self.decode) else { return nil }
        self.bytes = bytes
    }

    /// The 32 bytes of 43 base64url characters, decoded in one pass with a table.
    private static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count == textLength else { return nil }
        var bytes = [UInt8](repeating: 0, count: byteCount)
        var buffer: UInt32 = 0
        var bitCount = 0
        var written = 0
        for character in text {
            let value = sextets[Int(character)]
            guard value < 64 else { return nil }
            buffer = (buffer &<< 6 | UInt32(value)) & 0x3FFF
            bitCount += 6
            if bitCount >= 8 {
                bitCount -= 8
                // 43 characters carry 258 bits: the last 2 are not part of the 32 bytes.
                if written < byteCount { bytes[written] = UInt8(truncatingIfNeeded: buffer >> UInt32(bitCount)) }
                written += 1
            }
        }
        return bytes
    }

    /// The 6-bit value of each byte in base64url (and standard base64); 64 for any other byte.
    private static let sextets: [UInt8] = {
        var table = [UInt8](repeating: 64, count: 256)
        for (value, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8.enumerated() {
            table[Int(character)] = UInt8(value)
        }
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "+"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        table[Int(UInt8(ascii: "/"))] = 63
        return table
    }()

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
