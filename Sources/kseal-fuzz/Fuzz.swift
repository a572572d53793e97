// kseal-fuzz: libFuzzer entry point over everything that parses archive bytes (FuzzHarness).
//
// Fuzzing build (Scripts/fuzz):  swift build --product kseal-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DKSEAL_FUZZ
// Plain build: a replayer, `kseal-fuzz FILE...` runs saved inputs (crash reproducers) once each,
// and `kseal-fuzz --write-seeds DIR VECTOR` writes the seed corpus.
@_spi(Testing) import KsealArchive
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    FuzzHarness.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if KSEAL_FUZZ
// SwiftPM links executables with main = <module>_main; hand control to libFuzzer's driver there.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32) -> Int32

@_cdecl("kseal_fuzz_main")
public func ksealFuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector, fuzzOneInput)
}
#else
@main
enum Replay {
    static func main() throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--write-seeds", arguments.count >= 3 {
            let vector = Array(try Data(contentsOf: URL(fileURLWithPath: arguments[2])))
            for (i, seed) in try FuzzHarness.seeds(vectorArchive: vector).enumerated() {
                try Data(seed).write(to: URL(fileURLWithPath: arguments[1] + "/seed-mode\(i)"))
            }
            // Further vectors (same key) are further whole-archive seeds: the v2 vector's.
            for (i, path) in arguments.dropFirst(3).enumerated() {
                try Data([0] + Array(try Data(contentsOf: URL(fileURLWithPath: path)))).write(to: URL(fileURLWithPath: arguments[1] + "/seed-mode0-\(i + 2)"))
            }
            return
        }
        arguments = arguments.filter { !$0.hasPrefix("-") }
        for path in arguments {
            FuzzHarness.run(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            print("ok: \(path)")
        }
    }
}
#endif
