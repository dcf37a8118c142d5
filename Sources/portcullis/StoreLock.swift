#if canImport(Glibc)
import Glibc
#endif

/// An advisory lock beside the database (`<database>.lock`): every server holds it shared while it
/// runs, and a restore needs it alone, so a store is never replaced under a running server.
final class StoreLock {
    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// The lock of the database at `sqlitePath`, shared or exclusive; nil when another process holds
    /// it in a way that conflicts.
    static func acquire(_ sqlitePath: String, exclusive: Bool) throws -> StoreLock? {
        try acquire(file: sqlitePath + ".lock", exclusive: exclusive)
    }

    /// The lock a key rotation holds alone while its `.new` key file may be in use
    /// (`<database>.rotation.lock`): nil when a rotation runs.
    static func acquireRotation(_ sqlitePath: String) throws -> StoreLock? {
        try acquire(file: sqlitePath + ".rotation.lock", exclusive: true)
    }

    private static func acquire(file path: String, exclusive: Bool) throws -> StoreLock? {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CLIError("Cannot open the lock file \(path): \(String(cString: strerror(errno))). Check the data folder's permissions.")
        }
        guard flock(descriptor, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 else {
            let reason = errno
            close(descriptor)
            if reason == EWOULDBLOCK { return nil }
            throw CLIError("Cannot lock \(path): \(String(cString: strerror(reason))).")
        }
        return StoreLock(descriptor: descriptor)
    }
}
