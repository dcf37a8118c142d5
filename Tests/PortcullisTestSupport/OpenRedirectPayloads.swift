/// Known open-redirect tricks against the cookie domain `example.com`: none may be followed.
public enum OpenRedirectPayloads {
    public static let all: [String] = [
        "//evil.com", "///evil.com", "////evil.com", "/\\evil.com", "\\\\evil.com", "/\\/evil.com",
        "https:evil.com", "https:/evil.com", "http:/\\evil.com", "https:\\\\evil.com", "%2f%2fevil.com",
        "/%2f%2fevil.com", "https:%2f%2fevil.com", "https://example.com@evil.com", "https://example.com:443@evil.com",
        "https://user:pass@example.com/", "https://example.com.evil.com", "https://example.com.evil.com/example.com",
        "https://evilexample.com", "https://evil.com/https://example.com", "https://evil.com?https://example.com",
        "https://evil.com#.example.com", "https://evil.com\\.example.com", "https://evil.com\\@example.com",
        "javascript:alert(1)", "JavaScript:alert(document.domain)", "java\tscript:alert(1)", "java\nscript:alert(1)",
        "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "ftp://example.com/", "file:///etc/passwd",
        "ht\ttps://example.com.evil.com", "https://example.com\t.evil.com", "https://example.com\n.evil.com",
        " https://evil.com", "https://evil.com ", "https://ex\u{0430}mple.com/", "https://examp\u{0142}e.com/",
        "https://example.com%2eevil.com", "https://evil.com%40example.com", "https://%65xample.com",
        "https://[::1]/", "https://127.0.0.1/", "https://example.com:99999/", "https://example.com:/",
        "https://example.com:80:80/", "https://.example.com/", "https://a..example.com/", "https://-a.example.com/",
        "/relative/path", "example.com", "", "https://", "https:///example.com",
        "https://example.com\u{0000}.evil.com", "https://example.com\u{FF0E}evil.com", "https://evil.com\u{2044}example.com",
        "https://example.com./", "https://com/", "http://example.co", "https://EXAMPLE.COM.evil.com",
    ]
}
