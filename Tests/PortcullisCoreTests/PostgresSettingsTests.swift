import PortcullisCore
import Testing

@Suite struct PostgresSettingsTests {
    func load(_ yaml: String?, _ environment: [String: String] = [:]) throws -> Configuration {
        try ConfigurationLoader.load(yaml: yaml, source: "test.yml", environment: environment) { _ in "from-a-file" }
    }

    func problems(_ yaml: String?, _ environment: [String: String] = [:]) -> String {
        do {
            _ = try load(yaml, environment)
            return ""
        } catch {
            return "\(error)"
        }
    }

    @Test("a URL gives every part; keys beside it override them; the environment overrides the file")
    func urlAndKeys() throws {
        let configuration = try load("""
            storage:
              postgres:
                url: postgres://gate@db.internal:6543/auth?sslmode=verify-full&pool_size=20
                port: 7000
            """, ["PORTCULLIS_STORAGE_POSTGRES_PASSWORD": "s3cret", "PORTCULLIS_STORAGE_POSTGRES_DATABASE": "gate2"])
        let postgres = try #require(configuration.postgres)
        #expect(postgres.username == "gate" && postgres.host == "db.internal" && postgres.port == 7000 && postgres.database == "gate2")
        #expect(postgres.tls == .verifyFull && postgres.poolSize == 20 && postgres.password == "s3cret")
        #expect(postgres.description == "PostgreSQL database gate2 on db.internal:7000 as gate")
        #expect(!postgres.description.contains("s3cret"))
        #expect(try load(nil).postgres == nil)
    }

    @Test("URLs as libpq writes them: percent escapes, IPv6, a socket folder, no parts at all")
    func urlForms() {
        var settings = PostgresSettings()
        let applied1 = settings.apply(url: "postgresql://us%40er:p%3Ass@[::1]:5433/my%2Ddb")
        #expect(applied1)
        #expect(settings.username == "us@er" && settings.password == "p:ss" && settings.host == "::1" && settings.port == 5433 && settings.database == "my-db")
        #expect(settings.description == "PostgreSQL database my-db on [::1]:5433 as us@er")

        settings = PostgresSettings()
        let applied2 = settings.apply(url: "postgres:///portcullis?host=/var/run/postgresql")
        #expect(applied2)
        #expect(settings.unixSocketPath == "/var/run/postgresql/.s.PGSQL.5432")
        #expect(settings.description.contains("the socket /var/run/postgresql/.s.PGSQL.5432"))

        settings = PostgresSettings()
        let applied3 = settings.apply(url: "postgres://")
        #expect(applied3)
        #expect(settings == PostgresSettings())

        for bad in ["mysql://x/y", "postgres://h:99999/db", "postgres://h:port/db", "postgres://h/db?sslmode=maybe", "postgres://h/db?pool_size=0",
                    "postgres://h/db?unknown=1", "postgres://u%zz@h/db", "postgres://u%00@h/db", "postgres://h/a/b", "postgres://[::1/db",
                    "postgres://h /db", "postgres://h/db?pool_size=100000", "postgres://::1/db", "postgres://[]/db", "postgres://u%+F@h/db",
                    "postgres://h/" + String(repeating: "d", count: 64), "postgres://h/db?password=x"] {
            var untouched = PostgresSettings()
            let applied = untouched.apply(url: bad)
            #expect(!applied, "\(bad)")
            #expect(untouched == PostgresSettings(), "\(bad)")
        }
    }

    @Test("a password is never read from the file itself; one store only; TLS options that cannot work are refused")
    func refusals() {
        #expect(problems("storage:\n  postgres:\n    password: hunter2\n").contains("must not be written in test.yml"))
        let inURL = problems("storage:\n  postgres:\n    url: postgres://gate:hunter2@db/auth\n")
        #expect(inURL.contains("holds a password") && inURL.contains("PORTCULLIS_STORAGE_POSTGRES_PASSWORD"))
        #expect(!inURL.contains("hunter2"))
        #expect(problems(nil, ["PORTCULLIS_STORAGE_POSTGRES_URL": "postgres://gate:hunter2@db/auth"]).isEmpty)
        // A password in a URL that is refused for another reason is never echoed, wherever it sits.
        for url in ["postgres://gate:hun/ter2@db/auth?sslmode=bad", "postgres://gate@db/auth?password=hunter2"] {
            let refused = problems("storage:\n  postgres:\n    url: \(url)\n") + problems(nil, ["PORTCULLIS_STORAGE_POSTGRES_URL": url])
            #expect(!refused.isEmpty && !refused.contains("hunter2") && !refused.contains("hun/ter2"), "\(refused)")
        }
        #expect(problems("storage:\n  sqlite:\n    path: a.db\n  postgres:\n    host: db\n").contains("configure exactly one store"))
        #expect(problems("storage:\n  postgres:\n    tls: prefer\n    tls_ca_file: ca.pem\n").contains("only checked with verify-full"))
        #expect(problems("storage:\n  postgres:\n    password_file: pw\n", ["PORTCULLIS_STORAGE_POSTGRES_PASSWORD": "x"]).contains("both given"))
        let badPort = problems("storage:\n  postgres:\n    port: 0\n")
        #expect(badPort.contains("storage.postgres.port") && badPort.contains("1 to 65535"))
        #expect(problems("storage:\n  postgres:\n    tls: sometimes\n").contains("disable, prefer, require or verify-full"))
        #expect(problems("storage:\n  postgres:\n    pool_size: 1000\n").contains("storage.postgres.pool_size"))
    }

    @Test("a store reached over the network without a checked certificate is warned about; a socket, loopback or verify-full is not")
    func tlsWarning() throws {
        let warned = try load("storage:\n  postgres:\n    host: db.internal\n")
        #expect(warned.warnings.contains { $0.contains("storage.postgres.tls is prefer for db.internal") && $0.contains("verify-full") })
        for quiet in ["host: db.internal\n    tls: verify-full", "host: /var/run/postgresql", "host: localhost", "host: 127.0.0.1"] {
            #expect(try load("storage:\n  postgres:\n    \(quiet)\n").warnings.isEmpty, "\(quiet)")
        }
    }

    @Test("a password file's path is resolved against the configuration's folder, like the other paths")
    func passwordFilePath() throws {
        let configuration = try ConfigurationLoader.load(yaml: "storage:\n  postgres:\n    password_file: secrets/pg\n", source: "/etc/portcullis/portcullis.yml",
                                                         environment: [:], readFile: { _ in "" }, baseDirectory: "/etc/portcullis")
        #expect(configuration.postgres?.passwordFile == "/etc/portcullis/secrets/pg")
    }
}
