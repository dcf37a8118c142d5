import Crypto

/// Stands in for a typed user name that is no user, wherever it would be kept: the regulation
/// counts, bans, the audit trail and the log. People sometimes type their password into the name
/// field; that text must not be written anywhere.
///
/// A pseudonym is stable for a given storage key (so counts and bans keep working across restarts
/// and instances), and does not reveal the name: `~` and 12 hex digits of an HMAC under a key
/// derived from the storage key.
public struct NamePseudonym: Sendable {
    private let key: SymmetricKey

    public init(storageKey: StorageKey) {
        let derived = HMAC<SHA256>.authenticationCode(for: Array("portcullis name pseudonyms v1".utf8), using: storageKey.symmetricKey)
        key = SymmetricKey(data: Array(derived))
    }

    /// The pseudonym of `name` (case-insensitive, as user names are).
    public func of(_ name: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(name.lowercased().utf8), using: key)
        return "~" + Hex.encode(Array(mac.prefix(6)))
    }

    /// Whether a stored name is a pseudonym rather than a user's name (user names cannot start with `~`).
    public static func isPseudonym(_ stored: String) -> Bool { stored.hasPrefix("~") }
}
