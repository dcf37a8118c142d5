import Foundation

/// Reading and writing small secret files (storage keys) with owner-only permissions.
public enum KeyFile {
    /// Whether a file exists at `path`.
    public static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path)
    }

    /// Reads a file as UTF-8 text.
    public static func read(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw StoreError(.storageKey, "Cannot read the storage key file \(path): \(error.localizedDescription). Check its permissions.")
        }
    }

    /// Creates `path` with mode 0600 and writes `text`, flushed to disk. Fails if the file exists,
    /// so a key is never overwritten by accident.
    public static func createExclusive(_ path: String, text: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(.storageKey, "Cannot create the storage key file \(path): \(String(cString: strerror(errno))).")
        }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(descriptor) == 0 else {
            unlink(path)
            throw StoreError(.storageKey, "Cannot write the storage key file \(path): \(String(cString: strerror(errno))).")
        }
    }

    /// Moves `source` over `destination` atomically (rename(2)).
    public static func replace(_ destination: String, with source: String) throws {
        guard rename(source, destination) == 0 else {
            throw StoreError(.storageKey, "Cannot move \(source) to \(destination): \(String(cString: strerror(errno))).")
        }
    }

    /// Removes a file if it exists.
    public static func remove(_ path: String) {
        unlink(path)
    }

    /// Creates a folder (and its parents) with mode 0700 if it does not exist.
    public static func makePrivateDirectory(_ path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError(.unreadable, "Cannot create the data folder \(path): \(error.localizedDescription).")
        }
    }
}
