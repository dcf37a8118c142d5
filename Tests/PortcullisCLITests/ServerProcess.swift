import Foundation
import PortcullisTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `portcullis serve` running in the background on a free loopback port, stopped by ``stop()``.
final class ServerProcess {
    let process = Process()
    let port: Int
    let logFile: String
    let harness: CLIHarness

    /// Starts the server in the harness's folder and waits until /api/health answers.
    init(_ harness: CLIHarness, arguments: [String] = [], environment: [String: String] = [:]) throws {
        self.harness = harness
        port = try Self.freePort()
        logFile = harness.file("serve-\(port).log")
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process.executableURL = URL(fileURLWithPath: Binaries.path("portcullis"))
        process.arguments = ["serve"] + arguments
        process.environment = harness.environment.merging(["PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(port)"].merging(environment) { $1 }) { $1 }
        process.currentDirectoryURL = harness.directory.url
        process.standardOutput = logHandle
        process.standardError = logHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 {
            if (try? curl(["-sf", "-o", "/dev/null", url("/api/health")]))?.status == 0 { return }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        stop()
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "portcullis serve did not start: \(self.log())"])
    }

    func url(_ path: String) -> String { "http://localhost:\(port)\(path)" }

    /// What the server printed so far.
    func log() -> String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM and waits; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    /// Runs curl with `arguments` in the harness's folder.
    func curl(_ arguments: [String]) throws -> ProcessOutput {
        try ProcessRunner.run("curl", ["--max-time", "10"] + arguments, currentDirectory: harness.directory.url)
    }

    /// A port nothing listens on right now.
    static func freePort() throws -> Int {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, length) == 0 && getsockname(socketFD, $0, &length) == 0 }
        }
        guard bound else { throw CocoaError(.fileWriteUnknown) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
