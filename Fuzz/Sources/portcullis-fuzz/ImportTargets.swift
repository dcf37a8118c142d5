import PortcullisCore

/// Each importer's format. Whatever the file says, a plan holds only devices the store would accept.
let importTargets: [FuzzTarget] = [
    FuzzTarget(name: "import-mod-authn-otp") { bytes in
        checkPlan(ModAuthnOTPImporter.plan(usersFile: text(bytes), pinHashes: ["carol": bcryptHash]))
    },
    FuzzTarget(name: "import-htpasswd") { bytes in
        checkPlan(HtpasswdImporter.plan(text(bytes), allowWeak: bytes.first.map { $0 & 1 == 1 } ?? false))
    },
    FuzzTarget(name: "import-caddyfile") { bytes in
        for (user, hash) in CaddyfileBasicAuth.hashes(text(bytes)) {
            require(PasswordHasher.isStrong(hash), "user \(user) got a weak hash")
        }
    },
    FuzzTarget(name: "import-caddy-totp") { bytes in
        checkPlan(CaddyBasicAuthTOTPImporter.plan(secretsJSON: text(bytes), hashes: ["alice": bcryptHash, "bob": bcryptHash]))
    },
    FuzzTarget(name: "import-simpleotp") { bytes in
        checkPlan(SimpleOTPImporter.plan(secretFile: text(bytes), user: "alice"))
    },
    // Seeds as `id|secret` lines (an id that is not a whole number is nil, as a REAL or text id is).
    FuzzTarget(name: "import-forward-auth-totp") { bytes in
        let seeds = text(bytes).split(separator: "\n").map { line -> (id: Int64?, secret: String) in
            let (id, secret) = line.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).pairOfStrings
            return (Int64(id), secret)
        }
        checkPlan(ForwardAuthTOTPImporter.plan(seeds: seeds, names: [1: "alice", 2: "bob"]))
    },
    FuzzTarget(name: "import-otpauth") { bytes in
        checkPlan(OTPAuthImporter.plan(text(bytes)))
    },
]

/// A bcrypt hash (of "password", cost 5) standing for the users' hashes from an htpasswd file.
private let bcryptHash = "$2y$05$abcdefghijklmnopqrstuu5s2v8.iWn6p4fkjKu4B5tmv5Yt/qTfC"

/// Every device of the plan is one the store accepts, with its state within bounds; names and labels are unique.
private func checkPlan(_ plan: ImportPlan) {
    require(Set(plan.users.map { $0.name.lowercased() }).count == plan.users.count, "a user name twice")
    for user in plan.users {
        require(!user.name.isEmpty, "a user without a name")
        require((0...1_000_000).contains(user.otpFailures), "\(user.otpFailures) failures carried over")
        require(Set(user.devices.map { $0.label.lowercased() }).count == user.devices.count, "a label twice for \(user.name)")
        for device in user.devices {
            require((try? device.parameters.validate()) != nil, "device parameters \(device.parameters)")
            require(ImportPlan.Device.allowedSecretBytes(for: device.parameters.type).contains(device.secret.count), "a secret of \(device.secret.count) bytes")
            require(device.parameters.type != .motp || !(device.pin ?? "").isEmpty, "an mOTP device without a PIN")
            if device.parameters.type == .hotp {
                require((-1..<OTPDeviceState.maximumCounter).contains(device.state.lastAccepted), "HOTP state \(device.state.lastAccepted)")
            }
            require(device.state.drift.magnitude <= UInt(OTPDeviceState.maximumDrift), "drift \(device.state.drift)")
        }
    }
}
