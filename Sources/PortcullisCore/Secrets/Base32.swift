/// Base32 as defined by RFC 4648 §6, the encoding authenticator apps use for secrets.
///
/// Decoding is forgiving in the ways people type secrets: lowercase letters, spaces, hyphens and
/// missing `=` padding are accepted. Anything else is refused with a message naming the character.
///
/// ```swift
/// let secret = try Base32.decode("jbsw y3dp ehpk 3pxp")   // "Hello!\xde\xad\xbe\xef"
/// Base32.encode(secret)                                     // "JBSWY3DPEHPK3PXP"
/// ```
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    /// The longest input accepted by ``decode(_:)``, in characters.
    public static let maximumInputLength = 1024

    /// Encodes bytes as upper-case Base32 without padding (the form otpauth URIs use).
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bitCount = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bitCount += 8
            while bitCount >= 5 {
                bitCount -= 5
                output.append(alphabet[Int((buffer >> UInt32(bitCount)) & 0x1F)])
            }
        }
        if bitCount > 0 {
            output.append(alphabet[Int((buffer << UInt32(5 - bitCount)) & 0x1F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes Base32 text, ignoring case, spaces, hyphens and trailing padding.
    /// - Throws: ``CoreError/Code/invalidSecret`` naming the first character that is not Base32,
    ///   or when the text is empty, too long, or has an impossible length.
    public static func decode(_ text: String) throws -> [UInt8] {
        guard text.utf8.count <= maximumInputLength else {
            throw CoreError(.invalidSecret, "The Base32 secret is longer than \(maximumInputLength) characters.")
        }
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        var seenPadding = false
        for (offset, character) in text.utf8.enumerated() {
            switch character {
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "\t"):
                continue
            case UInt8(ascii: "="):
                seenPadding = true
                continue
            default:
                break
            }
            guard !seenPadding, let value = value(of: character) else {
                let shown = String(decoding: [character], as: UTF8.self)
                throw CoreError(
                    .invalidSecret,
                    seenPadding
                        ? "The Base32 secret has characters after its '=' padding (at position \(offset + 1))."
                        : "The Base32 secret has '\(shown.isEmpty ? "?" : shown)' at position \(offset + 1); only A–Z and 2–7 are allowed (case does not matter, spaces are ignored)."
                )
            }
            values.append(value)
        }
        guard !values.isEmpty else {
            throw CoreError(.invalidSecret, "The Base32 secret is empty.")
        }
        // 1, 3 and 6 leftover characters cannot come from whole bytes (RFC 4648 §6).
        guard ![1, 3, 6].contains(values.count % 8) else {
            throw CoreError(.invalidSecret, "The Base32 secret has \(values.count) characters, a length no whole number of bytes encodes to; check that it was copied completely.")
        }
        var output: [UInt8] = []
        output.reserveCapacity(values.count * 5 / 8)
        var buffer: UInt32 = 0
        var bitCount = 0
        for value in values {
            buffer = (buffer << 5) | UInt32(value)
            bitCount += 5
            if bitCount >= 8 {
                bitCount -= 8
                output.append(UInt8((buffer >> UInt32(bitCount)) & 0xFF))
            }
        }
        return output
    }

    private static func value(of character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a")
        case UInt8(ascii: "2")...UInt8(ascii: "7"): character - UInt8(ascii: "2") + 26
        default: nil
        }
    }
}
