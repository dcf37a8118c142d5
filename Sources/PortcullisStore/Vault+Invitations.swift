public import PortcullisCore

/// Invitations: `portcullis user invite` and `user reset-otp` make them; the portal's `/enroll`
/// page opens and completes them.
extension Vault {
    /// The longest an invitation may last: 30 days.
    public static let maximumInvitationLifetime: Int64 = 30 * 86_400

    /// Makes an invitation for `user` lasting `lifetime` seconds; the user's earlier invitations stop
    /// working. Returns the link's token (256 random bits, base64url), which is never stored.
    public func invite(_ user: UserRecord, kind: InvitationRecord.Kind, lifetime: Int64, at now: Int64) async throws -> (token: String, invitation: InvitationRecord) {
        guard (1...Self.maximumInvitationLifetime).contains(lifetime) else {
            throw StoreError(.invalidInput, "An invitation lasts from 1 second to 30 days (720h).")
        }
        var random = SystemRandomNumberGenerator()
        let token = SessionToken.generate(using: &random)
        let record = InvitationRecord(tokenHash: token.storageHash, userID: user.id, kind: kind, createdAt: now, expiresAt: now.addingSaturating(lifetime))
        try await store.createInvitation(record)
        return (token.cookieValue, record)
    }

    /// The invitation of a link's token and its user, unless the token is malformed, unknown, used,
    /// voided or expired, or the user is disabled (all give nil, after the same single lookup).
    public func openInvitation(token: String, at now: Int64) async throws -> (InvitationRecord, UserRecord)? {
        // A malformed token is looked up too (as a hash nothing has), so it takes the same path.
        let hash = SessionToken(cookieValue: token.prefix(64))?.storageHash ?? Array(repeating: 0, count: 32)
        return try await store.invitation(tokenHash: hash, at: now)
    }

    /// Completes an invitation whose device was confirmed with a code: stores the device with
    /// `secret` (the confirming code recorded as used in `state`), the password (an enrolment) and
    /// new recovery codes, in one transaction.
    /// - Returns: the recovery codes, shown once; nil when the link was used or voided meanwhile.
    /// - Throws: ``StoreError/Code/busy`` when the password hash queue is full,
    ///   ``StoreError/Code/duplicate`` when the user has a device with this label.
    public func completeInvitation(_ invitation: InvitationRecord, password: String?, secret: [UInt8], deviceLabel: String, parameters: OTPParameters,
                                   state: OTPDeviceState, at now: Int64) async throws -> [String]? {
        var passwordHash: String?
        if let password { passwordHash = try await hashNewPassword(password) }
        let device = sealedDevice(userID: invitation.userID, label: deviceLabel, parameters: parameters, secret: secret, state: state, at: now)
        let (codes, hashes) = try await newRecoveryCodes()
        let completion = InvitationCompletion(tokenHash: invitation.tokenHash, userID: invitation.userID, newPasswordHash: passwordHash,
                                              device: device, replacesDevices: invitation.kind == .resetOTP, recoveryCodeHashes: hashes)
        return try await store.completeInvitation(completion, at: now) ? codes : nil
    }
}
