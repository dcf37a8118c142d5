import PortcullisCore

/// Parsers of secrets and devices: otpauth URIs, Base32, hex, Base64, and the code check itself.
let secretTargets: [FuzzTarget] = [
    // otpauth:// URIs (enrolment, imports): parse → render → parse gives the same device.
    FuzzTarget(name: "otpauth") { bytes in
        guard let uri = try? OTPAuthURI(parsing: text(bytes)) else { return }
        require((try? uri.parameters.validate()) != nil, "parsed parameters \(uri.parameters) are not valid")
        require(uri.counter <= UInt64(OTPDeviceState.maximumCounter), "counter \(uri.counter)")
        require(!uri.account.isEmpty, "no account")
        do {
            let again = try OTPAuthURI(parsing: uri.string)
            require(again == uri, "\(uri.string) reads back as another device")
        } catch {
            require(false, "\(uri.string), written by Portcullis, cannot be read back: \(error)")
        }
    },
    FuzzTarget(name: "base32") { bytes in
        if let decoded = try? Base32.decode(text(bytes)) {
            require((try? Base32.decode(Base32.encode(decoded))) == decoded, "decoded bytes do not survive re-encoding")
        }
        if bytes.count <= Base32.maximumInputLength * 5 / 8 {
            require((try? Base32.decode(Base32.encode(bytes))) == bytes || bytes.isEmpty, "bytes do not survive encoding")
        }
    },
    FuzzTarget(name: "hex") { bytes in
        if let decoded = try? Hex.decode(text(bytes)) {
            require((try? Hex.decode(Hex.encode(decoded))) == decoded, "decoded bytes do not survive re-encoding")
        }
        if bytes.count <= 512 {
            require((try? Hex.decode(Hex.encode(bytes))) == bytes || bytes.isEmpty, "bytes do not survive encoding")
        }
    },
    FuzzTarget(name: "base64") { bytes in
        if let decoded = Base64.decode(text(bytes)) {
            require(Base64.decode(Base64.encode(decoded)) == decoded, "decoded bytes do not survive re-encoding")
        }
        require(Base64.decode(Base64.encode(bytes)) == bytes, "bytes do not survive encoding")
    },
    // The code check, with any stored state and parameters (the store could hold anything): it never
    // traps, accepts only codes of the window, and never accepts an HOTP counter past the maximum.
    FuzzTarget(name: "otp-verify") { bytes in
        var reader = ByteReader(bytes)
        let type = OTPType.allCases[Int(reader.byte()) % OTPType.allCases.count]
        let algorithm = OTPAlgorithm.allCases[Int(reader.byte()) % OTPAlgorithm.allCases.count]
        let choice = reader.byte()
        // Mostly plausible parameters, sometimes any at all.
        let digits = choice & 1 == 0 ? 6 + Int(reader.byte() % 5) : Int(truncatingIfNeeded: reader.int64())
        let period = choice & 2 == 0 ? 1 + Int(reader.byte()) : Int(truncatingIfNeeded: reader.int64())
        let state = OTPDeviceState(lastAccepted: reader.int64(), drift: Int(truncatingIfNeeded: reader.int64()))
        let now = reader.int64()
        let verifier = OTPVerifier(timeSkew: Int(reader.byte() % 4), counterLookAhead: Int(reader.byte() % 8), maximumDrift: Int(reader.byte() % 16))
        var parameters = OTPParameters(type: type, algorithm: algorithm, digits: digits, period: period)
        parameters.period = period
        let secret = Array(reader.rest.prefix(20))
        let typed: String
        if choice & 4 == 0, (try? parameters.validate()) != nil {
            // The device's code for a step or counter near the expected one, so acceptance is reached.
            let base = type == .hotp ? state.lastAccepted : TOTP.step(at: now, period: parameters.period)
            let target = base.addingSaturating(Int64(Int8(bitPattern: reader.byte())) % 8)
            typed = OTPVerifier.code(for: target, secret: secret, parameters: parameters, pin: "1234")
        } else {
            typed = text(reader.rest)
        }
        let verdict = verifier.verify(code: typed, secret: secret, parameters: parameters, state: state, at: now, pin: "1234")
        guard case .accepted(let acceptance) = verdict else { return }
        require(acceptance.matched > state.lastAccepted, "accepted step \(acceptance.matched) is not after \(state.lastAccepted)")
        require(type != .hotp || acceptance.matched <= OTPDeviceState.maximumCounter, "accepted counter \(acceptance.matched)")
        require(OTPVerifier.code(for: acceptance.matched, secret: secret, parameters: parameters, pin: "1234") == typed.trimmingASCIIWhitespace().lowercased(),
                "the accepted step does not produce the code")
        require(acceptance.drift.magnitude <= UInt(2 * OTPVerifier.maximumWindow + 1), "drift \(acceptance.drift)")
    },
]
