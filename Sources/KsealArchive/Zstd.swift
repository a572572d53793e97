import CZstd

/// A zstd compression context, reused for every chunk on one thread.
final class ZstdCompressor {
    private let context: OpaquePointer

    /// - Parameters:
    ///   - level: zstd level (1…19; kseal's default is 3).
    ///   - windowLog: the largest window frames may use (log2 bytes); nil: the level's own.
    /// - Throws: ``ArchiveError`` if libzstd cannot allocate or rejects the level.
    init(level: Int32, windowLog: Int32? = nil) throws {
        guard let context = ZSTD_createCCtx() else { throw ArchiveError(.internal, "zstd: cannot allocate a compression context") }
        self.context = context
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level), "set level \(level)")
        if let windowLog { try check(ZSTD_CCtx_setParameter(context, ZSTD_c_windowLog, windowLog), "set windowLog \(windowLog)") }
        // The frame header records the content size; readers check it before allocating.
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1), "set contentSizeFlag")
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 0), "set checksumFlag")
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses `input` into `output`.
    /// - Returns: the compressed size, or nil when it would not be smaller than `output.count`
    ///   (the caller stores the chunk raw instead).
    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        let result = ZSTD_compress2(context, output.baseAddress, output.count, input.baseAddress, input.count)
        if ZSTD_isError(result) != 0 { return nil }
        return result
    }

    /// Compresses `data` whole, into a new array (for the index). The worst-case output buffer
    /// is allocated but not cleared, so only the pages the output fills become resident.
    func compress(_ data: UnsafeRawBufferPointer) throws -> [UInt8] {
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.bound(data.count), alignment: 16)
        defer { out.deallocate() }
        guard let count = compress(data, into: out) else { throw ArchiveError(.internal, "zstd: cannot compress \(data.count) bytes") }
        return Array(out[0..<count])
    }

    func compress(_ data: [UInt8]) throws -> [UInt8] { try data.withUnsafeBytes { try compress($0) } }

    static func bound(_ size: Int) -> Int { ZSTD_compressBound(size) }

    /// Compresses `count` bytes that arrive in pieces into one frame, handing the output on in
    /// pieces: the index of a large tree, without holding it. The size is pledged, so the header
    /// records it and the parameters adapt to it, and the frame is the same however the input is
    /// cut (`ZstdStreamTests`). It is not always the frame ``compress(_:into:)`` makes of the same
    /// bytes: libzstd does not promise that, and with a 2^17 window the two differ.
    /// - Parameters:
    ///   - input: calls its argument with each piece of input, in order; `count` bytes in all.
    ///   - output: takes each piece of output, in order.
    func compressStream(count: Int, input: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void,
                        output: (UnsafeRawBufferPointer) throws -> Void) throws {
        try check(ZSTD_CCtx_reset(context, ZSTD_reset_session_only), "reset")
        try check(ZSTD_CCtx_setPledgedSrcSize(context, UInt64(count)), "pledge \(count) bytes")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ZSTD_CStreamOutSize(), alignment: 64)
        defer { buffer.deallocate() }
        // Runs libzstd until the piece is consumed and, at the end, until the frame is flushed.
        func run(_ piece: UnsafeRawBufferPointer, _ directive: ZSTD_EndDirective) throws {
            var source = ZSTD_inBuffer(src: piece.baseAddress, size: piece.count, pos: 0)
            var pending = 1
            while source.pos < source.size || (directive == ZSTD_e_end && pending != 0) {
                var target = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
                pending = ZSTD_compressStream2(context, &target, &source, directive)
                try check(pending, "compress")
                if target.pos > 0 { try output(UnsafeRawBufferPointer(rebasing: buffer[0..<target.pos])) }
            }
        }
        try withoutActuallyEscaping(run) { run in
            try input { try run($0, ZSTD_e_continue) }
            try run(UnsafeRawBufferPointer(start: nil, count: 0), ZSTD_e_end)
        }
    }

    private func check(_ code: Int, _ what: String) throws {
        if ZSTD_isError(code) != 0 {
            throw ArchiveError(.internal, "zstd: cannot \(what): \(String(cString: ZSTD_getErrorName(code)))")
        }
    }
}

/// A zstd decompression context with a bounded window, reused on one thread.
///
/// Decompression is one call into a buffer of exactly the declared content size, which needs no
/// window buffer, and libzstd ignores `ZSTD_d_windowLogMax` there (measured with libzstd 1.5.4:
/// frames declaring windows of 2^18 to 2^28 decoded under a 2^17 limit). The limit is therefore
/// checked here, on the frame header (RFC 8878 §3.1.1.1.2), so kseal refuses exactly the frames
/// that a streaming reader with the spec's bound (§6, §8) would.
final class ZstdDecompressor {
    private let context: OpaquePointer
    private let windowLogMax: Int32

