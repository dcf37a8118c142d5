/// The factors a session or a credential passed. The raw value is what the store keeps
/// (`sessions.auth_level`, `app_passwords.auth_level`).
///
/// ```swift
/// AuthLevel.password.satisfies(.oneFactor, mode: .passwordAndOTP)   // true
/// AuthLevel.password.satisfies(.twoFactor, mode: .passwordAndOTP)   // false: the login page asks for the code
/// AuthLevel.code.satisfies(.twoFactor, mode: .otpOnly)              // true: there a code counts as both
/// ```
public enum AuthLevel: Int, Sendable, CaseIterable {
    /// A one-time code alone (`auth.mode: otp_only`).
    case code = 1
    /// The password and a one-time code.
    case passwordAndCode = 2
    /// The password alone, for an address whose rule is `one_factor`.
    case password = 3

    /// The level stored as `value`; a value this version does not know counts as the weakest.
    public init(stored value: Int) {
        self = AuthLevel(rawValue: value) ?? .password
    }

    /// Whether it opens an address whose policy is `policy` under `mode` (in `otp_only` mode a code
    /// counts as both factors, as the single-secret gates it replaces do).
    public func satisfies(_ policy: AccessPolicy, mode: AuthMode) -> Bool {
        switch policy {
        case .bypass, .oneFactor: true
        case .twoFactor: self == .passwordAndCode || (self == .code && mode == .otpOnly)
        case .deny: false
        }
    }

    /// Whether a session of this level reaches two factors by giving a code alone (step-up): only
    /// one that proved the password. (A code-only session of `otp_only` mode never does: after a
    /// switch to `password_and_otp` it would count as two factors without a password ever checked.)
    public var stepsUpWithCode: Bool { self == .password }

    /// How `portcullis session list` and the audit name it.
    public var name: String {
        switch self {
        case .code: "code"
        case .passwordAndCode: "password+code"
        case .password: "password"
        }
    }
}
