import Foundation
import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

/// Building, reading and comparing archives in tests.
enum Fixture {
    static let keyBytes = [UInt8](repeating: 0x5A, count: 32)
    static let key = try! KeyFile(bytes: keyBytes)
    static let otherKey = try! KeyFile(bytes: Array(repeating: 0xA5, count: 32))

    /// Creates `archive` from `inputs` (run from `directory`, so names are relative).
    @discardableResult
    static func create(_ archive: String, inputs: [String], in directory: String, backend: any CryptoBackend = UserspaceBackend(),
                       options: CreateOptions = CreateOptions(), key: KeyFile = key) throws -> CreateSummary {
        let previous = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(directory)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        return try ArchiveWriter.create(paths: inputs.map { Array($0.utf8) }, destination: .file(archive), keyFile: key, backend: backend,
                                        options: options, warn: { _ in })
    }

    static func verify(_ archive: String, backend: any CryptoBackend = UserspaceBackend(), key: KeyFile = key) throws -> VerifyReport {
        try Verifier.verify(ArchiveReader(.file(archive), keyFile: key, backend: backend))
    }

    static func extract(_ archive: String, to directory: String, backend: any CryptoBackend = UserspaceBackend(),
                        options: ExtractOptions = ExtractOptions()) throws -> ExtractReport {
        try Extractor.extract(ArchiveReader(.file(archive), keyFile: key, backend: backend), to: .directory(directory), options: options)
    }

    /// Create, verify, extract; then the extracted tree must equal the input in every restored property.
    static func roundTrip(_ source: String, name: String, backend: any CryptoBackend = UserspaceBackend(), scratch: ScratchDirectory,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        let archive = scratch.path + "/\(name).kseal"
        let parent = (source as NSString).deletingLastPathComponent
        try create(archive, inputs: [(source as NSString).lastPathComponent], in: parent, backend: backend)
        let report = try verify(archive, backend: backend)
        XCTAssertTrue(report.isIntact, "verify: \(report)", file: file, line: line)
        let out = try scratch.sub("\(name)-out")
        let extracted = try extract(archive, to: out, backend: backend)
        XCTAssertTrue(extracted.isComplete, "extract: \(extracted)", file: file, line: line)
        let before = try TreeSnapshot(of: source)
        let after = try TreeSnapshot(of: out + "/" + (source as NSString).lastPathComponent)
        XCTAssertGreaterThan(before.nodes.count, 0, file: file, line: line)
        XCTAssertEqual(before.differences(from: after), [], file: file, line: line)
    }

    static func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    static func write(_ bytes: [UInt8], to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
}

/// Archive offsets of each region, computed from the header (for tampering at known places).
struct Regions {
    let header = 0..<128
    /// The key slots, each with its 4-byte prefix; `slot` is the first.
    let slots: [Range<Int>]
    var slot: Range<Int> { slots[0] }
    let mac: Range<Int>
    /// The sealed index, and a signed archive's signature record after it.
    let index: Range<Int>
    let frames: [Range<Int>]
    let end: Range<Int>

    init(archive: String, key: KeyFile = Fixture.key) throws {
        let reader = try ArchiveReader(.file(archive), keyFile: key, backend: UserspaceBackend())
        let bytes = try Fixture.bytes(archive)
        var slots: [Range<Int>] = [], offset = 128
        for _ in 0..<Int(reader.header.slotCount) {
            let length = Int(bytes[offset + 2]) | Int(bytes[offset + 3]) << 8
            slots.append(offset..<(offset + 4 + length))
            offset += 4 + length
        }
        self.slots = slots
        mac = offset..<(offset + 32)
        index = mac.upperBound..<Int(reader.frontLength)
        var start = Int(reader.frontLength)
        var frames: [Range<Int>] = []
        for chunk in try reader.index.allChunks() {
            frames.append(start..<(start + chunk.storedLength + 16))
            start += chunk.storedLength + 16
        }
        self.frames = frames
        end = start..<(start + 16)
    }
}