    /// - Parameter windowLogMax: the largest window a frame may ask for (log2 bytes).
    init(windowLogMax: Int32) throws {
        guard let context = ZSTD_createDCtx() else { throw ArchiveError(.internal, "zstd: cannot allocate a decompression context") }
        self.context = context
        self.windowLogMax = windowLogMax
        if ZSTD_isError(ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, windowLogMax)) != 0 {
            throw ArchiveError(.internal, "zstd: cannot bound the window")
        }
    }

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses one frame that must expand to exactly `output.count` bytes.
    ///
    /// The declared content size is checked before any work, and the output buffer is the bound,
    /// so a frame that claims or produces more (a decompression bomb) fails without allocating.
    /// - Throws: ``ArchiveError`` `.damaged` describing the mismatch.
    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, what: String) throws {
        let declared = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        guard declared == UInt64(output.count) else {
            let shown = declared >= ZSTD_CONTENTSIZE_ERROR ? "no valid size" : "\(declared) bytes"
            throw ArchiveError(.damaged, "\(what): zstd frame declares \(shown), expected \(output.count)")
        }
        if let window = Self.declaredWindow(input), window > UInt64(1) << windowLogMax {
            throw ArchiveError(.damaged, "\(what): zstd frame asks for a \(window)-byte window, over the limit of 2^\(windowLogMax)")
        }
        let result = ZSTD_decompressDCtx(context, output.baseAddress, output.count, input.baseAddress, input.count)
        if ZSTD_isError(result) != 0 {
            throw ArchiveError(.damaged, "\(what): zstd: \(String(cString: ZSTD_getErrorName(result)))")
        }
        guard result == output.count else {
            throw ArchiveError(.damaged, "\(what): zstd produced \(result) bytes, expected \(output.count)")
        }
    }

    /// The Window_Size a frame's header declares, or nil for a single-segment frame (whose window
    /// is its content size, already checked) or a header too short to tell (left to libzstd).
    static func declaredWindow(_ frame: UnsafeRawBufferPointer) -> UInt64? {
        guard frame.count >= 6 else { return nil }
        let descriptor = frame[4]
        guard descriptor & 0x20 == 0 else { return nil }  // Single_Segment_flag
        let exponent = UInt64(frame[5] >> 3), mantissa = UInt64(frame[5] & 7)
        let base = UInt64(1) << (10 + exponent)
        return base + base / 8 * mantissa
    }
}

extension ZstdDecompressor {
    /// Decompresses a zstd frame that arrives in pieces, handing the output on in pieces: for
    /// an index too large to hold (spec §8 step 6). The same checks as ``decompress(_:into:what:)``:
    /// the declared content size must be `expected`, the window within the limit (libzstd
    /// enforces it when streaming), and exactly `expected` bytes must come out.
    /// - Parameters:
    ///   - input: calls its argument with each piece of compressed input, in order.
    ///   - output: takes each piece of output, in order.
    func decompressStream(expected: Int, what: String, input: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void,
                          output: (UnsafeRawBufferPointer) throws -> Void) throws {
        _ = ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 128 << 10, alignment: 64)
        defer { buffer.deallocate() }
        var produced = 0, frameEnded = false
        // The frame header (at most 18 bytes) may span pieces: its declared size is checked once
        // it is all there.
        var header: [UInt8]? = []
        func checkDeclaredSize() throws {
            guard let bytes = header else { return }
            header = nil
            let declared = bytes.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
            guard declared == UInt64(expected) else {
                let shown = declared >= ZSTD_CONTENTSIZE_ERROR ? "no valid size" : "\(declared) bytes"
                throw ArchiveError(.damaged, "\(what): zstd frame declares \(shown), expected \(expected)")
            }
        }
        try withoutActuallyEscaping(output) { output in try input { piece in
            if header != nil {
                header! += piece.prefix(18 - header!.count)
                if header!.count == 18 { try checkDeclaredSize() }
            }
            var source = ZSTD_inBuffer(src: piece.baseAddress, size: piece.count, pos: 0)
            var outputFull = false
            // Until the piece is consumed and libzstd has nothing left to flush (it may hold
            // output back when the buffer filled up; a call after the frame ended would start
            // waiting for another).
            while source.pos < source.size || (outputFull && !frameEnded) {
                var target = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
                let result = ZSTD_decompressStream(context, &target, &source)
                if ZSTD_isError(result) != 0 {
                    throw ArchiveError(.damaged, "\(what): zstd: \(String(cString: ZSTD_getErrorName(result)))")
                }
                produced += target.pos
                guard produced <= expected else { throw ArchiveError(.damaged, "\(what): zstd produced more than the \(expected) bytes expected") }
                if target.pos > 0 { try output(UnsafeRawBufferPointer(rebasing: buffer[0..<target.pos])) }
                frameEnded = result == 0
                outputFull = target.pos == target.size
            }
        } }
        try checkDeclaredSize()
        guard frameEnded, produced == expected else {
            throw ArchiveError(.damaged, "\(what): zstd produced \(produced) bytes, expected \(expected)")
        }
    }
}
