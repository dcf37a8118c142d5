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

/// Reads passwords without ever taking them from the command line: from standard input
/// (`--password-stdin`) or from a prompt on the terminal with echo turned off.
enum PasswordInput {
    /// The first line of standard input, without its line ending.
    static func readStandardInput(what: String = "password") throws -> String {
        guard let line = readLine(strippingNewline: true) else {
            throw CLIError("No \(what) on standard input. Pipe it in, e.g.: printf '%s\\n' \"$PASSWORD\" | portcullis ... --password-stdin")
        }
        let value = line.hasSuffix("\r") ? String(line.dropLast()) : line
        guard !value.isEmpty else { throw CLIError("The \(what) on standard input is empty.") }
        return value
    }

    /// Asks a question on the terminal and reads the answer (shown as typed); nil when there is no
    /// terminal to ask on.
    static func ask(_ question: String) -> String? {
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard tty >= 0 else { return nil }
        defer { close(tty) }
        _ = question.withCString { write(tty, $0, strlen($0)) }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count < 256, read(tty, &byte, 1) == 1, byte != UInt8(ascii: "\n") {
            if byte != UInt8(ascii: "\r") { bytes.append(byte) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Asks on the terminal, twice when `confirm` is set, without echoing what is typed.
    static func prompt(_ question: String, confirm: Bool) throws -> String {
        let first = try readHidden(question)
        guard !first.isEmpty else { throw CLIError("The password is empty; nothing was changed.") }
        if confirm {
            let second = try readHidden("Repeat it: ")
            guard first == second else { throw CLIError("The two passwords differ; nothing was changed.") }
        }
        return first
    }

    private static func readHidden(_ question: String) throws -> String {
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard tty >= 0 else {
            throw CLIError("There is no terminal to ask for the password on. Pipe it in with --password-stdin instead.")
        }
        defer { close(tty) }
        _ = question.withCString { write(tty, $0, strlen($0)) }
        var original = termios()
        tcgetattr(tty, &original)
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(tty, TCSAFLUSH, &silent)
        defer {
            tcsetattr(tty, TCSAFLUSH, &original)
            _ = "\n".withCString { write(tty, $0, 1) }
        }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while read(tty, &byte, 1) == 1, byte != UInt8(ascii: "\n") {
            if byte != UInt8(ascii: "\r") { bytes.append(byte) }
            guard bytes.count <= 4096 else { throw CLIError("The password is too long.") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A new password from standard input or a confirmed prompt, at least `minimumLength`
    /// characters long (`auth.password_min_length`).
    static func newPassword(fromStandardInput: Bool, minimumLength: Int) throws -> String {
        let password = fromStandardInput ? try readStandardInput() : try prompt("New password: ", confirm: true)
        guard password.count >= minimumLength else {
            throw CLIError("The password has \(password.count) character\(password.count == 1 ? "" : "s"); at least \(minimumLength) are needed (auth.password_min_length). A few words with spaces between them are easy to type and hard to guess.")
        }
        return password
    }
}
