/// The one error type of PortcullisCore.
///
/// Every error carries a stable ``Code`` that callers can match on and a message written for the
/// person who has to fix the input: it names what was wrong and, where it can, what is allowed.
///
/// ```swift
/// do { _ = try Base32.decode("not base32!") }
/// catch let error as CoreError where error.code == .invalidSecret { print(error.message) }
/// ```
public struct CoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A stable identifier of the kind of error. New codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// A secret that is not valid Base32 or hex, or is too short or too long.
        public static let invalidSecret = Code(name: "invalid_secret")
        /// OTP parameters (digits, period, algorithm, window) outside what is supported.
        public static let invalidOTPParameters = Code(name: "invalid_otp_parameters")
        /// An `otpauth://` URI that cannot be parsed.
        public static let invalidOTPAuthURI = Code(name: "invalid_otpauth_uri")
        /// Data that does not fit in the largest QR code.
        public static let qrCapacityExceeded = Code(name: "qr_capacity_exceeded")
        /// A password hash string in an unknown or malformed format.
        public static let invalidPasswordHash = Code(name: "invalid_password_hash")
        /// A password that may not be used (empty, too long).
        public static let invalidPassword = Code(name: "invalid_password")
        /// A storage key that is malformed, or that does not open the data it should.
        public static let invalidStorageKey = Code(name: "invalid_storage_key")
        /// A configuration file or value that is not valid.
        public static let invalidConfiguration = Code(name: "invalid_configuration")
        /// An access rule (`access_control.*`) that cannot be used: a pattern outside the supported
        /// subset, an unknown policy, method or network.
        public static let invalidAccessRule = Code(name: "invalid_access_rule")
        /// Input beyond what Portcullis reads: too long, nested too deep, or expanding too far.
        public static let inputOutOfBounds = Code(name: "input_out_of_bounds")
    }

    /// What kind of error this is.
    public let code: Code
    /// A sentence for the user that says what is wrong and what is allowed.
    public let message: String

    /// Creates an error of the given kind.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
