import ArgumentParser
import KsealCommands
import KsealCrypto

struct Doctor: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        abstract: "Report whether the kernel serves kseal's algorithms through AF_ALG, with which drivers, and which backend would run."
    )

    @Option(name: .long, help: ArgumentHelp("The backend whose choice to report: auto, kernel or userspace; with kernel, exit 4 when it is unavailable.", valueName: "backend"))
    var crypto: BackendPreference = .auto

    @Flag(name: .long, help: "Print the report as one JSON object.")
    var json = false

    @Flag(name: .shortAndLong, help: "Accepted, as by every command; the report is doctor's output, so it is printed all the same.")
    var quiet = false

    func run() throws {
        try DoctorCommand.run(crypto: crypto, json: json)
    }
}
