/// A first-come, first-served async mutex: one holder at a time, without blocking threads.
///
/// The SQLite store runs each operation (and each transaction's statements) under it, so statements
/// of two tasks never interleave on the one connection.
actor AsyncGate {
    private var isHeld = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        guard isHeld else {
            isHeld = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            isHeld = false
        } else {
            waiters.removeFirst().resume()  // ownership passes straight to the next waiter
        }
    }
}
