import ArgumentParser
import Foundation
import KsealCrypto

/// The documented exit statuses (kseal(1), EXIT STATUS). Errors become statuses here and only here.
enum ExitStatus: Int32 {
    case success = 0
    case damaged = 1
    case wrongKey = 2
    case ioError = 3
    case cryptoUnavailable = 4
    case unsupported = 5
    case usage = 64
    case internalError = 70
}

enum Failure {
    /// Prints a one-line message for `error` on stderr and returns the exit code to throw.
    static func report(_ error: any Error) -> ExitCode {
        let (status, message) = classify(error)
        FileHandle.standardError.write(Data("kseal: \(message)\n".utf8))
        return ExitCode(status.rawValue)
    }

    static func classify(_ error: any Error) -> (ExitStatus, String) {
        if let error = error as? CryptoError {
            switch error.code {
            case .unavailable: return (.cryptoUnavailable, "crypto backend unavailable: \(error.message)")
            case .authenticationFailed: return (.damaged, error.message)
            case .unsupported: return (.unsupported, error.message)
            case .messageTooLarge, .invalidArgument, .failure: return (.internalError, error.message)
            }
        }
        return (.internalError, "\(error)")
    }
}
