// swift-tools-version:6.1
//
// Layers, bottom up (each knows nothing of the ones above it):
//   CAFAlg        C shim: <linux/if_alg.h>, <linux/cryptouser.h> and the CMSG_* macros
//   AFAlg         the kernel crypto API through AF_ALG sockets; no archives, no swift-crypto
//   KsealCrypto   one CryptoBackend protocol; kernel (AFAlg) and user-space (swift-crypto) backends
//   CSystemShim   glibc calls hidden behind _GNU_SOURCE (copy_file_range, getrandom)
//   KsealArchive  the on-disk format (mirrors Formats/), zstd and SQLite wrappers, create/verify/extract
//   KsealCommands what the commands do and print, and the exit-status table; no argument parser
//   kseal         the CLI: argument parsing only (swift-argument-parser), one file per subcommand
//   kseal-device  the device's CLI (verify, extract, list, info, doctor): a small hand parser over
//                 KsealCommands, so the device binary links neither swift-argument-parser nor
//                 FoundationEssentials (7.5 MB of a static binary, measured)
//
// The trait UserspaceCrypto (on by default) links swift-crypto and swift-certificates: the
// user-space backend, signing, Ed25519 and scrypt. Without it (`--disable-default-traits`) every
// primitive goes through AF_ALG and keyctl: the kernel-only build, for devices.
import PackageDescription

let userspace = TargetDependencyCondition.when(traits: ["UserspaceCrypto"])

let package = Package(
    name: "kseal",
    products: [
        .executable(name: "kseal", targets: ["kseal"]),
        .executable(name: "kseal-device", targets: ["kseal-device"]),
        .library(name: "AFAlg", targets: ["AFAlg"]),
        .library(name: "KsealCrypto", targets: ["KsealCrypto"]),
        .library(name: "KsealArchive", targets: ["KsealArchive"]),
    ],
    traits: [
        .trait(name: "UserspaceCrypto", description: "The user-space backend (swift-crypto): hosts without AF_ALG, signing keys, Ed25519, passphrases."),
        .default(enabledTraits: ["UserspaceCrypto"]),
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
            dependencies: ["AFAlg", .product(name: "Crypto", package: "swift-crypto", condition: userspace),
                           .product(name: "CryptoExtras", package: "swift-crypto", condition: userspace),
                           .product(name: "X509", package: "swift-certificates", condition: userspace)]
        ),
        .target(
            name: "KsealArchive",
            dependencies: ["KsealCrypto", "CZstd", "CSQLite", "CSystemShim"],
            // Links to Formats/kseal-index-v{1,2}.sql, compiled in: the writer runs the normative text itself.
            resources: [.embedInCode("kseal-index-v1.sql"), .embedInCode("kseal-index-v2.sql")]
        ),
        .target(name: "KsealCommands", dependencies: ["KsealArchive", "KsealCrypto"]),
        .executableTarget(
            name: "kseal",
            dependencies: ["KsealCommands", "KsealArchive", "KsealCrypto", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "kseal-device", dependencies: ["KsealCommands", "KsealArchive", "KsealCrypto"]),
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
