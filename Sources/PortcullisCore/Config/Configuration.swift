/// Portcullis's settings, read from YAML and environment variables by ``ConfigurationLoader``.
///
/// Every key has a default, so an empty configuration is valid: data lives in `./portcullis-data/`.
public struct Configuration: Sendable, Equatable {
    /// `storage.sqlite.path`: the SQLite database file.
    public var sqlitePath: String = "portcullis-data/portcullis.sqlite3"
    /// `storage.encryption_key_file`: the file holding the key OTP secrets are encrypted with.
    /// When nil, `storage.key` beside the database. `PORTCULLIS_STORAGE_ENCRYPTION_KEY` (the key itself)
    /// takes precedence over any file.
    public var encryptionKeyFile: String?
    /// `storage.encryption_key`: the key itself (from the environment or `..._FILE`; never put it in the YAML file).
    public var encryptionKey: String?
    /// `totp.issuer`: the name authenticator apps show above the code.
    public var totpIssuer: String = "Portcullis"
    /// `totp.skew`: steps accepted either side of the current one.
    public var totpSkew: Int = 1
    /// `totp.algorithm`, `totp.digits`, `totp.period`: parameters of new TOTP devices.
    public var totpAlgorithm: OTPAlgorithm = .sha1
    public var totpDigits: Int = 6
    public var totpPeriod: Int = 30
    /// `hotp.look_ahead`: how many counters ahead an HOTP code may be.
    public var hotpLookAhead: Int = 4

    public init() {}

    /// The key file actually used: the configured one, or `storage.key` beside the database.
    public var resolvedKeyFile: String {
        if let encryptionKeyFile { return encryptionKeyFile }
        let directory = sqlitePath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return (directory.isEmpty ? "" : directory + "/") + "storage.key"
    }

    /// The folder of the database file ("." when it has none).
    public var dataDirectory: String {
        let directory = sqlitePath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return directory.isEmpty ? (sqlitePath.hasPrefix("/") ? "/" : ".") : directory
    }
}
