import ArgumentParser

/// The `portcullis` command: nouns first, then verbs (`portcullis user add`).
@main
struct Portcullis: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portcullis",
        abstract: "A second factor (one-time codes) in front of any web app.",
        discussion: """
            Every command reads its configuration from --config FILE, else PORTCULLIS_CONFIG, else \
            ./portcullis.yml, else /etc/portcullis/portcullis.yml; without one, data lives in ./portcullis-data/. \
            Environment variables (PORTCULLIS_STORAGE_SQLITE_PATH, ...) override any key. Start with:

              portcullis user add alice          # asks for a password twice
              portcullis user otp add alice      # prints a QR code to scan
              portcullis serve                   # then open http://localhost:9091/login
            """,
        version: "0.1.0",
        subcommands: [ServeCommand.self, UserCommand.self, SessionCommand.self, BanCommand.self, AuditCommand.self, ImportCommand.self, ConfigCommand.self, AccessCommand.self, HashPasswordCommand.self, StorageCommand.self]
    )
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The YAML configuration file. Without it: PORTCULLIS_CONFIG, else ./portcullis.yml, else /etc/portcullis/portcullis.yml, else the built-in defaults.",
                                            valueName: "file"))
    var config: String?
    @Flag(name: .long, help: "Say which configuration and which store are used.")
    var verbose = false
}
