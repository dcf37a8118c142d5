import Crypto

/// Encrypts OTP secrets with AES-256-GCM under a ``StorageKey``.
///
/// A sealed value is `0x01 ‖ nonce (12) ‖ ciphertext ‖ tag (16)`. The associated data binds it to
/// its row (for example a device id), so a sealed secret moved to another row does not open.
public struct SecretBox: Sendable {
    public let key: StorageKey
    private static let formatVersion: UInt8 = 1

    public init(key: StorageKey) { self.key = key }

    /// Encrypts `plaintext` with a fresh random nonce drawn from `generator`.
    public func seal(_ plaintext: [UInt8], context: String, using generator: inout some RandomNumberGenerator) -> [UInt8] {
        let nonceBytes = SecretGenerator.makeSecret(byteCount: 12, using: &generator)
        // A 12-byte nonce and a 256-bit key are always accepted by AES-GCM.
        let nonce = try! AES.GCM.Nonce(data: nonceBytes)
        let box = try! AES.GCM.seal(plaintext, using: key.symmetricKey, nonce: nonce, authenticating: Array(context.utf8))
        return [Self.formatVersion] + nonceBytes + Array(box.ciphertext) + Array(box.tag)
    }

    /// Decrypts a value made by ``seal(_:context:using:)`` with the same context.
    /// - Throws: ``CoreError/Code/invalidStorageKey`` when the key or context is not the one it was sealed with,
    ///   or the value was altered.
    public func open(_ sealed: [UInt8], context: String) throws -> [UInt8] {
        guard sealed.count >= 1 + 12 + 16, sealed[0] == Self.formatVersion else {
            throw CoreError(.invalidStorageKey, "An encrypted secret is damaged (unknown format); restore it from a backup.")
        }
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: sealed[1..<13]),
                ciphertext: sealed[13..<(sealed.count - 16)],
                tag: sealed[(sealed.count - 16)...]
            )
            return Array(try AES.GCM.open(box, using: key.symmetricKey, authenticating: Array(context.utf8)))
        } catch {
            throw CoreError(.invalidStorageKey, "An encrypted secret does not open with storage key \(key.fingerprint): the key is not the one it was sealed with, or the data was altered.")
        }
    }
}
