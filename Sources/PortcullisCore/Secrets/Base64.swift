/// Standard Base64 (RFC 4648 §4), as PHC hash strings and key files use it.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Encodes bytes; with `padding: false` the trailing `=` are left out (the PHC form).
    public static func encode(_ bytes: some Collection<UInt8>, padding: Bool = true) -> String {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index < input.count {
            let chunk = Array(input[index..<min(index + 3, input.count)])
            let value = Int(chunk[0]) << 16 | Int(chunk.count > 1 ? chunk[1] : 0) << 8 | Int(chunk.count > 2 ? chunk[2] : 0)
            let characters = chunk.count + 1
            for position in 0..<4 {
                if position < characters {
                    output.append(alphabet[(value >> (18 - 6 * position)) & 0x3F])
                } else if padding {
                    output.append(UInt8(ascii: "="))
                }
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes Base64 with or without padding; nil for anything malformed. Whitespace is not allowed.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var characters = Array(text.utf8)
        while characters.last == UInt8(ascii: "=") { characters.removeLast() }
        guard characters.count % 4 != 1, text.utf8.count - characters.count <= 2 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(characters.count * 3 / 4)
        var buffer = 0
        var bitCount = 0
        for character in characters {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 6) | value
            bitCount += 6
            if bitCount >= 8 {
                bitCount -= 8
                output.append(UInt8((buffer >> bitCount) & 0xFF))
            }
        }
        return output
    }
}
