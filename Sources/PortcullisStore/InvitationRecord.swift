/// A one-time link that lets a person set up their own login: choose a password, add an
/// authenticator app (confirmed with one code), receive recovery codes.
///
/// Only the SHA-256 of the link's token is kept. The secret of the app to be added is made anew each
/// time the page is shown and travels in the form, sealed under the storage key and bound to the
/// token's hash: someone who saw the link earlier (a mail scanner, a proxy log) does not learn it.
public struct InvitationRecord: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// `portcullis user invite`: the person chooses a password and adds their first device.
        case enroll
        /// `portcullis user reset-otp`: the person proves their password and replaces every device.
        case resetOTP = "reset_otp"
    }

    /// SHA-256 of the link's token.
    public var tokenHash: [UInt8]
    public var userID: Int64
    public var kind: Kind
    public var createdAt: Int64
    /// The link works until this time (exclusive), seconds since 1970.
    public var expiresAt: Int64

    public init(tokenHash: [UInt8], userID: Int64, kind: Kind, createdAt: Int64, expiresAt: Int64) {
        self.tokenHash = tokenHash
        self.userID = userID
        self.kind = kind
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// What completing an invitation writes, all in one transaction.
public struct InvitationCompletion: Sendable {
    public var tokenHash: [UInt8]
    public var userID: Int64
    /// The password the person chose (an enrolment), or nil to keep the user's password (a reset).
    public var newPasswordHash: String?
    /// The device confirmed with a code (its state already records that code as used).
    public var device: OTPDeviceRecord
    /// Whether the user's other devices are removed (a reset) and their sessions end.
    public var replacesDevices: Bool
    /// Hashes of the new recovery codes; they replace the user's old ones.
    public var recoveryCodeHashes: [[UInt8]]

    public init(tokenHash: [UInt8], userID: Int64, newPasswordHash: String?, device: OTPDeviceRecord, replacesDevices: Bool, recoveryCodeHashes: [[UInt8]]) {
        self.tokenHash = tokenHash
        self.userID = userID
        self.newPasswordHash = newPasswordHash
        self.device = device
        self.replacesDevices = replacesDevices
        self.recoveryCodeHashes = recoveryCodeHashes
    }
}

/// Invitations: made by the CLI, opened and completed by the portal.
public protocol InvitationStore: Sendable {
    /// Stores an invitation; the user's earlier invitations stop working, in the same transaction.
    func createInvitation(_ invitation: InvitationRecord) async throws
    /// The invitation with this token hash and its user, unless it is unknown, used, voided,
    /// expired at `unixTime`, or its user is disabled — one indexed lookup whatever the reason, so
    /// none takes longer.
    func invitation(tokenHash: [UInt8], at unixTime: Int64) async throws -> (InvitationRecord, UserRecord)?
    /// Uses up the invitation and writes what it sets up, atomically: of two pages racing with one
    /// link, one wins. A new password ends the user's sessions; replaced devices end them too.
    /// - Returns: false (and writes nothing) when the invitation was used, voided or has expired, or
    ///   its user is disabled. Throws ``StoreError/Code/duplicate`` (writing nothing) when the user
    ///   has a device with the new one's label.
    func completeInvitation(_ completion: InvitationCompletion, at unixTime: Int64) async throws -> Bool
    /// Forgets invitations that expired before `unixTime`. Returns how many went.
    func purgeInvitations(before unixTime: Int64) async throws -> Int
}
