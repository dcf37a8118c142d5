/// What an importer found in another system's files: users to create, and what it skips and why.
/// Pure data: the importers only read text; the vault creates everything in one transaction.
public struct ImportPlan: Sendable, Equatable {
    /// A user to create.
    public struct User: Sendable, Equatable {
        public var name: String
        /// A hash to keep as is (bcrypt, scrypt).
        public var passwordHash: String?
        /// A password to hash (mod_authn_otp's literal PINs).
        public var password: String?
        public var devices: [Device]
        /// Consecutive wrong codes carried over (mod_authn_otp's failure count).
        public var otpFailures: Int

        public init(name: String, passwordHash: String? = nil, password: String? = nil, devices: [Device] = [], otpFailures: Int = 0) {
            self.name = name
            self.passwordHash = passwordHash
            self.password = password
            self.devices = devices
            self.otpFailures = otpFailures
        }
    }

    /// An OTP device of an imported user.
    public struct Device: Sendable, Equatable {
        public var label: String
        public var parameters: OTPParameters
        public var secret: [UInt8]
        /// mOTP only.
        public var pin: String?
        /// The last accepted step or counter and the drift.
        public var state: OTPDeviceState
        public var lastUsedAt: Int64?

        /// The secret lengths, in bytes, a device may have: 80 to 1024 bits (mOTP apps use 64), as the
        /// vault requires of devices added one by one.
        public static func allowedSecretBytes(for type: OTPType) -> ClosedRange<Int> {
            type == .motp ? 8...128 : 10...128
        }

        public init(label: String, parameters: OTPParameters, secret: [UInt8], pin: String? = nil, state: OTPDeviceState = OTPDeviceState(), lastUsedAt: Int64? = nil) {
            self.label = label
            self.parameters = parameters
            self.secret = secret
            self.pin = pin
            self.state = state
            self.lastUsedAt = lastUsedAt
        }
    }

    /// Something not imported: where it was and why.
    public struct Skipped: Sendable, Equatable {
        public var location: String
        public var reason: String

        public init(location: String, reason: String) {
            self.location = location
            self.reason = reason
        }
    }

    public var users: [User] = []
    public var skipped: [Skipped] = []

    public init(users: [User] = [], skipped: [Skipped] = []) {
        self.users = users
        self.skipped = skipped
    }

    /// Adds a device to the user of that name, creating the user when new.
    mutating func add(_ device: Device, to name: String, passwordHash: String? = nil, password: String? = nil, otpFailures: Int = 0) {
        if let index = users.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) {
            var device = device
            let labels = Set(users[index].devices.map { $0.label.lowercased() })
            var suffix = 2
            while labels.contains(device.label.lowercased()) {
                device.label = "\(device.label)-\(suffix)"
                suffix += 1
            }
            users[index].devices.append(device)
            users[index].otpFailures = max(users[index].otpFailures, otpFailures)
        } else {
            users.append(User(name: name, passwordHash: passwordHash, password: password, devices: [device], otpFailures: otpFailures))
        }
    }
}
