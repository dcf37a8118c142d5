/// Reads an htpasswd file (`user:hash` lines, as `htpasswd -B` writes them). bcrypt hashes are kept
/// as they are (they are upgraded to scrypt at the next login). Weaker schemes (apr1, SHA) are
/// skipped, naming the users, unless `allowWeak`: then they are kept and replaced by scrypt at the
/// user's next good login. crypt and plain text are always skipped.
public enum HtpasswdImporter {
    public static func hashes(_ text: String, allowWeak: Bool = false) -> (hashes: [String: String], skipped: [ImportPlan.Skipped]) {
        var hashes: [String: String] = [:]
        var seen: [String: String] = [:]
        var skipped: [ImportPlan.Skipped] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingASCIIWhitespace()
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let parts = line.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                skipped.append(.init(location: "line \(number + 1)", reason: "not user:hash"))
                continue
            }
            let weakButAllowed = allowWeak && LegacyHtpasswdHash.isLegacy(parts[1])
            guard PasswordHasher.isStrong(parts[1]) || weakButAllowed else {
                let scheme = parts[1].hasPrefix("$apr1$") ? "an apr1 (MD5)" : parts[1].hasPrefix("{SHA}") ? "a SHA-1" : "a crypt or plain-text"
                let fix = LegacyHtpasswdHash.isLegacy(parts[1]) ? "import with --allow-weak to replace it at the next login, or " : ""
                skipped.append(.init(location: "line \(number + 1)", reason: "user \(parts[0]): \(scheme) hash, which is too weak to keep; \(fix)set a bcrypt one with htpasswd -B"))
                continue
            }
            // User names are case-insensitive: a second line for the same name (in any case) would
            // make the all-or-nothing import fail; the first one is kept and the others are named.
            if let first = seen[parts[0].lowercased()] {
                skipped.append(.init(location: "line \(number + 1)", reason: "user \(parts[0]): the same name as \(first) on an earlier line (names ignore case); kept the first"))
                continue
            }
            seen[parts[0].lowercased()] = parts[0]
            hashes[parts[0]] = parts[1]
        }
        return (hashes, skipped)
    }

    /// Users with their password hashes and no devices (add them with `portcullis user otp add`).
    public static func plan(_ text: String, allowWeak: Bool = false) -> ImportPlan {
        let (hashes, skipped) = hashes(text, allowWeak: allowWeak)
        return ImportPlan(users: hashes.sorted { $0.key < $1.key }.map { ImportPlan.User(name: $0.key, passwordHash: $0.value) }, skipped: skipped)
    }
}

/// Reads the `basic_auth` (or `basicauth`) blocks of a Caddyfile: `user hash` lines. Older Caddy 2
/// versions wrote the bcrypt hash Base64-encoded (`JDJhJDE0JE…`); those are decoded.
public enum CaddyfileBasicAuth {
    public static func hashes(_ text: String) -> [String: String] {
        var hashes: [String: String] = [:]
        var depth = 0
        var inside: Int?
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.split(separator: "#", maxSplits: 1).first.map { $0.trimmingASCIIWhitespace() } ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if let first = words.first, first == "basic_auth" || first == "basicauth", line.hasSuffix("{") {
                depth += 1
                inside = depth
                continue
            }
            if line.hasSuffix("{") { depth += 1; continue }
            if line == "}" {
                if inside == depth { inside = nil }
                depth -= 1
                continue
            }
            guard inside != nil, words.count == 2 else { continue }
            if PasswordHasher.isStrong(words[1]) {
                hashes[words[0]] = words[1]
            } else if let decoded = Base64.decode(words[1]), let text = String(validating: decoded, as: UTF8.self), PasswordHasher.isStrong(text) {
                hashes[words[0]] = text
            }
        }
        return hashes
    }
}

