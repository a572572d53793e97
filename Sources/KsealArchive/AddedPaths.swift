/// The stored paths create has added, as far as it must remember them to add none twice.
///
/// Within one input's walk every path is new: a directory's names are distinct and symlinks are
/// not followed. So a path needs remembering only if a later input can reach it again, that is
/// if it equals a later input's stored name or lies beneath one. A tree given as one input
/// remembers nothing, however many files it holds; `kseal create a a/b` remembers `a/b` and
/// what is beneath it.
struct AddedPaths {
    /// Stored names of the inputs not walked yet, with how many times each is still to come.
    private var laterInputs: [[UInt8]: Int] = [:]
    private var remembered = Set<[UInt8]>()

    /// - Parameter inputs: the stored name of every input, in the order they are walked.
    init(inputs: [[UInt8]]) {
        for input in inputs { laterInputs[input, default: 0] += 1 }
    }

    /// Called as the walk of the input stored as `input` begins.
    mutating func beginInput(_ input: [UInt8]) {
        guard let count = laterInputs[input] else { return }
        laterInputs[input] = count > 1 ? count - 1 : nil
    }

    /// Whether `path` was not added yet; it counts as added from now on.
    mutating func insert(_ path: [UInt8]) -> Bool {
        if remembered.contains(path) { return false }
        if isReachableLater(path) { remembered.insert(path) }
        return true
    }

    /// Whether `path` or one of its ancestors is a later input (the root, "", is everything's).
    private func isReachableLater(_ path: [UInt8]) -> Bool {
        guard !laterInputs.isEmpty else { return false }
        if laterInputs[[]] != nil || laterInputs[path] != nil { return true }
        return EntryPath.parents(of: path).contains { laterInputs[$0] != nil }
    }
}
