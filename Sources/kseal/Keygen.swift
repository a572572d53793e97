#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FoundationEssentials
import KsealArchive
import KsealCommands

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a new 256-bit key file (mode 0600), or with --signing a signing key (P-256, or Ed25519) and its public key.",
        discussion: "Without -o, writes the default key, which the other commands use when no key is named. Never overwrites a file. "
            + "The key comes from the kernel's random source (getrandom) whatever --crypto says; the option is accepted so every command takes it."
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the key (default: the default key; with --signing, required); - writes it to a pipe.", valueName: "path"))
    var output: String?

    @Flag(name: .customLong("signing"), help: "Make a signing key for create --sign (mode 0600) and its public key PATH.pub, for --trust on devices.")
    var signing = false

    @Option(name: .customLong("algorithm"), help: ArgumentHelp(
        "With --signing: p256 (the default; ECDSA, which a Linux 6.12+ kernel checks itself) or ed25519.", valueName: "name"))
    var algorithm: String = "p256"

    @OptionGroup var cryptoOptions: CryptoOptions

    func run() throws {
        if signing {
            guard let output, output != "-" else {
                throw ArchiveError(.usage, "keygen --signing needs -o PATH, a file: the signing key goes there, its public key to PATH.pub")
            }
            guard let chosen = SignatureAlgorithm.allCases.first(where: { $0.name == algorithm }) else {
                throw ArchiveError(.usage, "--algorithm \(algorithm): give p256 or ed25519")
            }
            let key = try SigningKey.generate(chosen)
            try key.write(to: output)
            cryptoOptions.choice.note("wrote a new signing key to \(output) and its public key \(key.publicKey) to \(output).pub")
            return
        }
        if output == "-" {
            // For a key that should never touch a disk: kseal keygen -o - | keyctl padd logon kseal:NAME @u
            guard isatty(STDOUT_FILENO) == 0 else { throw ArchiveError(.usage, "keygen -o - writes 32 raw bytes: pipe them (to keyctl padd), not to a terminal") }
            try KeyFile.generate().withBytes { Console.write($0) }
            return
        }
        let path = output ?? DefaultKey.path
        if output == nil {
            try FileManager.default.createDirectory(atPath: String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]), withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        try KeyFile.generate().write(to: path)
        cryptoOptions.choice.note("wrote a new key to \(path)")
    }
}
