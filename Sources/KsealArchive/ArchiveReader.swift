#if canImport(Glibc)
import Glibc
#endif
import KsealCrypto

/// Where an archive is read from. Reading is strictly sequential, so a pipe works as well as a file.
public enum ArchiveSource: Sendable {
    case file(String)
    case standardInput
}

/// Sequential, buffered reads with exact lengths; running out is damage (truncation).
final class ByteSource {
    private let file: SystemFile
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private(set) var offset: Int64 = 0

    init(_ file: SystemFile, bufferSize: Int = 256 << 10) {
        self.file = file
        buffer = .allocate(byteCount: bufferSize, alignment: 64)
    }

    deinit { buffer.deallocate() }

    /// Fills `target` completely.
    /// - Throws: ``ArchiveError`` `.damaged` ("truncated") at end of input, `.io` on read errors.
    func read(into target: UnsafeMutableRawBufferPointer, what: @autoclosure () -> String) throws {
        if try readAvailable(into: target) < target.count { throw truncated(what()) }
    }

    /// Fills as much of `target` as the input holds.
    /// - Returns: the bytes read: `target.count`, or fewer only at end of input.
    /// - Throws: ``ArchiveError`` `.io` on read errors.
    func readAvailable(into target: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < target.count {
            if start == end {
                // Large reads bypass the buffer.
                if target.count - filled >= buffer.count {
                    let n = try file.readFully(into: UnsafeMutableRawBufferPointer(rebasing: target[filled...]))
                    filled += n
                    offset += Int64(n)
                    return filled
                }
                start = 0
                end = try file.readFully(into: buffer)
                if end == 0 { return filled }
            }
            let n = min(end - start, target.count - filled)
            (target.baseAddress! + filled).copyMemory(from: buffer.baseAddress! + start, byteCount: n)
            start += n
            filled += n
            offset += Int64(n)
        }
        return filled
    }

    func read(_ count: Int, what: @autoclosure () -> String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try read(into: $0, what: what()) }
        return bytes
    }

    /// Bytes of a regular file taken by ``takeRegion(_:copyingBufferedInto:)``: the first
    /// `buffered` were read ahead and copied; byte `buffered + i` is at `fileOffset + i` in
    /// `file`, for `pread` from any thread; `available` in all (fewer than asked where the file ends).
    struct Region {
        let file: SystemFile
        let fileOffset: Int64
        let buffered: Int
        let available: Int

        /// Reads the region's bytes from `start` on (at or past `buffered`) into `target`, which
        /// are frame `ordinal`'s.
        /// - Returns: nil, or why not: the file shrank since the region was taken (damage) or
        ///   could not be read.
        func read(into target: UnsafeMutableRawBufferPointer, from start: Int, frame ordinal: Int) -> ArchiveError? {
            do {
                let got = try file.pread(into: target, at: fileOffset + Int64(start - buffered))
                return got < target.count ? ArchiveError(.damaged, "frame \(ordinal): the archive shrank while it was read") : nil
            } catch let error as ArchiveError {
                return error
            } catch {
                return ArchiveError(.io, "frame \(ordinal): \(error)")
            }
        }
    }

    /// For a regular file: takes the next `count` bytes as a ``Region`` the caller reads itself,
    /// copying into `target` those already read ahead; with no `target`, the caller reads every
    /// byte itself and what was read ahead is dropped. The source then continues after the
    /// region. Nil for a pipe, which only reads in order (nothing is taken then).
    func takeRegion(_ count: Int, copyingBufferedInto target: UnsafeMutableRawBufferPointer?) throws -> Region? {
        let status = try file.status()
        guard case .regular = status.kind else { return nil }
        if target == nil && start < end {
            // The source reads the file from its start, so its offset is the file's.
            try file.seek(to: offset)
            start = 0
            end = 0
        }
        let buffered = min(end - start, count)
        if buffered > 0 { target!.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: buffered) }
        start += buffered
        // Where the file's own position is: after what the buffer holds.
        let fileOffset = offset + Int64(buffered) + Int64(end - start)
        let available = buffered + Int(max(0, min(Int64(count - buffered), status.size - fileOffset)))
        if available > buffered {
            // Nothing else is buffered when the region goes beyond the buffer.
            try file.seek(to: fileOffset + Int64(available - buffered))
        }
        offset += Int64(available)
        dropReadAhead()
        return Region(file: file, fileOffset: fileOffset, buffered: buffered, available: available)
    }

    /// Once frames are read by region (`pread`), only the end marker is read through the buffer:
    /// a small one is then enough, and the 256 KiB that read the front are given back.
    private func dropReadAhead() {
        guard start == end, buffer.count > Self.smallBuffer else { return }
        buffer.deallocate()
        buffer = .allocate(byteCount: Self.smallBuffer, alignment: 64)
        start = 0
        end = 0
    }

    private static let smallBuffer = 4096

    /// True when no byte is left.
    func isAtEnd() throws -> Bool {
        if start < end { return false }
        start = 0
        end = try file.readFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<1]))
        return end == 0
    }

    func truncated(_ what: String) -> ArchiveError {
        ArchiveError(.damaged, "archive truncated: input ends at byte \(offset) inside \(what)")
    }
}

