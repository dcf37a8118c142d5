import PortcullisCore
import PortcullisStore

extension Identity {
    /// What the identity headers say of `user`.
    init(_ user: UserRecord) {
        self.init(user: user.name, groups: user.groups, name: user.displayName, email: user.email)
    }
}
