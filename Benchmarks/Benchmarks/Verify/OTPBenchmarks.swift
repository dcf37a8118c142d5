import Benchmark
import PortcullisCore

/// Checking a one-time code: done on every login and on HTTP Basic credentials not lingering yet.
func otpBenchmarks() {
    var generator = SystemRandomNumberGenerator()
    let secret = SecretGenerator.makeSecret(byteCount: 20, using: &generator)
    let now: Int64 = 1_800_000_000
    let verifier = OTPVerifier()
    let totp = OTPParameters()
    let code = OTPVerifier.code(for: now / 30, secret: secret, parameters: totp)
    let wrong = String(code.reversed())

    Benchmark("TOTP verify: right code (SHA-1, 6 digits, ±1 step)", configuration: verifyConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(verifier.verify(code: code, secret: secret, parameters: totp, state: OTPDeviceState(), at: now))
        }
    }

    Benchmark("TOTP verify: wrong code (every step of the window)", configuration: verifyConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(verifier.verify(code: wrong, secret: secret, parameters: totp, state: OTPDeviceState(), at: now))
        }
    }
}
