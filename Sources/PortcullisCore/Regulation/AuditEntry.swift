/// One line of the audit trail: who did what, from where, and why it failed if it did.
/// Never holds a password, a code or a secret.
public struct AuditEntry: Sendable, Equatable, Codable {
    /// What happened.
    public enum Event: String, Sendable, Codable, CaseIterable {
        case loginSucceeded = "login_succeeded"
        case loginFailed = "login_failed"
        case logout
        case sessionRevoked = "session_revoked"
        case banned
        case locked
        case unlocked
        case banRemoved = "ban_removed"
        // What administrators change with the command line (client address "", the reason names
        // the command and who ran it).
        case userAdded = "user_added"
        case userRemoved = "user_removed"
        case userDisabled = "user_disabled"
        case userEnabled = "user_enabled"
        case passwordChanged = "password_changed"
        case deviceAdded = "device_added"
        case deviceRemoved = "device_removed"
        case appPasswordAdded = "app_password_added"
        case appPasswordRemoved = "app_password_removed"
        case keyRotated = "key_rotated"
        case imported
        case recoveryCodesMade = "recovery_codes_made"
        /// `user invite` or `user reset-otp` made a link.
        case invited
        /// A person completed an invitation's page (the reason says `enroll` or `reset_otp`).
        case enrolled
        /// A device was renamed on the account page.
        case deviceRenamed = "device_renamed"
    }

    public var time: Int64
    public var event: Event
    /// The user name as typed or as known; "" when none applies.
    public var userName: String
    /// The client's address; "" for actions from the command line.
    public var clientIP: String
    /// For failures: `unknown_user`, `bad_password`, `bad_otp`, `replayed_otp`, `banned`, `locked`,
    /// `user_disabled`, `no_otp_device`; for other events a short detail, or "".
    public var reason: String

    public init(time: Int64, event: Event, userName: String, clientIP: String, reason: String = "") {
        self.time = time
        self.event = event
        self.userName = userName
        self.clientIP = clientIP
        self.reason = reason
    }
}
