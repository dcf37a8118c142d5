import HTTPTypes

/// The header names Portcullis reads and writes, made once.
enum HeaderNames {
    static let forwardedMethod = HTTPField.Name("X-Forwarded-Method")!
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let forwardedHost = HTTPField.Name("X-Forwarded-Host")!
    static let forwardedURI = HTTPField.Name("X-Forwarded-URI")!
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let originalURL = HTTPField.Name("X-Original-URL")!
    static let originalMethod = HTTPField.Name("X-Original-Method")!
    static let requestedWith = HTTPField.Name("X-Requested-With")!
    static let remoteUser = HTTPField.Name("Remote-User")!
    static let remoteGroups = HTTPField.Name("Remote-Groups")!
    static let remoteName = HTTPField.Name("Remote-Name")!
    static let remoteEmail = HTTPField.Name("Remote-Email")!
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let frameOptions = HTTPField.Name("X-Frame-Options")!
    static let contentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let origin = HTTPField.Name("Origin")!
}
