public import PortcullisCore

extension Vault {
    /// The plan's user names that exist already (an import would stop on them).
    public func conflicts(in plan: ImportPlan) async throws -> [String] {
        var taken: [String] = []
        for user in plan.users where try await store.user(named: user.name) != nil { taken.append(user.name) }
        return taken
    }

    /// Creates the plan's users in one transaction: passwords hashed, secrets and PINs encrypted under
    /// the storage key like any other. All or nothing.
    /// - Returns: how many users were created.
    public func importPlan(_ plan: ImportPlan, at unixTime: Int64) async throws -> Int {
        var random = SystemRandomNumberGenerator()
        var records: [ImportedUserRecord] = []
        for user in plan.users {
            var record = UserRecord(name: user.name, passwordHash: user.passwordHash, createdAt: unixTime)
            if let password = user.password { record.passwordHash = try await hashPassword(password) }
            let devices = user.devices.map { device in
                let id = Hex.encode(SecretGenerator.makeSecret(byteCount: 16, using: &random))
                return OTPDeviceRecord(
                    id: id, userID: 0, label: device.label, parameters: device.parameters,
                    sealedSecret: box.seal(device.secret, context: OTPDeviceRecord.secretContext(deviceID: id), using: &random),
                    sealedPIN: device.pin.map { box.seal(Array($0.utf8), context: OTPDeviceRecord.pinContext(deviceID: id), using: &random) },
                    state: device.state, createdAt: unixTime, lastUsedAt: device.lastUsedAt
                )
            }
            records.append(ImportedUserRecord(user: record, devices: devices, otpFailures: user.otpFailures))
        }
        return try await store.importUsers(records)
    }
}