/// Reads caddy-basicauth-totp's secrets JSON: `{"users":[{"username":"u","secret":"BASE32","code_length":6}]}`,
/// with the users' bcrypt hashes from their htpasswd file or Caddyfile.
public enum CaddyBasicAuthTOTPImporter {
    public static func plan(secretsJSON text: String, hashes: [String: String]) -> ImportPlan {
        var plan = ImportPlan()
        let root: Any?
        do { root = try BoundedYAML.load(text, what: "it") } catch let error as CoreError {
            plan.skipped.append(.init(location: "the secrets file", reason: error.message))
            return plan
        } catch {
            root = nil
        }
        guard let root = root as? [String: Any], let users = root["users"] as? [Any] else {
            plan.skipped.append(.init(location: "the secrets file", reason: "not the plugin's JSON: {\"users\": [{\"username\": ..., \"secret\": ...}]}"))
            return plan
        }
        for (index, entry) in users.enumerated() {
            let location = "users[\(index)]"
            guard let fields = entry as? [String: Any], let name = fields["username"] as? String, let text = fields["secret"] as? String else {
                plan.skipped.append(.init(location: location, reason: "needs username and secret"))
                continue
            }
            let digits = (fields["code_length"] as? Int) ?? 6
            guard OTPParameters.allowedDigits.contains(digits) else {
                plan.skipped.append(.init(location: location, reason: "user \(name): code_length \(digits) is not 6 to 10"))
                continue
            }
            guard let secret = try? Base32.decode(text), ImportPlan.Device.allowedSecretBytes(for: .totp).contains(secret.count) else {
                plan.skipped.append(.init(location: location, reason: "user \(name): the secret is not Base32 of 80 to 1024 bits"))
                continue
            }
            guard let hash = hashes[name] else {
                plan.skipped.append(.init(location: location, reason: "user \(name): no bcrypt hash in the htpasswd file or Caddyfile given"))
                continue
            }
            plan.add(ImportPlan.Device(label: "caddy-totp", parameters: OTPParameters(digits: digits), secret: secret), to: name, passwordHash: hash)
        }
        return plan
    }
}

/// Reads simpleotp's `.totp_secret` (one Base32 secret) for one user.
public enum SimpleOTPImporter {
    public static func plan(secretFile text: String, user: String) -> ImportPlan {
        guard let secret = try? Base32.decode(text.trimmingASCIIWhitespace()), ImportPlan.Device.allowedSecretBytes(for: .totp).contains(secret.count) else {
            return ImportPlan(skipped: [.init(location: "the secret file", reason: "not a Base32 secret of 80 to 1024 bits")])
        }
        var plan = ImportPlan()
        plan.add(ImportPlan.Device(label: "simpleotp", parameters: OTPParameters(), secret: secret), to: user)
        return plan
    }
}

/// Reads Forward Auth TOTP's seeds (its SQLite `seeds(id, secret)` table): each becomes a user for
/// `auth.mode: otp_only`, named `user1`, `user2`, ... unless `names` maps a seed id to a name.
/// A seed whose id is not a whole number (nil: SQLite keeps whatever it is given, `1e400` too) is skipped.
public enum ForwardAuthTOTPImporter {
    public static func plan(seeds: [(id: Int64?, secret: String)], names: [Int64: String]) -> ImportPlan {
        var plan = ImportPlan()
        for (index, seed) in seeds.enumerated() {
            guard let id = seed.id else {
                plan.skipped.append(.init(location: "seed \(index + 1) (in id order)", reason: "its id is not a whole number"))
                continue
            }
            let name = names[id] ?? "user\(index + 1)"
            guard let secret = try? Base32.decode(seed.secret), ImportPlan.Device.allowedSecretBytes(for: .totp).contains(secret.count) else {
                plan.skipped.append(.init(location: "seed \(id)", reason: "the secret is not Base32 of 80 to 1024 bits"))
                continue
            }
            plan.add(ImportPlan.Device(label: "forward-auth-totp", parameters: OTPParameters(), secret: secret), to: name)
        }
        return plan
    }
}

/// Reads `otpauth://` URIs, one per line (also Authelia's `storage user totp export uri` output).
/// The account name of each URI is the user.
public enum OTPAuthImporter {
    public static func plan(_ text: String) -> ImportPlan {
        var plan = ImportPlan()
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingASCIIWhitespace()
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            do {
                let uri = try OTPAuthURI(parsing: line)
                guard ImportPlan.Device.allowedSecretBytes(for: uri.parameters.type).contains(uri.secret.count) else {
                    plan.skipped.append(.init(location: "line \(number + 1)", reason: "the secret has \(uri.secret.count * 8) bits; 80 to 1024 are allowed"))
                    continue
                }
                let state = uri.parameters.type == .hotp ? try OTPDeviceState(nextCounter: uri.counter) : OTPDeviceState()
                let issuer = uri.issuer ?? ""
                // The label Portcullis's own export wrote, else one made from the issuer.
                let label = uri.deviceLabel ?? (issuer.isEmpty ? "imported" : String(issuer.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }.prefix(32)))
                plan.add(ImportPlan.Device(label: label, parameters: uri.parameters, secret: uri.secret, state: state), to: uri.account)
            } catch let error as CoreError {
                plan.skipped.append(.init(location: "line \(number + 1)", reason: error.message))
            } catch {
                plan.skipped.append(.init(location: "line \(number + 1)", reason: "\(error)"))
            }
        }
        return plan
    }
}
