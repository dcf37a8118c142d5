import CryptoExtras
import HummingbirdBcrypt

/// scrypt cost parameters, written into PHC strings as `ln` (log₂ N), `r` and `p`.
public struct ScryptParameters: Sendable, Equatable {
    public var logN: Int
    public var blockSize: Int
    public var parallelism: Int

    public init(logN: Int, blockSize: Int, parallelism: Int) {
        self.logN = logN
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    /// N = 2¹⁵, r = 8, p = 1: 32 MiB of memory; docs/security.md gives the measured time.
    public static let `default` = ScryptParameters(logN: 15, blockSize: 8, parallelism: 1)

    /// Bounds accepted when reading a stored hash, so a planted hash cannot ask for gigabytes.
    static let logNRange = 10...20
    static let blockSizeRange = 1...32
    static let parallelismRange = 1...16
}

/// The result of checking a password against a stored hash.
public enum PasswordCheck: Sendable, Equatable {
    /// The password is wrong.
    case mismatch
    /// The password is right. When `needsRehash` is true the hash is not in the current default
    /// format (bcrypt, or older scrypt parameters) and should be replaced by ``PasswordHasher/hash(_:using:)``.
    case match(needsRehash: Bool)

    public var isMatch: Bool { if case .match = self { true } else { false } }
}

/// Hashes passwords with scrypt (PHC string format) and verifies scrypt and bcrypt hashes.
///
/// These calls are slow on purpose (tens of milliseconds): run them on a thread pool, never on an
/// event loop.
///
/// ```swift
/// var random = SystemRandomNumberGenerator()
/// let hash = try PasswordHasher().hash("correct horse", using: &random)  // "$scrypt$ln=15,r=8,p=1$...$..."
/// try PasswordHasher().verify("correct horse", against: hash)           // .match(needsRehash: false)
/// ```
public struct PasswordHasher: Sendable {
    /// Parameters for new hashes.
    public var parameters: ScryptParameters

    /// Passwords longer than this are refused (bytes of UTF-8).
    public static let maximumPasswordLength = 1024
    static let saltLength = 16
    static let hashLength = 32

    public init(parameters: ScryptParameters = .default) {
        self.parameters = parameters
    }

    /// A new scrypt hash of `password` with a random salt.
    public func hash(_ password: String, using generator: inout some RandomNumberGenerator) throws -> String {
        try Self.checkLength(password)
        let salt = SecretGenerator.makeSecret(byteCount: Self.saltLength, using: &generator)
        let derived = try Self.scrypt(password, salt: salt, parameters: parameters)
        return "$scrypt$ln=\(parameters.logN),r=\(parameters.blockSize),p=\(parameters.parallelism)$"
            + Base64.encode(salt, padding: false) + "$" + Base64.encode(derived, padding: false)
    }

    /// Checks `password` against a stored scrypt or bcrypt (`$2a$`, `$2b$`, `$2y$`) hash.
    /// - Throws: ``CoreError/Code/invalidPasswordHash`` when the stored hash is in no known format.
    public func verify(_ password: String, against storedHash: String) throws -> PasswordCheck {
        guard password.utf8.count <= Self.maximumPasswordLength else { return .mismatch }
        if storedHash.hasPrefix("$scrypt$") {
            let stored = try ScryptHash(parsing: storedHash)
            let derived = try Self.scrypt(password, salt: stored.salt, parameters: stored.parameters, length: stored.hash.count)
            guard ConstantTime.equals(derived, stored.hash) else { return .mismatch }
            return .match(needsRehash: stored.parameters != parameters || stored.hash.count != Self.hashLength)
        }
        if let bcrypt = Self.normalizedBcrypt(storedHash) {
            return Bcrypt.verify(password, hash: bcrypt) ? .match(needsRehash: true) : .mismatch
        }
        if let matches = LegacyHtpasswdHash.verify(password, against: storedHash) {
            return matches ? .match(needsRehash: true) : .mismatch
        }
        throw CoreError(.invalidPasswordHash, "The stored password hash is in an unknown format; supported are $scrypt$ (PHC) and bcrypt ($2a$, $2b$, $2y$). Set a new password with: portcullis user passwd NAME")
    }

    /// Whether `storedHash` is a scrypt hash with this hasher's parameters (as costly as a new one).
    public func isDefaultStrength(_ storedHash: String) -> Bool {
        guard let stored = try? ScryptHash(parsing: storedHash) else { return false }
        return stored.parameters == parameters
    }

    /// Whether `storedHash` is in a format ``verify(_:against:)`` understands (weak legacy ones included).
    public static func isSupported(_ storedHash: String) -> Bool {
        isStrong(storedHash) || LegacyHtpasswdHash.isLegacy(storedHash)
    }

    /// Whether `storedHash` is scrypt or bcrypt, the formats worth keeping.
    public static func isStrong(_ storedHash: String) -> Bool {
        (try? ScryptHash(parsing: storedHash)) != nil || normalizedBcrypt(storedHash) != nil
    }

    /// bcrypt hashes as `$2b$`: `$2y$` (PHP, htpasswd) and `$2a$` use the same algorithm for these inputs.
    static func normalizedBcrypt(_ hash: String) -> String? {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, hash.hasPrefix("$2a$") || hash.hasPrefix("$2b$") || hash.hasPrefix("$2y$"),
              bytes[6] == UInt8(ascii: "$"),
              let cost = Int(String(decoding: bytes[4..<6], as: UTF8.self)), (4...31).contains(cost)
        else { return nil }
        return hash.hasPrefix("$2y$") ? "$2b$" + hash.dropFirst(4) : hash
    }

    static func checkLength(_ password: String) throws {
        guard !password.isEmpty else { throw CoreError(.invalidPassword, "The password is empty.") }
        guard password.utf8.count <= maximumPasswordLength else {
            throw CoreError(.invalidPassword, "The password is longer than \(maximumPasswordLength) bytes.")
        }
    }

    static func scrypt(_ password: String, salt: [UInt8], parameters: ScryptParameters, length: Int = hashLength) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: length,
            rounds: 1 << parameters.logN, blockSize: parameters.blockSize, parallelism: parameters.parallelism
        )
        return key.withUnsafeBytes { Array($0) }
    }
}

/// A parsed `$scrypt$ln=…,r=…,p=…$salt$hash` string.
struct ScryptHash {
    let parameters: ScryptParameters
    let salt: [UInt8]
    let hash: [UInt8]

    init(parsing text: String) throws {
        let invalid = CoreError(.invalidPasswordHash, "The stored scrypt hash is malformed; expected $scrypt$ln=N,r=R,p=P$salt$hash.")
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "scrypt" else { throw invalid }
        var values: [Substring: Int] = [:]
        for field in parts[2].split(separator: ",") {
            let (name, value) = field.splitOnce("=")
            guard let value, let number = Int(value), values[name] == nil else { throw invalid }
            values[name] = number
        }
        guard values.count == 3, let logN = values["ln"], let r = values["r"], let p = values["p"],
              ScryptParameters.logNRange.contains(logN), ScryptParameters.blockSizeRange.contains(r),
              ScryptParameters.parallelismRange.contains(p),
              let salt = Base64.decode(parts[3]), (4...64).contains(salt.count),
              let hash = Base64.decode(parts[4]), (16...64).contains(hash.count)
        else { throw invalid }
        self.parameters = ScryptParameters(logN: logN, blockSize: r, parallelism: p)
        self.salt = salt
        self.hash = hash
    }
}
