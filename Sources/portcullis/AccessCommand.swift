import ArgumentParser
import PortcullisCore
import PortcullisStore

/// `portcullis access check`: which access rule decides a request, and why.
struct AccessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access",
        abstract: "Explain the access rules (access_control) for a request.",
        subcommands: [Check.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show which rule decides a request to URL, rule by rule, and the policy that applies.",
            discussion: """
            The URL is read as the verify endpoints read it: the path is decoded and normalised before rules see it. \
            Without --user the request is anonymous; a rule that names users or groups then asks for a login.

            Examples:
              portcullis access check https://grafana.example.com/api/health
              portcullis access check https://admin.example.com/ --user alice
              portcullis access check https://nas.example.com/ --groups admins,dev --ip 192.168.1.20 --method POST
            """
        )
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The URL as the browser asked for it, such as https://app.example.com/admin?x=1.")
        var url: String
        @Option(help: "Decide for this user; their groups are read from the store unless --groups is given.")
        var user: String?
        @Option(help: "Decide for a user in these groups (comma-separated), without reading the store.")
        var groups: String?
        @Option(help: "The request method.")
        var method = "GET"
        @Option(help: "The client's address.")
        var ip = "127.0.0.1"

        func run() async throws {
            let configuration = try StorageSession.loadConfiguration(options)
            guard let host = RedirectValidator.host(ofSafeURL: url) else {
                throw ValidationError("'\(url)' is not an absolute http(s) URL of printable ASCII; the verify endpoints would answer 400.")
            }
            if let refusal = AccessTarget.refusal(ofURL: url) {
                throw CLIError("The verify endpoints answer 400 for this URL, before any rule: \(refusal)")
            }
            guard let client = IPAddress(ip) else { throw ValidationError("--ip '\(ip)' is not an IPv4 or IPv6 address.") }
            let identity = try await self.identity()
            let request = AccessRequest(host: host, method: method.uppercased(), target: AccessTarget.pathAndQuery(ofURL: url), client: client)
            let control = configuration.accessControl
            print("request: \(request.method) \(host)\(request.target) from \(client)" + (identity.map { " as \($0.user) (groups: \($0.groups.joined(separator: ", ")))" } ?? ", not logged in"))
            for step in control.explain(request, identity: identity) {
                let rule = control.rules[step.rule]
                let verdict = step.mismatch.map { "no: its \($0.rawValue) does not match" } ?? (rule.subject != nil && identity == nil ? "matches if the user is \(rule.subject!)" : "matches")
                print("  rule \(step.rule) (\(Self.summary(rule))): \(verdict)")
            }
            switch control.decide(request, identity: identity) {
            case .apply(let policy, let rule):
                print("policy: \(policy.rawValue)" + (rule.map { " (rule \($0))" } ?? " (no rule matched: access_control.default_policy)"))
            case .identify(let rule):
                print("policy: login needed first (rule \(rule) names \(control.rules[rule].subject!)); then the rules decide again with the user. Try --user NAME.")
            }
        }

        private func identity() async throws -> Identity? {
            guard let user else {
                if groups != nil { throw ValidationError("--groups needs --user.") }
                return nil
            }
            if let groups {
                return Identity(user: user, groups: groups.split(separator: ",").map { $0.trimmingASCIIWhitespace() }.filter { !$0.isEmpty }, name: "", email: "")
            }
            return try await StorageSession.with(options) { session in
                guard let record = try await session.store.user(named: user) else {
                    throw CLIError("No user '\(user)' exists; see: portcullis user list (or give --groups to decide without the store).")
                }
                return Identity(user: record.name, groups: record.groups, name: record.displayName, email: record.email)
            }
        }

        static func summary(_ rule: AccessRule) -> String {
            var parts: [String] = []
            let domains = rule.domains.map(\.description) + rule.domainPatterns.map { "/\($0.source)/" }
            if !domains.isEmpty { parts.append("domain " + domains.joined(separator: ", ")) }
            if !rule.resources.isEmpty { parts.append("resources " + rule.resources.map(\.source).joined(separator: ", ")) }
            if !rule.methods.isEmpty { parts.append("methods " + rule.methods.sorted().joined(separator: ", ")) }
            if !rule.networks.isEmpty { parts.append("networks " + rule.networks.map(\.description).joined(separator: ", ")) }
            if let subject = rule.subject { parts.append("subject \(subject)") }
            parts.append(rule.policy.rawValue)
            return parts.joined(separator: "; ")
        }
    }
}
