public import PortcullisCore

/// One authenticator (app, hardware token, mOTP generator) of a user.
public struct OTPDeviceRecord: Sendable, Equatable {
    /// A random identifier, also bound into the encrypted secret so it cannot move to another row.
    public var id: String
    public var userID: Int64
    /// Unique per user, without regard to case.
    public var label: String
    public var parameters: OTPParameters
    /// The secret, sealed by ``SecretBox`` with ``secretContext``.
    public var sealedSecret: [UInt8]
    /// The mOTP PIN, sealed the same way; nil for other types.
    public var sealedPIN: [UInt8]?
    public var state: OTPDeviceState
    public var createdAt: Int64
    public var lastUsedAt: Int64?

    public init(id: String, userID: Int64, label: String, parameters: OTPParameters, sealedSecret: [UInt8],
                sealedPIN: [UInt8]? = nil, state: OTPDeviceState = OTPDeviceState(), createdAt: Int64, lastUsedAt: Int64? = nil) {
        self.id = id
        self.userID = userID
        self.label = label
        self.parameters = parameters
        self.sealedSecret = sealedSecret
        self.sealedPIN = sealedPIN
        self.state = state
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }

    /// The associated data the secret is sealed with.
    public static func secretContext(deviceID: String) -> String { "portcullis otp secret " + deviceID }
    /// The associated data the mOTP PIN is sealed with.
    public static func pinContext(deviceID: String) -> String { "portcullis motp pin " + deviceID }

    public static let maximumLabelLength = 64
    /// Characters that reorder text around them (a label could pose as another in lists and logs).
    static let bidiControls: Set<UInt32> = [0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069]

    /// Throws ``StoreError/Code/invalidInput`` when the label is empty, too long, or has control characters.
    public static func validateLabel(_ label: String) throws {
        guard !label.isEmpty, label.utf8.count <= maximumLabelLength,
              !label.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || bidiControls.contains($0.value) }) else {
            throw StoreError(.invalidInput, "The device label '\(label)' is not allowed; use 1–\(maximumLabelLength) printable characters.")
        }
    }
}
