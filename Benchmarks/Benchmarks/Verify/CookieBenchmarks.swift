import Benchmark
import PortcullisCore

/// From the Cookie header a browser sends to the session token: the first step of every verify.
func cookieBenchmarks() {
    var generator = SystemRandomNumberGenerator()
    let token = SessionToken.generate(using: &generator)
    // A header as browsers send it to a self-hosted app: analytics and app cookies around ours.
    let header = "_ga=GA1.1.1234567890.1700000000; grafana_session=0123456789abcdef0123456789abcdef; "
        + "portcullis_session=\(token.cookieValue); theme=dark"

    Benchmark("cookie header → session token", configuration: verifyConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            let value = Cookies.value(named: "portcullis_session", in: header)
            blackHole(value.flatMap { SessionToken(cookieValue: $0) })
        }
    }

    Benchmark("cookie header without our cookie", configuration: verifyConfiguration) { benchmark in
        let other = "_ga=GA1.1.1234567890.1700000000; theme=dark"
        for _ in benchmark.scaledIterations {
            blackHole(Cookies.value(named: "portcullis_session", in: other))
        }
    }
}
