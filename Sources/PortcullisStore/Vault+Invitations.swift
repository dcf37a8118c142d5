public import PortcullisCore

/// An invitation opened by its link: who it is for, and the secret of the device it sets up.
public struct OpenedInvitation: Sendable {
    public let record: InvitationRecord
    public let user: UserRecord
    /// The TOTP secret the page shows as a QR code and as text.
    public let secret: [UInt8]
}

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
        let hash = token.storageHash
        let secret = SecretGenerator.makeSecret(using: &random)
        let record = InvitationRecord(tokenHash: hash, userID: user.id, kind: kind,
                                      sealedSecret: box.seal(secret, context: InvitationRecord.secretContext(tokenHash: hash), using: &random),
                                      createdAt: now, expiresAt: now.addingSaturating(lifetime))
        try await store.createInvitation(record)
        return (token.cookieValue, record)
    }

    /// The invitation of a link's token, unless the token is malformed, unknown, used, voided or
    /// expired (all give nil, after the same single lookup).
    /// - Throws: ``StoreError/Code/storageKey`` when its secret does not open with the storage key.
    public func openInvitation(token: String, at now: Int64) async throws -> OpenedInvitation? {
        // A malformed token is looked up too (as a hash nothing has), so it takes the same path.
        let hash = SessionToken(cookieValue: token.prefix(64))?.storageHash ?? Array(repeating: 0, count: 32)
        guard let (record, user) = try await store.invitation(tokenHash: hash, at: now) else { return nil }
        let context = InvitationRecord.secretContext(tokenHash: record.tokenHash)
        if let secret = try? box.open(record.sealedSecret, context: context) { return OpenedInvitation(record: record, user: user, secret: secret) }
        if case .failed(let problem) = try await reloadKey() { throw StoreError(.storageKey, problem) }
        guard let (current, _) = try await store.invitation(tokenHash: hash, at: now) else { return nil }
        do {
            return OpenedInvitation(record: current, user: user, secret: try box.open(current.sealedSecret, context: context))
        } catch let error as CoreError {
            throw StoreError(.storageKey, "The invitation's secret does not open with the store's own key: " + error.message)
        }
    }

    /// Completes an opened invitation whose code was confirmed: stores the device (with the
    /// confirming code recorded as used), the password (an enrolment) and new recovery codes.
    /// - Returns: the recovery codes, shown once; nil when the link was used or voided meanwhile.
    public func completeInvitation(_ invitation: OpenedInvitation, password: String?, deviceLabel: String, parameters: OTPParameters,
                                   state: OTPDeviceState, at now: Int64) async throws -> [String]? {
        let passwordHash = try await password.asyncMap { try await hashPassword($0) }
        let device = sealedDevice(userID: invitation.user.id, label: deviceLabel, parameters: parameters, secret: invitation.secret, state: state, at: now)
        let (codes, hashes) = try await newRecoveryCodes()
        let completion = InvitationCompletion(tokenHash: invitation.record.tokenHash, userID: invitation.user.id, newPasswordHash: passwordHash,
                                              device: device, replacesDevices: invitation.record.kind == .resetOTP, recoveryCodeHashes: hashes)
        return try await store.completeInvitation(completion, at: now) ? codes : nil
    }
}

extension Optional {
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
