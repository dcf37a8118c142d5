import Foundation
import PortcullisTestSupport
import Testing

/// `--help` reads as paragraphs: no line of prose ends where the next word would still have fit in
/// the 79 columns the parser wraps at
/// (which is what a hard line break inside a help string looks like once the parser wraps it).
@Suite("help text") struct HelpTextTests {
    static let commands: [[String]] = [
        [], ["serve"], ["config"], ["config", "check"], ["config", "template"], ["access", "check"],
        ["user"], ["user", "add"], ["user", "list"], ["user", "show"], ["user", "remove"], ["user", "disable"], ["user", "enable"],
        ["user", "unlock"], ["user", "passwd"], ["user", "otp"], ["user", "otp", "add"], ["user", "otp", "list"], ["user", "otp", "remove"],
        ["user", "otp", "export"], ["user", "app-password"], ["user", "app-password", "add"], ["session"], ["session", "list"], ["session", "revoke"],
        ["ban"], ["ban", "list"], ["ban", "remove"], ["audit"], ["import"], ["import", "htpasswd"], ["storage"], ["storage", "backup"],
        ["storage", "restore"], ["storage", "rotate-key"], ["hash-password"],
    ]

    @Test("no help paragraph has a hard line break in the middle of a sentence")
    func paragraphsWrap() throws {
        for command in Self.commands {
            let help = try ProcessRunner.run(Binaries.path("portcullis"), command + ["--help"]).stdout
            // The overview and discussion: before USAGE.
            let prose = help.components(separatedBy: "\nUSAGE:")[0].split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for (line, next) in zip(prose, prose.dropFirst()) {
                guard !line.isEmpty, !line.hasPrefix(" "), !line.hasPrefix("portcullis "), !next.hasPrefix(" "), let word = next.split(separator: " ").first,
                      word.first?.isLowercase == true, !next.hasPrefix("portcullis ") else { continue }
                #expect(line.count + 1 + word.count > 79, "portcullis \(command.joined(separator: " ")) --help breaks after: \(line)")
            }
        }
    }
}
