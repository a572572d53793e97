/// Path arguments in bulk, without swift-argument-parser's quadratic cost.
///
/// ArgumentParser removes each parsed argument from an array and merges its origin into a set,
/// so n positional paths cost O(n²): 16,000 paths took 85 s in a debug build, 4,000 took 4.5 s
/// (measured). `create` and `extract` take any number of paths, so before parsing, every
/// positional argument of theirs after the first (the archive) is taken out here, in order, and
/// the commands append ``taken`` to what the parser left in `paths`. Everything else, options and
/// their values included, goes to the parser unchanged, so its errors and help stay its own.
///
/// Telling a positional argument from an option's value needs the options that take a value;
/// `valueOptions` lists them, and CLITests checks the list against the parser's own description
/// of each command (`--experimental-dump-help`).
enum BulkPaths {
    /// The paths taken out, in command-line order.
    nonisolated(unsafe) static var taken: [String] = []

    /// For each command, its options that take a value, as written on the command line.
    static let valueOptions: [String: Set<String>] = [
        "create": ["-T", "--files-from", "--exclude", "--exclude-from", "-k", "--key-file", "--key-keyring", "--passphrase-file", "--sign", "--level", "--format", "--owner", "--group", "--mtime", "--crypto", "--progress"],
        "extract": ["-C", "--strip-components", "-k", "--key-file", "--key-keyring", "--passphrase-file", "--trust", "--trust-dir", "--crypto", "--progress"],
    ]

    /// Splits kseal's arguments (without the program name) into those for the parser and the paths
    /// taken out, which it stores in ``taken``.
    static func split(_ arguments: [String]) -> [String] {
        guard let command = arguments.first, let options = valueOptions[command] else { return arguments }
        var kept = [command], paths: [String] = []
        var positionals = 0, afterTerminator = false, index = 1
        func keepNextValue() {
            if index + 1 < arguments.count { index += 1; kept.append(arguments[index]) }
        }
        while index < arguments.count {
            let argument = arguments[index]
            if afterTerminator || !argument.hasPrefix("-") || argument == "-" {
                if positionals == 0 { kept.append(argument) } else { paths.append(argument) }
                positionals += 1
            } else if argument == "--" {
                afterTerminator = true
                kept.append(argument)
            } else if argument.hasPrefix("--") {
                kept.append(argument)
                if !argument.contains("="), options.contains(argument) { keepNextValue() }
            } else {
                // A cluster of short options (-qk FILE): a value-taking one takes the rest of the
                // cluster, or the next argument when it ends the cluster.
                kept.append(argument)
                let letters = Array(argument.dropFirst())
                if let first = letters.firstIndex(where: { options.contains("-\($0)") }), first == letters.count - 1 { keepNextValue() }
            }
            index += 1
        }
        taken = paths
        return kept
    }
}
