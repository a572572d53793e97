#if canImport(Glibc)
import Glibc
#endif
import KsealArchive

/// `list`: the entries of an archive, from its authenticated index.
public enum ListCommand {
    public static func run(_ input: ReaderInput, long: Bool, json: Bool, null: Bool) throws {
        let reader = try input.open()
        if json {
            Console.print(JSON.encode(.array(reader.index.entries.map(EntryFormat.json))))
            return
        }
        // On a terminal, names are escaped: a name holding a newline or an escape sequence must
        // not fake lines or drive the terminal. Pipes and -0 get the raw bytes.
        let escape = !null && isatty(STDOUT_FILENO) != 0
        func shown(_ name: [UInt8]) -> [UInt8] { escape ? EntryFormat.escaped(name) : name }
        for entry in reader.index.entries {
            if long { Console.write(Array((EntryFormat.longPrefix(entry)).utf8)) }
            var line = shown(entry.path)
            if long, let target = entry.target {
                line += Array((entry.kind == .hardLink ? " link to " : " -> ").utf8) + shown(target)
            }
            Console.write(line + [null ? 0 : 10])
        }
    }
}