/// An archive opened for reading: header, key slot and index authenticated (spec §8 steps 1–6);
/// frames follow through ``FrameReader``.
public final class ArchiveReader {
    public let header: ArchiveHeader
    public let index: ArchiveIndex
    public let backend: any CryptoBackend
    let source: ByteSource
    let subkeys: Subkeys
    /// Bytes before the first frame.
    public let frontLength: Int64
    /// The key slots' kinds, in order (authenticated by the header MAC).
    public let slotKinds: [UInt16]
    /// The slot that opened (0-based), and the key that opened it (its index in the keys given).
    public let openedSlot: Int, openingKey: Int
    /// Whether the archive is signed, by whom, and whether the trust policy trusts that key.
    public let signature: SignatureVerdict
    /// What checked the signature: the kernel, or user space and why (nil when unsigned).
    public let signatureCheckedBy: String?

    /// Opens and authenticates everything before the frames.
    /// - Throws: ``ArchiveError``: `.wrongKey` when no slot opens, `.damaged` for any failed check,
    ///   `.unsupported` for a newer format.
    public convenience init(_ archive: ArchiveSource, keyFile: KeyFile, backend: any CryptoBackend, trust: TrustPolicy = TrustPolicy()) throws {
        try self.init(archive, keyFiles: [keyFile], backend: backend, trust: trust)
    }

    /// Opens with whichever of `keyFiles` and `passphrases` opens a slot: slots in order, each
    /// tried with every key or passphrase of its kind. With a non-empty `trust`, an archive not
    /// signed by one of its keys is refused (`.untrusted`) before its index is decompressed or
    /// parsed (spec §4.4).
    public init(_ archive: ArchiveSource, keyFiles: [KeyFile], passphrases: [Passphrase] = [], backend: any CryptoBackend,
                trust: TrustPolicy = TrustPolicy()) throws {
        precondition(!keyFiles.isEmpty || !passphrases.isEmpty, "no key to open the archive with")
        let file: SystemFile
        switch archive {
        case .file(let path): file = try SystemFile.open(path, flags: O_RDONLY | O_CLOEXEC)
        case .standardInput: file = SystemFile.standardInput()
        }
        self.backend = backend
        source = ByteSource(file)
        // 1.–5. Header, key slots, a slot opened, commitment and header MAC.
        let front: ArchiveFront
        do {
            front = try ArchiveFront(source: source, keyFiles: keyFiles, passphrases: passphrases, backend: backend)
        } catch let error as CryptoError {
            throw ArchiveError.crypto(error, "opening the archive")
        }
        header = front.header
        subkeys = front.subkeys
        (openedSlot, openingKey) = (front.openedSlot, front.openingKey)
        slotKinds = front.slots.map(\.kind)
        do {
            // 6. Index: every segment opened before SQLite sees a byte, and the signature (if
            // any) checked before the index is decompressed. Beyond 256 KiB, both the compressed
            // and the decoded index are in temporary files, unlinked while open (IndexImage), and
            // the index is validated and read in streams (IndexLoader, EntryCursor): memory stays flat.
            let database: Database
            do {
                let sealedIndex = try front.readIndex(from: source, backend: backend, trust: trust)
                (signature, signatureCheckedBy) = (sealedIndex.signature, sealedIndex.checkedBy)
                database = try IndexImage.open(sealedIndex.compressed, plainLength: Int(header.indexPlainLength))
            }
            index = try ArchiveIndex.load(database, header: header)
        } catch let error as CryptoError {
            throw ArchiveError.crypto(error, "opening the archive")
        }
        frontLength = source.offset
    }

    /// Reads the frames that follow, in order.
    /// - Parameters:
    ///   - opening: the frames to authenticate and decode; nil for all. The others are only read past.
    ///   - keepingPlaintext: whether ``FrameReader/plain`` is wanted; without it, frames are
    ///     checked and their plaintext dropped, in less memory (verify).
    public func frames(opening: Set<Int>? = nil, keepingPlaintext: Bool = true) throws -> FrameReader {
        try FrameReader(self, opening: opening, keepingPlaintext: keepingPlaintext)
    }
}
