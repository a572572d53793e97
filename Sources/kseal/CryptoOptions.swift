import ArgumentParser
import KsealCrypto

extension BackendPreference: ExpressibleByArgument {}

/// `--crypto`, which every command accepts.
struct CryptoOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Crypto backend: auto, kernel or userspace.", valueName: "backend"))
    var crypto: BackendPreference = .auto

    /// Selects the backend once for the command, or exits with the unavailable status.
    func select() throws -> BackendSelection {
        do {
            return try CryptoBackends.select(crypto)
        } catch {
            throw Failure.report(error)
        }
    }
}
