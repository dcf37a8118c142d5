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
        #expect(sealed.count == 1 + 12 + secret.count + 16)
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
