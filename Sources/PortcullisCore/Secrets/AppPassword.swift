import Crypto

/// A long random password for one device that cannot produce codes (a WebDAV client, a phone's
/// calendar): 160 random bits as 32 lowercase Base32 characters, in groups of four.
///
/// Because it is random and long, a fast hash is enough to store it (like session ids): the store
/// keeps SHA-256 of it, and checking one costs microseconds, not a password hash.
public struct AppPassword: Sendable, Equatable {
    public let text: String

    public static let byteCount = 20

    /// A new app password.
    public static func generate(using generator: inout some RandomNumberGenerator) -> AppPassword {
        let encoded = Base32.encode(SecretGenerator.makeSecret(byteCount: byteCount, using: &generator)).lowercased()
        let groups = stride(from: 0, to: encoded.count, by: 4).map { start in
            String(encoded.dropFirst(start).prefix(4))
        }
        return AppPassword(text: groups.joined(separator: "-"))
    }

    public init(text: String) {
        self.text = text
    }

    /// What the store keeps: SHA-256 of the password without its dashes, in lower case.
    public var storageHash: [UInt8] { Self.storageHash(of: text) }

    /// SHA-256 of `candidate` as an app password would be stored (dashes and case ignored).
    public static func storageHash(of candidate: String) -> [UInt8] {
        let normalized = candidate.lowercased().filter { $0 != "-" }
        return Array(SHA256.hash(data: Array(normalized.utf8)))
    }

    /// Whether `candidate` has the shape of an app password (so a typed password is not looked up needlessly).
    public static func looksLikeOne(_ candidate: String) -> Bool {
        let normalized = candidate.lowercased().filter { $0 != "-" }
        return normalized.count == 32 && normalized.allSatisfy { ("a"..."z").contains($0) || ("2"..."7").contains($0) }
    }
}
