import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PortcullisCore
import PortcullisServer
import PortcullisStore
import PortcullisTestSupport
import Synchronization

/// A clock the test moves.
final class TestClock: Sendable {
    private let time: Mutex<Int64>
    init(_ start: Int64 = 1_800_000_000) { time = Mutex(start) }
    var now: Int64 { time.withLock { $0 } }
    func advance(_ seconds: Int64) { time.withLock { $0 += seconds } }
    var gateClock: GateClock { GateClock { [self] in self.now } }
}

/// A Portcullis server on a fresh SQLite store, with users and a clock the test controls.
struct GateHarness {
    static let secret: [UInt8] = Array("12345678901234567890".utf8)
    /// Fast scrypt parameters: tests check behaviour, not cost.
    static let hasher = PasswordHasher(parameters: ScryptParameters(logN: 10, blockSize: 8, parallelism: 1))

    let directory: TemporaryDirectory
    let store: SQLiteStore
    let vault: Vault
    let clock: TestClock
    var configuration: Configuration

    /// The standard test configuration: cookie domain example.com, portal at https://auth.example.com.
    static func exampleConfiguration() -> Configuration {
        var configuration = Configuration()
        configuration.sessionCookies = [SessionCookieConfiguration(domain: "example.com", portalURL: "https://auth.example.com")]
        // Tests of other things make many failed logins from one address; RegulationTests set their own policy.
        configuration.regulation = RegulationPolicy(maxRetries: 1000, findTime: 600, banTime: 900, maxOTPFailures: 0)
        return configuration
    }

    static func make(_ configuration: Configuration = exampleConfiguration()) async throws -> GateHarness {
        let directory = try TemporaryDirectory()
        let store = try await SQLiteStore.open(path: directory.file("gate.sqlite3"))
        var random = SystemRandomNumberGenerator()
        let vault = try await Vault.open(store: store, key: StorageKey.generate(using: &random), keySource: .file("test"), hasher: hasher)
        return GateHarness(directory: directory, store: store, vault: vault, clock: TestClock(), configuration: configuration)
    }

    func close() async {
        try? await store.close()
        directory.remove()
    }

    /// Adds a user with a password and a TOTP device on ``secret``.
    @discardableResult
    func addUser(_ name: String, password: String? = "correct horse", groups: [String] = ["admins", "dev"], otp: Bool = true) async throws -> UserRecord {
        let user = try await vault.addUser(UserRecord(name: name, displayName: "\(name.capitalized) Example", email: "\(name)@example.com", groups: groups, createdAt: clock.now), password: password)
        if otp {
            _ = try await vault.addDevice(userName: name, label: "phone", parameters: OTPParameters(), secret: Self.secret, at: clock.now)
        }
        return user
    }

    /// The TOTP code of ``secret`` now, or `steps` steps from now.
    func code(steps: Int64 = 0) -> String {
        OTPVerifier.code(for: TOTP.step(at: clock.now, period: 30) + steps, secret: Self.secret, parameters: OTPParameters())
    }

    func server(logger: Logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), logoDataURI: String? = nil,
                cacheCapacity: Int? = nil, metrics: GateMetrics = .off) async throws -> GateServer {
        var random = SystemRandomNumberGenerator()
        return try await GateServer.make(configuration: configuration, vault: vault, logger: logger, clock: clock.gateClock,
                                         logoDataURI: logoDataURI, dummyHash: try Self.hasher.hash("dummy", using: &random), cacheCapacity: cacheCapacity,
                                         metrics: metrics)
    }

    /// Runs `body` against the router of a fresh server (no sockets).
    func withRouter<T: Sendable>(_ body: @Sendable (any TestClientProtocol, Gate) async throws -> T) async throws -> T {
        let server = try await server()
        let gate = server.gate
        let app = Application(router: server.router)
        return try await app.test(.router) { client in try await body(client, gate) }
    }
}

extension TestClientProtocol {
    /// Asks the forward-auth endpoint about a GET of https://app.example.com/ with `cookie`.
    func verify(cookie: String, forwardedFor: String? = nil) async throws -> TestResponse {
        try await execute(uri: "/api/authz/forward-auth", method: .get, headers: Requests.forwardAuth(cookie: cookie, forwardedFor: forwardedFor))
    }
}

