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
import PortcullisCore

/// Reads `portal.logo_file` into a `data:` URI for the login page.
enum PortalLogo {
    static let maximumBytes = 64 * 1024

    static func dataURI(readingFile path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("portal.logo_file is '\(path)', which cannot be read. Give a PNG or SVG file that exists.")
        }
        guard data.count <= maximumBytes else {
            throw CLIError("portal.logo_file '\(path)' is \(data.count) bytes; at most \(maximumBytes) are allowed.")
        }
        let type = path.lowercased().hasSuffix(".svg") ? "image/svg+xml" : "image/png"
        return "data:\(type);base64," + Base64.encode(Array(data))
    }
}
