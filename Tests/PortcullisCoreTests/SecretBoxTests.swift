import PortcullisCore
import PortcullisTestSupport
import Testing

@Suite struct SecretBoxTests {
    @Test("sealed secrets open with the same key and context only")
    func roundTrip() throws {
        var random = SeededGenerator(seed: 1)
        let key = StorageKey.generate(using: &random)
        let other = StorageKey.generate(using: &random)
        let box = SecretBox(key: key)
        let secret = SecretGenerator.makeSecret(using: &random)
        let sealed = box.seal(secret, context: "device:1", using: &random)
        #expect(sealed.count == 1 + 4 + 12 + secret.count + 16)
        #expect(SecretBox.keyFingerprint(ofSealed: sealed) == key.fingerprint)
        #expect(!sealed.contains(subsequence: secret))
        #expect(try box.open(sealed, context: "device:1") == secret)
        #expect(throws: CoreError.self) { try box.open(sealed, context: "device:2") }
        #expect(throws: CoreError.self) { try SecretBox(key: other).open(sealed, context: "device:1") }
        var tampered = sealed
        tampered[20] ^= 1
        #expect(throws: CoreError.self) { try box.open(tampered, context: "device:1") }
        #expect(throws: CoreError.self) { try box.open([1, 2, 3], context: "device:1") }
        // A fresh nonce each time: the same secret seals differently.
        #expect(box.seal(secret, context: "device:1", using: &random) != sealed)
    }

    @Test("a value sealed under another key says which key sealed it; a forged key id does not open")
    func keyIdentifier() throws {
        var random = SeededGenerator(seed: 3)
        let old = StorageKey.generate(using: &random)
        let new = StorageKey.generate(using: &random)
        let sealed = SecretBox(key: old).seal([1, 2, 3], context: "device:1", using: &random)
        do {
            _ = try SecretBox(key: new).open(sealed, context: "device:1")
            Issue.record("opened under another key")
        } catch let error as CoreError {
            #expect(error.message.contains(old.fingerprint) && error.message.contains(new.fingerprint) && error.message.contains("rotate-key"))
        }
        // The key id is authenticated: claiming the new key's id does not make the value open.
        var relabelled = sealed
        relabelled.replaceSubrange(1..<5, with: try Hex.decode(new.fingerprint))
        #expect(SecretBox.keyFingerprint(ofSealed: relabelled) == new.fingerprint)
        #expect(throws: CoreError.self) { try SecretBox(key: new).open(relabelled, context: "device:1") }
        #expect(throws: CoreError.self) { try SecretBox(key: old).open(relabelled, context: "device:1") }
    }

    @Test("values sealed in the first format (no key id) still open")
    func firstFormat() throws {
        // AES-256-GCM of "12345678901234567890" under key 00 01 … 1f, nonce 64 65 … 6f, associated
        // data "device:legacy", computed with Python's cryptography package.
        let key = try StorageKey(bytes: Array(0..<32))
        let sealed = try Hex.decode("016465666768696a6b6c6d6e6f7929ed524cdf61a607526edae9515fcb75fa3f3a857e068b302ab096ea09d01de69424aa")
        #expect(try SecretBox(key: key).open(sealed, context: "device:legacy") == Array("12345678901234567890".utf8))
        #expect(SecretBox.keyFingerprint(ofSealed: sealed) == nil)
        #expect(throws: CoreError.self) { try SecretBox(key: key).open(sealed, context: "device:other") }
    }

    @Test("storage keys read as Base64 or hex, and errors name the source")
    func keyText() throws {
        var random = SeededGenerator(seed: 2)
        let key = StorageKey.generate(using: &random)
        #expect(try StorageKey(text: key.fileText, source: "test").bytes == key.bytes)
        #expect(try StorageKey(text: "  " + Hex.encode(key.bytes) + "\n", source: "test").bytes == key.bytes)
        do {
            _ = try StorageKey(text: "too short", source: "/etc/portcullis/key")
            Issue.record("accepted a short key")
        } catch let error as CoreError {
            #expect(error.code == .invalidStorageKey)
            #expect(error.message.contains("/etc/portcullis/key"))
        }
        #expect(key.fingerprint.count == 8)
        #expect(!key.fileText.contains(key.fingerprint) || key.fingerprint.isEmpty == false)
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { Array(self[$0..<($0 + subsequence.count)]) == subsequence }
    }
}
