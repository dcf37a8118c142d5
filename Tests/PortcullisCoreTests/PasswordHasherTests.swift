import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

@Suite struct PasswordHasherTests {
    /// Cheap parameters keep the suite fast; the default's cost is measured by scripts/bench-scrypt.
    let hasher = PasswordHasher(parameters: ScryptParameters(logN: 10, blockSize: 8, parallelism: 1))

    @Test("scrypt hashes are PHC strings that verify the right password only")
    func scrypt() throws {
        var random = SeededGenerator(seed: 1)
        let hash = try hasher.hash("correct horse battery staple", using: &random)
        #expect(hash.hasPrefix("$scrypt$ln=10,r=8,p=1$"))
        #expect(hash.split(separator: "$").count == 4)
        #expect(try hasher.verify("correct horse battery staple", against: hash) == .match(needsRehash: false))
        #expect(try hasher.verify("correct horse battery stapl", against: hash) == .mismatch)
        #expect(try hasher.verify("", against: hash) == .mismatch)
        // Different salts give different hashes for one password.
        #expect(try hasher.hash("same", using: &random) != (try hasher.hash("same", using: &random)))
    }

    @Test("RFC 7914 §12 scrypt vector, read as a PHC string")
    func rfc7914() throws {
        // scrypt("password", "NaCl", N=1024, r=8, p=16, dkLen=64).
        let expected: [UInt8] = try Hex.decode("""
            fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640
            """)
        let phc = "$scrypt$ln=10,r=8,p=16$" + Base64.encode(Array("NaCl".utf8), padding: false) + "$" + Base64.encode(expected, padding: false)
        #expect(try hasher.verify("password", against: phc) == .match(needsRehash: true))
        #expect(try hasher.verify("Password", against: phc) == .mismatch)
    }

    @Test("hashes with other parameters verify and ask for a rehash")
    func rehash() throws {
        var random = SeededGenerator(seed: 2)
        let old = try PasswordHasher(parameters: ScryptParameters(logN: 11, blockSize: 8, parallelism: 1)).hash("pw", using: &random)
        #expect(try hasher.verify("pw", against: old) == .match(needsRehash: true))
    }

    @Test("bcrypt hashes from htpasswd -B ($2y$) verify, also written as $2a$ and $2b$",
          .enabled(if: ProcessRunner.isAvailable("htpasswd"), "needs htpasswd (apt-get install apache2-utils)"))
    func bcryptFromHtpasswd() throws {
        let output = try ProcessRunner.run("htpasswd", ["-nbB", "-C", "5", "alice", "s3cret pass"])
        try #require(output.status == 0)
        let hash = String(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":", maxSplits: 1)[1])
        #expect(hash.hasPrefix("$2y$05$"))
        #expect(try hasher.verify("s3cret pass", against: hash) == .match(needsRehash: true))
        #expect(try hasher.verify("s3cret pas", against: hash) == .mismatch)
        for prefix in ["$2a$", "$2b$"] {
            let variant = prefix + hash.dropFirst(4)
            #expect(try hasher.verify("s3cret pass", against: variant) == .match(needsRehash: true))
            #expect(try hasher.verify("wrong", against: variant) == .mismatch)
        }
    }

    @Test("unknown and malformed hashes are errors that say how to fix them", arguments: [
        "", "plaintext", "$apr1$abc$def", "{SHA}abc", "$scrypt$ln=15,r=8$c2FsdA$aGFzaA",
        "$scrypt$ln=40,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$2y$99$" + String(repeating: "a", count: 53),
        "$scrypt$ln=10,r=8,p=1$!!!$aGFzaA",
    ])
    func unknownFormats(hash: String) {
        do {
            _ = try hasher.verify("pw", against: hash)
            Issue.record("accepted \(hash)")
        } catch let error as CoreError {
            #expect(error.code == .invalidPasswordHash)
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(!PasswordHasher.isSupported(hash))
    }

    @Test("empty and overlong passwords are refused when hashing")
    func passwordBounds() {
        var random = SeededGenerator(seed: 3)
        #expect(throws: CoreError.self) { try hasher.hash("", using: &random) }
        #expect(throws: CoreError.self) { try hasher.hash(String(repeating: "x", count: 1025), using: &random) }
    }
}

@Suite struct LegacyHtpasswdHashTests {
    @Test("apr1 and SHA hashes written by Debian's htpasswd verify, and ask to be replaced",
          .enabled(if: ProcessRunner.isAvailable("htpasswd"), "needs htpasswd (apt-get install apache2-utils)"))
    func fromHtpasswd() throws {
        let hasher = PasswordHasher(parameters: ScryptParameters(logN: 10, blockSize: 8, parallelism: 1))
        for (flag, prefix) in [("-nbm", "$apr1$"), ("-nbs", "{SHA}")] {
            for password in ["s3cret pass", "a", "a much longer password of more than sixteen bytes, with ü"] {
                let line = try ProcessRunner.run("htpasswd", [flag, "alice", password]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                let hash = String(line.split(separator: ":", maxSplits: 1)[1])
                #expect(hash.hasPrefix(prefix))
                #expect(LegacyHtpasswdHash.isLegacy(hash) && !PasswordHasher.isStrong(hash) && PasswordHasher.isSupported(hash))
                #expect(try hasher.verify(password, against: hash) == .match(needsRehash: true), "\(flag) \(password)")
                #expect(try hasher.verify(password + "x", against: hash) == .mismatch, "\(flag) \(password)")
            }
        }
    }

    @Test("the apr1 computation matches a known hash; malformed legacy hashes are not legacy")
    func knownValue() {
        // htpasswd -nbm with salt "abcdefgh" is random-salted, so this value was made once with
        // `openssl passwd -apr1 -salt abcdefgh password`.
        #expect(LegacyHtpasswdHash.verify("password", against: "$apr1$abcdefgh$FBwExRW4dCc8aL.OvjpIE1") == true)
        #expect(LegacyHtpasswdHash.verify("Password", against: "$apr1$abcdefgh$FBwExRW4dCc8aL.OvjpIE1") == false)
        for malformed in ["$apr1$$abc", "$apr1$toolongsalt$FBwExRW4dCc8aL.OvjpIE1", "{SHA}short", "$1$abc$def"] {
            #expect(!LegacyHtpasswdHash.isLegacy(malformed), "\(malformed)")
        }
    }
}
