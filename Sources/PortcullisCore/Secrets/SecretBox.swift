import Crypto

/// Encrypts OTP secrets with AES-256-GCM under a ``StorageKey``.
///
/// A sealed value is `0x02 ‖ key id (4) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`: the key id (the
/// key's ``StorageKey/fingerprint`` as bytes) says which key sealed it, so a server that meets a value
/// sealed under another key knows the key was rotated rather than the data damaged. The associated
/// data binds the value to its row (for example a device id) and to the key id, so a sealed secret
/// moved to another row does not open. Values of the first format (`0x01 ‖ nonce ‖ ciphertext ‖ tag`,
/// no key id) still open.
public struct SecretBox: Sendable {
    public let key: StorageKey
    private let keyID: [UInt8]
    private static let formatWithoutKeyID: UInt8 = 1
    private static let formatVersion: UInt8 = 2

    public init(key: StorageKey) {
        self.key = key
        self.keyID = key.idBytes
    }

    /// Encrypts `plaintext` with a fresh random nonce drawn from `generator`.
    public func seal(_ plaintext: [UInt8], context: String, using generator: inout some RandomNumberGenerator) -> [UInt8] {
        let nonceBytes = SecretGenerator.makeSecret(byteCount: 12, using: &generator)
        // A 12-byte nonce and a 256-bit key are always accepted by AES-GCM.
        let nonce = try! AES.GCM.Nonce(data: nonceBytes)
        let box = try! AES.GCM.seal(plaintext, using: key.symmetricKey, nonce: nonce, authenticating: keyID + Array(context.utf8))
        return [Self.formatVersion] + keyID + nonceBytes + Array(box.ciphertext) + Array(box.tag)
    }

    /// The fingerprint of the key a value was sealed under; nil for values of the first format,
    /// which do not say.
    public static func keyFingerprint(ofSealed sealed: [UInt8]) -> String? {
        guard sealed.count >= 1 + 4, sealed[0] == formatVersion else { return nil }
        return Hex.encode(Array(sealed[1..<5]))
    }

    /// Decrypts a value made by ``seal(_:context:using:)`` with the same context.
    /// - Throws: ``CoreError/Code/invalidStorageKey`` when the key or context is not the one it was sealed with,
    ///   or the value was altered; the message names the key the value says it was sealed under.
    public func open(_ sealed: [UInt8], context: String) throws -> [UInt8] {
        let body: ArraySlice<UInt8>
        let associated: [UInt8]
        switch sealed.first {
        case Self.formatVersion where sealed.count >= 1 + 4 + 12 + 16:
            guard Array(sealed[1..<5]) == keyID else {
                throw CoreError(.invalidStorageKey, "An encrypted secret was sealed under storage key \(Hex.encode(Array(sealed[1..<5]))), not under key \(key.fingerprint): the key was changed (portcullis storage rotate-key) or the data comes from another store.")
            }
            body = sealed[5...]
            associated = keyID + Array(context.utf8)
        case Self.formatWithoutKeyID where sealed.count >= 1 + 12 + 16:
            body = sealed[1...]
            associated = Array(context.utf8)
        default:
            throw CoreError(.invalidStorageKey, "An encrypted secret is damaged (unknown format); restore it from a backup.")
        }
        let start = body.startIndex
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: body[start..<(start + 12)]),
                ciphertext: body[(start + 12)..<(body.endIndex - 16)],
                tag: body[(body.endIndex - 16)...]
            )
            return Array(try AES.GCM.open(box, using: key.symmetricKey, authenticating: associated))
        } catch {
            throw CoreError(.invalidStorageKey, "An encrypted secret does not open with storage key \(key.fingerprint): the key is not the one it was sealed with, or the data was altered.")
        }
    }
}
