#if canImport(Glibc)
import Glibc
#endif
import KsealArchive

/// Asks for a passphrase on the controlling terminal (`/dev/tty`), with echo off, as ssh and
/// age do: standard input stays free for archives.
public enum PassphrasePrompt {
    public static func ask(confirm: Bool) throws -> Passphrase {
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)
        guard tty >= 0 else {
            throw ArchiveError(.usage, "no terminal to ask for the passphrase on; give --passphrase-file FILE or set KSEAL_PASSPHRASE_FILE")
        }
        defer { close(tty) }
        var saved = termios()
        guard tcgetattr(tty, &saved) == 0 else { throw ArchiveError(.usage, "cannot turn off echo on the terminal") }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        quiet.c_lflag |= tcflag_t(ECHONL)
        guard tcsetattr(tty, TCSAFLUSH, &quiet) == 0 else { throw ArchiveError(.usage, "cannot turn off echo on the terminal") }
        defer { _ = tcsetattr(tty, TCSAFLUSH, &saved) }
        let first = try line(tty, prompt: "Passphrase: ")
        if confirm {
            let second = try line(tty, prompt: "Passphrase again: ")
            guard first.bytesEqual(second) else { throw ArchiveError(.usage, "the passphrases differ") }
        }
        return first
    }

    private static func line(_ tty: Int32, prompt: String) throws -> Passphrase {
        _ = prompt.withCString { write(tty, $0, strlen($0)) }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = read(tty, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
            if bytes.count > 4096 { throw ArchiveError(.usage, "the passphrase is over 4096 bytes") }
        }
        defer { _ = bytes.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        return try Passphrase(bytes: bytes)
    }
}
