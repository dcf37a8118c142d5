import Foundation
import PortcullisCore
import Testing

@Suite struct OTPVerifierTests {
    let secret = Array("12345678901234567890".utf8)
    let totp = OTPParameters()
    let now: Int64 = 1_700_000_000

    func code(step: Int64, parameters: OTPParameters = OTPParameters()) -> String {
        OTPVerifier.code(for: step, secret: secret, parameters: parameters)
    }

    @Test("the current code is accepted and reports its step and zero drift")
    func current() {
        let step = TOTP.step(at: now)
        let verdict = OTPVerifier().verify(code: code(step: step), secret: secret, parameters: totp, state: OTPDeviceState(), at: now)
        #expect(verdict == .accepted(OTPAcceptance(matched: step, drift: 0)))
    }

    @Test("codes one step either side pass with skew 1, two steps away do not")
    func window() {
        let step = TOTP.step(at: now)
        let verifier = OTPVerifier(timeSkew: 1)
        for offset: Int64 in [-1, 1] {
            let verdict = verifier.verify(code: code(step: step + offset), secret: secret, parameters: totp, state: OTPDeviceState(), at: now)
            #expect(verdict == .accepted(OTPAcceptance(matched: step + offset, drift: Int(offset))))
        }
        for offset: Int64 in [-2, 2] {
            let verdict = verifier.verify(code: code(step: step + offset), secret: secret, parameters: totp, state: OTPDeviceState(), at: now)
            #expect(verdict == .rejected(.mismatch))
        }
        let wide = OTPVerifier(timeSkew: 2).verify(code: code(step: step - 2), secret: secret, parameters: totp, state: OTPDeviceState(), at: now)
        #expect(wide == .accepted(OTPAcceptance(matched: step - 2, drift: -2)))
    }

    @Test("a code is accepted once: the same step, or an earlier one, is refused as replayed")
    func replay() {
        let step = TOTP.step(at: now)
        let verifier = OTPVerifier()
        guard case .accepted(let first) = verifier.verify(code: code(step: step), secret: secret, parameters: totp, state: OTPDeviceState(), at: now) else {
            Issue.record("first use refused"); return
        }
        let again = verifier.verify(code: code(step: step), secret: secret, parameters: totp, state: first.newState, at: now + 5)
        #expect(again == .rejected(.replayed))
        let earlier = verifier.verify(code: code(step: step - 1), secret: secret, parameters: totp, state: first.newState, at: now)
        #expect(earlier == .rejected(.replayed))
        let later = verifier.verify(code: code(step: step + 1), secret: secret, parameters: totp, state: first.newState, at: now + 30)
        #expect(later == .accepted(OTPAcceptance(matched: step + 1, drift: 0)))
    }

    @Test("recorded drift moves the window (RFC 6238 §6), bounded by the maximum drift")
    func drift() {
        let step = TOTP.step(at: now)
        // A device running 3 steps ahead is outside the plain window...
        let ahead = code(step: step + 3)
        #expect(OTPVerifier().verify(code: ahead, secret: secret, parameters: totp, state: OTPDeviceState(), at: now) == .rejected(.mismatch))
        // ...but inside once its drift of 3 is recorded.
        let state = OTPDeviceState(lastAccepted: step - 10, drift: 3)
        #expect(OTPVerifier().verify(code: ahead, secret: secret, parameters: totp, state: state, at: now)
                == .accepted(OTPAcceptance(matched: step + 3, drift: 3)))
        // A drift beyond the maximum is clamped, so the window cannot wander off.
        let far = OTPDeviceState(lastAccepted: -1, drift: 50)
        #expect(OTPVerifier(maximumDrift: 2).verify(code: code(step: step + 50), secret: secret, parameters: totp, state: far, at: now) == .rejected(.mismatch))
        #expect(OTPVerifier(maximumDrift: 2).verify(code: code(step: step + 2), secret: secret, parameters: totp, state: far, at: now)
                == .accepted(OTPAcceptance(matched: step + 2, drift: 2)))
    }

    @Test("HOTP looks ahead from the next counter and refuses used counters")
    func hotp() {
        let hotp = OTPParameters(type: .hotp)
        let state = OTPDeviceState(lastAccepted: 9)
        let verifier = OTPVerifier(counterLookAhead: 4)
        #expect(verifier.verify(code: code(step: 10, parameters: hotp), secret: secret, parameters: hotp, state: state, at: 0)
                == .accepted(OTPAcceptance(matched: 10, drift: 0)))
        #expect(verifier.verify(code: code(step: 14, parameters: hotp), secret: secret, parameters: hotp, state: state, at: 0)
                == .accepted(OTPAcceptance(matched: 14, drift: 4)))
        #expect(verifier.verify(code: code(step: 15, parameters: hotp), secret: secret, parameters: hotp, state: state, at: 0) == .rejected(.mismatch))
        #expect(verifier.verify(code: code(step: 9, parameters: hotp), secret: secret, parameters: hotp, state: state, at: 0) == .rejected(.replayed))
        // A fresh device starts at counter 0 (RFC 4226 Appendix D's first code).
        #expect(verifier.verify(code: "755224", secret: secret, parameters: hotp, state: OTPDeviceState(), at: 0)
                == .accepted(OTPAcceptance(matched: 0, drift: 0)))
    }

    @Test("surrounding whitespace is ignored; wrong lengths and non-digits are malformed", arguments: [
        ("  CODE\n", true), ("\tCODE ", true), ("CODE", true),
        ("", false), ("12345", false), ("1234567", false), ("12 3456", false), ("12345a", false),
        ("１２３４５６", false), ("-12345", false), ("+12345", false), (String(repeating: "1", count: 1000), false),
    ])
    func normalization(input: String, isWellFormed: Bool) {
        let step = TOTP.step(at: now)
        let typed = input.replacingOccurrences(of: "CODE", with: code(step: step))
        let verdict = OTPVerifier().verify(code: typed, secret: secret, parameters: totp, state: OTPDeviceState(), at: now)
        if isWellFormed {
            #expect(verdict == .accepted(OTPAcceptance(matched: step, drift: 0)))
        } else {
            #expect(verdict == .rejected(.malformed))
        }
    }

    @Test("8-digit devices need 8 digits; a 6-digit prefix is malformed")
    func digitCount() {
        let eight = OTPParameters(digits: 8)
        let step = TOTP.step(at: now)
        let full = code(step: step, parameters: eight)
        #expect(OTPVerifier().verify(code: full, secret: secret, parameters: eight, state: OTPDeviceState(), at: now)
                == .accepted(OTPAcceptance(matched: step, drift: 0)))
        #expect(OTPVerifier().verify(code: String(full.suffix(6)), secret: secret, parameters: eight, state: OTPDeviceState(), at: now) == .rejected(.malformed))
    }

    @Test("parameters outside the supported range are refused with a message naming the value")
    func validation() {
        #expect(throws: CoreError.self) { try OTPParameters(digits: 5).validate() }
        #expect(throws: CoreError.self) { try OTPParameters(digits: 11).validate() }
        #expect(throws: CoreError.self) { try OTPParameters(period: 0).validate() }
        #expect(throws: CoreError.self) { try OTPParameters(period: 86_401).validate() }
        do {
            try OTPParameters(digits: 12).validate()
        } catch let error as CoreError {
            #expect(error.message.contains("12"))
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(throws: Never.self) { try OTPParameters(digits: 10, period: 1).validate() }
    }
}
