import Crypto

/// The weak hashes older htpasswd files hold: Apache's `$apr1$` (MD5-crypt, 1000 rounds) and
/// `{SHA}` (one unsalted SHA-1). They are verified only so that users imported with
/// `portcullis import htpasswd --allow-weak` can log in once, after which the good login replaces
/// the hash with scrypt.
public enum LegacyHtpasswdHash {
    /// Whether `hash` is one of these schemes.
    public static func isLegacy(_ hash: String) -> Bool {
        apr1Parts(hash) != nil || sha1Digest(hash) != nil
    }

    /// Checks a password in constant time (over the final digest); nil when `hash` is not a legacy scheme.
    public static func verify(_ password: String, against hash: String) -> Bool? {
        if let (salt, expected) = apr1Parts(hash) {
            return ConstantTime.equals(Array(apr1(password: Array(password.utf8), salt: salt).utf8), Array(expected.utf8))
        }
        if let expected = sha1Digest(hash) {
            return ConstantTime.equals(Array(Insecure.SHA1.hash(data: Array(password.utf8))), expected)
        }
        return nil
    }

    static func sha1Digest(_ hash: String) -> [UInt8]? {
        guard hash.hasPrefix("{SHA}"), let digest = Base64.decode(hash.dropFirst(5)), digest.count == 20 else { return nil }
        return digest
    }

    /// The salt and the encoded digest of `$apr1$salt$digest`.
    static func apr1Parts(_ hash: String) -> ([UInt8], String)? {
        guard hash.hasPrefix("$apr1$") else { return nil }
        let parts = hash.dropFirst(6).split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...8).contains(parts[0].utf8.count), parts[1].utf8.count == 22 else { return nil }
        return (Array(parts[0].utf8), String(parts[1]))
    }

    /// MD5-crypt with Apache's magic `$apr1$`; returns the 22-character encoded digest.
    static func apr1(password: [UInt8], salt: [UInt8]) -> String {
        let magic = Array("$apr1$".utf8)
        var alternate = Array(Insecure.MD5.hash(data: password + salt + password))
        var context = password + magic + salt
        var remaining = password.count
        while remaining > 0 {
            context += alternate.prefix(min(16, remaining))
            remaining -= 16
        }
        var bits = password.count
        while bits > 0 {
            context.append(bits & 1 == 1 ? 0 : (password.first ?? 0))
            bits >>= 1
        }
        alternate = Array(Insecure.MD5.hash(data: context))
        for round in 0..<1000 {
            var next: [UInt8] = round & 1 == 1 ? password : alternate
            if round % 3 != 0 { next += salt }
            if round % 7 != 0 { next += password }
            next += round & 1 == 1 ? alternate : password
            alternate = Array(Insecure.MD5.hash(data: next))
        }
        let alphabet = Array("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var output = ""
        func encode(_ value: Int, _ count: Int) {
            var value = value
            for _ in 0..<count {
                output.append(alphabet[value & 0x3F])
                value >>= 6
            }
        }
        let f = alternate.map(Int.init)
        encode(f[0] << 16 | f[6] << 8 | f[12], 4)
        encode(f[1] << 16 | f[7] << 8 | f[13], 4)
        encode(f[2] << 16 | f[8] << 8 | f[14], 4)
        encode(f[3] << 16 | f[9] << 8 | f[15], 4)
        encode(f[4] << 16 | f[10] << 8 | f[5], 4)
        encode(f[11], 2)
        return output
    }
}
