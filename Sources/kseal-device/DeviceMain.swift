#if canImport(Glibc)
import Glibc
#endif
import KsealArchive
import KsealCommands
import KsealCrypto

/// The device's kseal: verify, extract, list, info and doctor, with the same options, output and
/// exit statuses as the full kseal, parsed by hand (`Arguments`) so that the binary links neither
/// swift-argument-parser nor FoundationEssentials. Built by `Scripts/setup --device`.
@main
enum DeviceMain {
    static func main() {
        ProcessEnvironment.limitMallocArenas(2)
        var arguments = Arguments(Array(CommandLine.arguments.dropFirst()))
        let command = arguments.next()
        var json = false
        do {
            switch command {
            case nil:
                Console.writeError(Usage.text)
                exit(ExitStatus.usage.rawValue)
            case "-h", "--help", "help":
                Console.write(Array(Usage.text.utf8))
            case "--version":
                Console.print(KsealVersion.string + " (device build: \(Build.name))")
            case let name? where DeviceCommands.names.contains(name) && (arguments.contains("--help") || arguments.contains("-h")):
                Console.write(Array(Usage.text.utf8))
            case let name? where DeviceCommands.names.contains(name):
                json = arguments.contains("--json")
                try Environment.checkWorkers()
                try DeviceCommands.run(name, &arguments)
            case let name?:
                throw ArchiveError(.usage, "unknown command '\(name)'; this device build has verify, extract, list, info and doctor (kseal --help)")
            }
            try Console.finishStandardOutput()
        } catch {
            exit(Failure.report(error, json: json).rawValue)
        }
        exit(ExitStatus.success.rawValue)
    }
}

/// Each command's options, as kseal(1) documents them, into KsealCommands' requests.
enum DeviceCommands {
    static let names: Set<String> = ["verify", "extract", "list", "info", "doctor"]

    static func run(_ command: String, _ arguments: inout Arguments) throws {
        switch command {
        case "doctor":
            var crypto = BackendPreference.auto, json = false
            while let option = try arguments.nextOption() {
                switch option {
                case "--crypto": crypto = try arguments.choice(for: option)
                case "--json": json = true
                case "-q", "--quiet": break
                default: throw arguments.unknown(option, command)
                }
            }
            try arguments.noOperands(command)
            try DoctorCommand.run(crypto: crypto, json: json)
        case "extract":
            var request = ExtractRequest(input: ReaderInput(archive: ""))
            while let option = try arguments.nextOption() {
                if try readerOption(option, &request.input, &arguments) { continue }
                switch option {
                case "-C": request.directory = try arguments.value(for: option)
                case "--strip-components": request.stripComponents = try arguments.number(for: option)
                case "--keep-directory-symlink": request.keepDirectorySymlink = true
                case "--no-same-owner": request.noSameOwner = true
                case "--numeric-owner": request.numericOwner = true
                case "--no-xattrs": request.noXattrs = true
                case "--no-acls": request.noACLs = true
                case "--no-selinux": request.noSELinux = true
                case "--stdout": request.stdout = true
                case "--json": request.json = true
                case "--verify-first": request.verifyFirst = true
                case "--progress": request.progress = try arguments.choice(for: option)
                default: throw arguments.unknown(option, command)
                }
            }
            request.input.archive = try arguments.archive(command)
            request.paths = arguments.operands
            try request.validate()
            try ExtractCommand.run(request)
        default:
            var input = ReaderInput(archive: "")
            var json = false, long = false, null = false, progress = ProgressMode.auto
            while let option = try arguments.nextOption() {
                if try readerOption(option, &input, &arguments) { continue }
                switch (command, option) {
                case (_, "--json"): json = true
                case ("verify", "--progress"): progress = try arguments.choice(for: option)
                case ("list", "-l"), ("list", "--long"): long = true
                case ("list", "-0"), ("list", "--null"): null = true
                default: throw arguments.unknown(option, command)
                }
            }
            input.archive = try arguments.archive(command)
            try arguments.noOperands(command)
            switch command {
            case "verify": try VerifyCommand.run(input, json: json, progress: progress)
            case "list": try ListCommand.run(input, long: long, json: json, null: null)
            default: try InfoCommand.run(input, json: json)
            }
        }
    }

    /// The options every reading command takes; false for any other.
    private static func readerOption(_ option: String, _ input: inout ReaderInput, _ arguments: inout Arguments) throws -> Bool {
        switch option {
        case "--trust": input.trust.append(try arguments.value(for: option))
        case "--trust-dir": input.trustDirectory = try arguments.value(for: option)
        case "-k", "--key-file": input.keys.keyFiles.append(try arguments.value(for: option))
        case "--key-keyring": input.keys.keyrings.append(try arguments.value(for: option))
        case "--passphrase": input.keys.askPassphrase = true
        case "--passphrase-file": input.keys.passphraseFile = try arguments.value(for: option)
        case "--crypto": input.crypto.preference = try arguments.choice(for: option)
        case "-q", "--quiet": input.crypto.quiet = true
        default: return false
        }
        return true
    }
}
