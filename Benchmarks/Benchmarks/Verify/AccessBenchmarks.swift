import Benchmark
import PortcullisCore
import PortcullisServer

/// What access rules add to a verify: reading the path, and deciding with 50 rules of which the
/// last matches (the case of scripts/bench.sh's (j)); and what finding lingering Basic credentials
/// costs (the keyed hash of the header).
func accessBenchmarks() {
    let control = try! fiftyRules()
    let original = OriginalRequest(method: "GET", url: "https://app.example.com/dashboard?x=1", host: "app.example.com")
    let client = IPAddress("192.0.2.10")!

    Benchmark("access: read the path of a URL", configuration: verifyConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(AccessTarget.pathAndQuery(ofURL: original.url))
        }
    }

    Benchmark("access: decide with 50 rules, the last matching", configuration: verifyConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(control.decide(AccessRequest(original, client: client), identity: nil))
        }
    }

    let linger = BasicLingerCache(settings: BasicAuthConfiguration())
    let header = "Basic YmFzaWM6YmFzaWMgcGFzc3dvcmQxMjM0NTY="
    Benchmark("basic: key of a lingering credential (HMAC-SHA256 of the header)", configuration: verifyConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(linger.key(forHeader: header, client: client))
        }
    }
}

/// The rules of scripts/bench.py's `fifty_rules`.
private func fiftyRules() throws -> AccessControl {
    let app = [DomainPattern("app.example.com")!]
    var rules: [AccessRule] = []
    for index in 0..<49 {
        switch index % 3 {
        case 0: rules.append(try AccessRule(domains: [DomainPattern("*.team\(index).example.com")!], policy: .deny))
        case 1: rules.append(try AccessRule(domains: app, resources: [ResourcePattern("^/api/v\(index)([/?].*)?$")], policy: .deny))
        default: rules.append(try AccessRule(domains: app, resources: [ResourcePattern("/internal\(index)/")], methods: ["GET", "HEAD"], policy: .deny))
        }
    }
    rules.append(try AccessRule(domains: app + [DomainPattern("*.example.com")!], resources: [ResourcePattern("^/dashboard([/?].*)?$")], policy: .twoFactor))
    return AccessControl(defaultPolicy: .deny, rules: rules)
}
