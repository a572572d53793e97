// swift-tools-version:6.1
//
// Layers, bottom up (each knows nothing of the ones above it):
//   CAFAlg        C shim: <linux/if_alg.h>, <linux/cryptouser.h> and the CMSG_* macros
//   AFAlg         the kernel crypto API through AF_ALG sockets; no archives, no swift-crypto
//   KsealCrypto   one CryptoBackend protocol; kernel (AFAlg) and user-space (swift-crypto) backends
//   CSystemShim   glibc calls hidden behind _GNU_SOURCE (copy_file_range, getrandom)
//   KsealArchive  the on-disk format (mirrors Formats/), zstd and SQLite wrappers, create/verify/extract
//   kseal         the CLI: argument parsing only, one file per subcommand
import PackageDescription

let package = Package(
    name: "kseal",
    products: [
        .executable(name: "kseal", targets: ["kseal"]),
        .library(name: "AFAlg", targets: ["AFAlg"]),
        .library(name: "KsealCrypto", targets: ["KsealCrypto"]),
        .library(name: "KsealArchive", targets: ["KsealArchive"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
    ],
    targets: [
        .target(name: "CAFAlg"),
        .target(name: "CSystemShim"),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "AFAlg", dependencies: ["CAFAlg"]),
        .target(
            name: "KsealCrypto",
            dependencies: ["AFAlg", .product(name: "Crypto", package: "swift-crypto"), .product(name: "CryptoExtras", package: "swift-crypto"),
                           .product(name: "X509", package: "swift-certificates")]
        ),
        .target(
            name: "KsealArchive",
            dependencies: ["KsealCrypto", "CZstd", "CSQLite", "CSystemShim"],
            // Links to Formats/kseal-index-v{1,2}.sql, compiled in: the writer runs the normative text itself.
            resources: [.embedInCode("kseal-index-v1.sql"), .embedInCode("kseal-index-v2.sql")]
        ),
        .executableTarget(
            name: "kseal",
            dependencies: ["KsealArchive", "KsealCrypto", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "kseal-bench", dependencies: ["KsealCrypto", "AFAlg"]),
        // libFuzzer target (Scripts/fuzz); a plain build replays saved inputs.
        .executableTarget(name: "kseal-fuzz", dependencies: ["KsealArchive"]),
        // Shared by the test targets only: backend choice for tests (skip on the host, fail inside
        // the kernel harness) and fixtures.
        .target(
            name: "KsealTestSupport",
            dependencies: ["KsealCrypto", "KsealArchive", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/KsealTestSupport"
        ),
        .testTarget(name: "AFAlgTests", dependencies: ["AFAlg", "KsealTestSupport"]),
        .testTarget(
            name: "KsealCryptoTests",
            dependencies: ["KsealCrypto", "AFAlg", "KsealTestSupport", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["Vectors"]
        ),
        .testTarget(name: "KsealArchiveTests", dependencies: ["KsealArchive", "KsealCrypto", "AFAlg", "KsealTestSupport"]),
        .testTarget(name: "KsealCLITests", dependencies: ["kseal", "KsealTestSupport"]),
    ]
)
