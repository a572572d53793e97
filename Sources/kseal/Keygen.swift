import ArgumentParser
import FoundationEssentials
import KsealArchive

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a new 256-bit key file (mode 0600) from the system's random source.",
        discussion: "Without -o, writes the default key, which the other commands use when no key is named. Never overwrites a file. "
            + "The key comes from the kernel's random source (getrandom) whatever --crypto says; the option is accepted so every command takes it."
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the key (default: the default key).", valueName: "path"))
    var output: String?

    @OptionGroup var cryptoOptions: CryptoOptions

    func run() throws {
        try Failure.guarding {
            let path = output ?? DefaultKey.path
            if output == nil {
                try FileManager.default.createDirectory(atPath: String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]), withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            }
            try KeyFile.generate().write(to: path)
            cryptoOptions.note("wrote a new key to \(path)")
        }
    }
}