/// Requests a test sends, as a browser or a proxy would.
enum Requests {
    static func forwardAuth(host: String = "app.example.com", uri: String = "/", method: String = "GET", accept: String? = "text/html,application/xhtml+xml",
                            cookie: String? = nil, forwardedFor: String? = nil, extra: HTTPFields = [:]) -> HTTPFields {
        var fields: HTTPFields = [
            HTTPField.Name("X-Forwarded-Proto")!: "https",
            HTTPField.Name("X-Forwarded-Host")!: host,
            HTTPField.Name("X-Forwarded-URI")!: uri,
            HTTPField.Name("X-Forwarded-Method")!: method,
        ]
        if let accept { fields[.accept] = accept }
        if let cookie { fields[.cookie] = cookie }
        if let forwardedFor { fields[HTTPField.Name("X-Forwarded-For")!] = forwardedFor }
        fields.append(contentsOf: extra)
        return fields
    }

    static func authRequest(url: String, cookie: String? = nil, accept: String = "text/html") -> HTTPFields {
        var fields: HTTPFields = [HTTPField.Name("X-Original-URL")!: url, HTTPField.Name("X-Original-Method")!: "GET", .accept: accept]
        if let cookie { fields[.cookie] = cookie }
        return fields
    }

    /// A urlencoded body.
    static func form(_ fields: [(String, String)]) -> ByteBuffer {
        ByteBuffer(string: fields.map { "\(FormFields.encode($0.0))=\(FormFields.encode($0.1))" }.joined(separator: "&"))
    }
}

/// What a browser keeps between requests to the portal: its cookies.
struct Browser: Sendable {
    var cookies: [String: String] = [:]
    var host = "auth.example.com"

    /// The session cookie as a `Cookie` header value, for verify requests.
    var sessionCookie: String { "portcullis_session=" + (cookies["portcullis_session"] ?? "") }

    var cookieHeader: String { cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }

    /// Takes the `Set-Cookie` headers of a response (Max-Age=0 deletes).
    mutating func receive(_ response: TestResponse) {
        for value in response.headers[values: .setCookie] {
            let first = value.split(separator: ";")[0]
            let parts = first.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            if value.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = String(parts[1]) }
        }
    }

    func headers(_ extra: HTTPFields = [:]) -> HTTPFields {
        // The portal is reached through a proxy (the test router's peer counts as loopback, a trusted proxy).
        var fields: HTTPFields = [HTTPField.Name("X-Forwarded-Host")!: host]
        if !cookies.isEmpty { fields[.cookie] = cookieHeader }
        fields.append(contentsOf: extra)
        return fields
    }

    /// Opens a portal page and keeps its cookies.
    mutating func get(_ client: some TestClientProtocol, _ uri: String) async throws -> TestResponse {
        let response = try await client.execute(uri: uri, method: .get, headers: headers(), body: nil)
        receive(response)
        return response
    }

    /// Sends a form like the page's own (with its CSRF token) and keeps the cookies.
    mutating func post(_ client: some TestClientProtocol, _ uri: String, _ fields: [(String, String)], extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers(extra)
        headers[.contentType] = "application/x-www-form-urlencoded"
        let response = try await client.execute(uri: uri, method: .post, headers: headers, body: Requests.form(fields))
        receive(response)
        return response
    }

    /// Opens the login page and logs in; returns the POST's response.
    mutating func logIn(_ client: some TestClientProtocol, username: String = "alice", password: String = "correct horse", code: String,
                        rd: String? = nil, rememberMe: Bool = false) async throws -> TestResponse {
        let page = try await get(client, "/login" + (rd.map { "?rd=" + FormFields.encode($0) } ?? ""))
        var fields = [("csrf", Page.csrfToken(page) ?? ""), ("username", username), ("password", password), ("code", code)]
        if let rd { fields.append(("rd", rd)) }
        if rememberMe { fields.append(("remember_me", "1")) }
        return try await post(client, "/login", fields)
    }
}

/// Reading the portal's HTML.
enum Page {
    static func text(_ response: TestResponse) -> String { String(buffer: response.body) }

    static func csrfToken(_ response: TestResponse) -> String? {
        let html = text(response)
        guard let range = html.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }
}
