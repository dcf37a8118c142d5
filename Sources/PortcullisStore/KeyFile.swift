#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and writing small secret files (storage keys) with owner-only permissions.
public enum KeyFile {
    /// Whether a file exists at `path`.
    public static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path)
    }

    /// Reads a file as UTF-8 text (at most 64 KiB: a key file is a line).
    public static func read(_ path: String) throws -> String {
        func failure(_ why: String) -> StoreError {
            StoreError(.storageKey, "Cannot read the storage key file \(path): \(why). Check its permissions.")
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { readBytes(descriptor, $0.baseAddress, $0.count) }
            guard count >= 0 else { throw failure(String(cString: strerror(errno))) }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= 65_536 else { throw failure("it is larger than 64 KiB, which no key file is") }
        }
        return String(decoding: bytes, as: UTF8.self)
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
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            guard mkdir(prefix, 0o700) == 0 || errno == EEXIST else {
                throw StoreError(.unreadable, "Cannot create the data folder \(path): \(String(cString: strerror(errno))).")
            }
            prefix += "/"
        }
    }
}

/// read(2), named apart from ``KeyFile/read(_:)``.
private func readBytes(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
