import Crypto

/// One-time codes for a user who lost their device: 12 Base32 characters (60 random bits), shown in
/// groups of four (`7KQF-M2XD-9RTA`), accepted once each in the login form's code field.
///
/// The store keeps only an HMAC-SHA256 of each code under a key of its own, itself sealed under the
/// storage key: a copy of the database alone does not let anyone test guesses offline.
public enum RecoveryCode {
    /// How many a user gets at a time.
    public static let count = 10
    /// Characters in a code (5 bits each).
    public static let length = 12
    /// The context the codes' HMAC key is sealed with.
    public static let keyContext = "portcullis recovery code key"

    /// A new code, formatted for reading: `XXXX-XXXX-XXXX`.
    public static func generate(using generator: inout some RandomNumberGenerator) -> String {
        let encoded = Base32.encode(SecretGenerator.makeSecret(byteCount: 8, using: &generator)).prefix(length)
        return stride(from: 0, to: length, by: 4).map { String(encoded.dropFirst($0).prefix(4)) }.joined(separator: "-")
    }

    /// The code as compared: upper case without dashes or spaces, with the digits people type for
    /// look-alike letters (0 for O, 1 for I, 8 for B) read as those letters; nil when `typed`
    /// cannot be a recovery code (so a one-time code is never taken for one).
    public static func normalized(_ typed: String) -> String? {
        guard typed.utf8.count <= 64 else { return nil }
        var letters = ""
        for character in typed.uppercased() {
            switch character {
            case "-", " ": continue
            case "0": letters.append("O")
            case "1": letters.append("I")
            case "8": letters.append("B")
            case "A"..."Z", "2"..."7": letters.append(character)
            default: return nil
            }
        }
        return letters.count == length ? letters : nil
    }

    /// What the store keeps for a normalized code.
    public static func hash(_ normalized: String, key: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(normalized.utf8), using: SymmetricKey(data: key)))
    }
}
