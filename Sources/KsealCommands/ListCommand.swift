#if canImport(Glibc)
import Glibc
#endif
import KsealArchive

/// `list`: the entries of an archive, from its authenticated index.
public enum ListCommand {
    public static func run(_ input: ReaderInput, long: Bool, json: Bool, null: Bool) throws {
        let reader = try input.open()
        let entries = try reader.index.entries()
        if json {
            // One array, written entry by entry.
            Console.write(Array("[".utf8))
            var first = true
            while let entry = try entries.next() {
                Console.write(Array(((first ? "" : ",") + JSON.encode(EntryFormat.json(entry))).utf8))
                first = false
            }
            Console.print("]")
            return
        }
        // On a terminal, names are escaped: a name holding a newline or an escape sequence must
        // not fake lines or drive the terminal. Pipes and -0 get the raw bytes.
        let escape = !null && isatty(STDOUT_FILENO) != 0
        func shown(_ name: [UInt8]) -> [UInt8] { escape ? EntryFormat.escaped(name) : name }
        while let entry = try entries.next() {
            if long { Console.write(Array((EntryFormat.longPrefix(entry)).utf8)) }
            var line = shown(entry.path)
            if long, let target = entry.target {
                line += Array((entry.kind == .hardLink ? " link to " : " -> ").utf8) + shown(target)
            }
            Console.write(line + [null ? 0 : 10])
        }
    }
}
