import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection made by hand, to act as clients curl will not be: silent, slow, pipelining, or
/// coming from a chosen loopback address (127.0.0.0/8 is all this machine's).
final class RawConnection {
    private let descriptor: Int32
    /// Bytes read and not yet taken by ``readResponse(timeout:)``.
    private var pending: [UInt8] = []

    /// Connects to 127.0.0.1:`port` from `source` (a loopback address).
    init(port: Int, from source: String = "127.0.0.1") throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw RawConnectionError("socket: errno \(errno)") }
        var local = Self.address(source, port: 0)
        var remote = Self.address("127.0.0.1", port: port)
        let connected = Self.withSockaddr(&local) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            && Self.withSockaddr(&remote) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        guard connected else {
            let code = errno
            close(descriptor)
            throw RawConnectionError("connect from \(source): errno \(code)")
        }
    }

    deinit { close(descriptor) }

    /// Sends `text`; false when the server has closed the connection.
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Whether the server closes the connection within `timeout` seconds (bytes it sends are kept).
    func closedByServer(within timeout: Double) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        repeat {
            if case .closed = read(timeout: end.timeIntervalSinceNow) { return true }
        } while Date() < end
        return false
    }

    /// Reads one HTTP response (head and a body of `Content-Length` bytes, none for HEAD requests);
    /// nil when the connection closed or nothing complete came within `timeout` seconds.
    func readResponse(timeout: Double = 5, headRequest: Bool = false) -> RawResponse? {
        let end = Date().addingTimeInterval(timeout)
        while true {
            if let response = takeResponse(headRequest: headRequest) { return response }
            guard Date() < end, case .data = read(timeout: end.timeIntervalSinceNow) else { return nil }
        }
    }

    private func takeResponse(headRequest: Bool) -> RawResponse? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headEnd = pending.indices.dropLast(3).first(where: { pending[$0..<$0 + 4].elementsEqual(separator) }) else { return nil }
        let head = String(decoding: pending[..<headEnd], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = headRequest ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        let bodyStart = headEnd + 4
        guard pending.count >= bodyStart + length else { return nil }
        let body = String(decoding: pending[bodyStart..<bodyStart + length], as: UTF8.self)
        pending.removeFirst(bodyStart + length)
        return RawResponse(status: status, headers: headers, body: body)
    }

    private enum ReadResult { case data, closed, timeout }

    private func read(timeout: Double) -> ReadResult {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(max(0, timeout) * 1000)) > 0 else { return .timeout }
        var buffer = [UInt8](repeating: 0, count: 16_384)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return .closed }
        pending += buffer[..<count]
        return .data
    }

    private static func address(_ text: String, port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(text)
        address.sin_port = UInt16(port).bigEndian
        return address
    }

    private static func withSockaddr<T>(_ address: inout sockaddr_in, _ body: (UnsafePointer<sockaddr>) -> T) -> T {
        withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
    }
}

/// One response read by ``RawConnection``; header names are lowercased.
struct RawResponse {
    let status: Int
    let headers: [String: String]
    let body: String
}

struct RawConnectionError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
