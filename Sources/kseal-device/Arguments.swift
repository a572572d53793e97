import KsealArchive

/// A command line as kseal's full parser reads it: options anywhere, `--name=value` or
/// `--name value`, short options alone or clustered (`-qk KEY`), `--` ending options, `-` an
/// operand. Every problem is a usage error (status 64).
struct Arguments {
    /// Options that take a value, long and short; the rest are flags.
    static let valued: Set<String> = ["--trust", "--trust-dir", "-k", "--key-file", "--key-keyring", "--passphrase-file", "--crypto", "-C",
                                      "--strip-components", "--progress"]

    private var rest: [String]
    private var pending: [String] = []  // flags split off a short cluster, and an inline value
    private var inlineValue: String?
    private var lastOption = ""
    private(set) var operands: [String] = []
    private var optionsEnded = false

    init(_ arguments: [String]) { rest = arguments }

    func contains(_ argument: String) -> Bool { rest.contains(argument) }

    /// The next argument as it is (the command name).
    mutating func next() -> String? { rest.isEmpty ? nil : rest.removeFirst() }

    /// The next option, collecting operands on the way; nil at the end.
    mutating func nextOption() throws -> String? {
        if inlineValue != nil { throw ArchiveError(.usage, "'\(lastOption)' takes no value") }
        lastOption = try nextOptionName() ?? ""
        return lastOption.isEmpty ? nil : lastOption
    }

    private mutating func nextOptionName() throws -> String? {
        if !pending.isEmpty { return pending.removeFirst() }
        while let argument = next() {
            if optionsEnded || argument == "-" || !argument.hasPrefix("-") {
                operands.append(argument)
            } else if argument == "--" {
                optionsEnded = true
            } else if argument.hasPrefix("--") {
                guard let equals = argument.firstIndex(of: "=") else { return argument }
                inlineValue = String(argument[argument.index(after: equals)...])
                return String(argument[..<equals])
            } else {
                // -qk KEY: each letter a flag, a value-taking letter takes the rest or the next argument.
                var letters = Array(argument.dropFirst())
                while !letters.isEmpty {
                    let option = "-" + String(letters.removeFirst())
                    pending.append(option)
                    if Self.valued.contains(option), !letters.isEmpty {
                        inlineValue = String(letters)
                        break
                    }
                }
                return pending.removeFirst()
            }
        }
        return nil
    }

    mutating func value(for option: String) throws -> String {
        if let value = inlineValue { inlineValue = nil; return value }
        guard Self.valued.contains(option), let value = next() else { throw ArchiveError(.usage, "missing value for '\(option)'") }
        return value
    }

    mutating func number(for option: String) throws -> Int {
        let text = try value(for: option)
        guard let number = Int(text) else { throw ArchiveError(.usage, "the value '\(text)' of '\(option)' is not a number") }
        return number
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(for option: String) throws -> T where T.RawValue == String {
        let text = try value(for: option)
        guard let choice = T(rawValue: text) else {
            throw ArchiveError(.usage, "the value '\(text)' of '\(option)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return choice
    }

    func unknown(_ option: String, _ command: String) -> ArchiveError {
        ArchiveError(.usage, "unknown option '\(option)' for \(command) (kseal \(command) --help)")
    }

    /// The archive operand, which reading commands need first.
    mutating func archive(_ command: String) throws -> String {
        guard !operands.isEmpty else { throw ArchiveError(.usage, "missing the archive: kseal \(command) [options] ARCHIVE") }
        return operands.removeFirst()
    }

    func noOperands(_ command: String) throws {
        guard operands.isEmpty else { throw ArchiveError(.usage, "unexpected argument '\(operands[0])' for \(command)") }
    }
}
