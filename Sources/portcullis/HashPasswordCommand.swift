import ArgumentParser
import PortcullisCore

struct HashPasswordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-password",
        abstract: "Print a password hash in the default format ($scrypt$, PHC string).",
        discussion: "Asks twice on the terminal, or reads the first line of standard input with --password-stdin."
    )
    @Flag(help: "Read the password from the first line of standard input.") var passwordStdin = false

    func run() throws {
        let password = try PasswordInput.newPassword(fromStandardInput: passwordStdin, minimumLength: 1)
        var random = SystemRandomNumberGenerator()
        print(try PasswordHasher().hash(password, using: &random))
    }
}
