/// Hexadecimal text, the format mod_authn_otp's users file keeps secrets in.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Encodes bytes as lowercase hex.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes hex text (either case; spaces ignored).
    /// - Throws: ``CoreError/Code/invalidSecret`` for other characters, an odd number of digits,
    ///   empty input, or more than 1024 characters.
    public static func decode(_ text: String) throws -> [UInt8] {
        guard text.utf8.count <= 1024 else {
            throw CoreError(.invalidSecret, "The hex secret is longer than 1024 characters.")
        }
        var nibbles: [UInt8] = []
        for (offset, character) in text.utf8.enumerated() where character != UInt8(ascii: " ") {
            guard let value = nibble(character) else {
                throw CoreError(.invalidSecret, "The hex secret has a character that is not 0–9 or a–f at position \(offset + 1).")
            }
            nibbles.append(value)
        }
        guard !nibbles.isEmpty else { throw CoreError(.invalidSecret, "The hex secret is empty.") }
        guard nibbles.count.isMultiple(of: 2) else {
            throw CoreError(.invalidSecret, "The hex secret has an odd number of digits (\(nibbles.count)); each byte takes two.")
        }
        return stride(from: 0, to: nibbles.count, by: 2).map { nibbles[$0] << 4 | nibbles[$0 + 1] }
    }

    /// The value of one hex digit, or nil.
    static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
