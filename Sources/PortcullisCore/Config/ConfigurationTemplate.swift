/// The text `portcullis config template` prints: every key with its default and a comment.
/// Loading it unchanged gives the defaults (``Configuration/init()``).
public enum ConfigurationTemplate {
    public static let text = """
    # Portcullis configuration. Every key shows its default; delete what you do not change.
    # Each key can also be set in the environment: PORTCULLIS_ + the key path in upper case with _
    # (server.listen -> PORTCULLIS_SERVER_LISTEN; session.cookies[0].domain ->
    # PORTCULLIS_SESSION_COOKIES_0_DOMAIN). Add _FILE to read a value from a file.
    # Durations: 90s, 15m, 12h, 30d.

    server:
      # Address and port to listen on. Keep it on loopback behind a proxy on the same machine.
      listen: 127.0.0.1:9091
      # Peers whose X-Forwarded-For is believed (your reverse proxies), as CIDR ranges.
      # Anyone else's forwarded headers are ignored: the TCP peer is the client.
      trusted_proxies:
        - 127.0.0.1/32
        - ::1/128
      # Password hashing runs on threads of its own (0: one fewer than the cores), with at most
      # hash_queue checks waiting; past that a login gets 503 with Retry-After at once.
      hash_threads: 0
      hash_queue: 16
      # Slow or silent clients: a request head must arrive within head_timeout of its first byte
      # and its body within head_timeout of the head; a kept-alive connection is closed after
      # idle_timeout without a request, and at most max_connections are open
      # (max_connections_per_address from one address; trusted proxies are exempt).
      head_timeout: 10s
      idle_timeout: 60s
      max_connections: 10000
      max_connections_per_address: 128

    # storage:
    #   # One store: SQLite (the default; one instance) or PostgreSQL (several instances as one).
    #   sqlite:
    #     # The SQLite database (created with its folder, mode 0700, on first start).
    #     path: portcullis-data/portcullis.sqlite3
    #   postgres:
    #     # Instead of sqlite. The database must exist and belong to the user; Portcullis creates
    #     # its tables. The password: PORTCULLIS_STORAGE_POSTGRES_PASSWORD or password_file.
    #     url: postgres://portcullis@db.internal:5432/portcullis?sslmode=verify-full
    #     password_file: /etc/portcullis/postgres-password
    #     pool_size: 10                     # connections per instance
    #   # The key OTP secrets are encrypted with (every instance needs the same one). Default:
    #   # storage.key beside the SQLite database. Or give the key itself in
    #   # PORTCULLIS_STORAGE_ENCRYPTION_KEY (never in this file).
    #   encryption_key_file: /etc/portcullis/storage.key
    #   # When the store stops answering, sessions already in memory keep verifying this long
    #   # (a logout elsewhere cannot reach this instance meanwhile); then they need the store.
    #   outage_grace: 5m

    session:
      # One entry per root domain you protect. Without any, Portcullis serves http://localhost:9091
      # for trying it out on one machine.
      # cookies:
      #   - domain: example.com                 # the cookie covers example.com and *.example.com
      #     portal_url: https://auth.example.com  # where the login page is (under domain)
      #     name: portcullis_session
      #     path: /
      #     same_site: lax                      # lax, strict or none
      #     secure: true                        # false only for plain-http tests
      #     default_redirect_url: https://example.com/  # after login without a valid rd (default: the portal's own page)
      #     basic: true                         # HTTP Basic for this domain (default: basic.enabled)
      # A session ends after this long without a request...
      inactivity: 1h
      # ...and this long after login, whatever happens.
      expiration: 12h
      # The lifetime when "keep me logged in" is ticked; 0 hides the box.
      remember_me: 30d
      # Tie a session to the client's address: off, exact, or prefix (/24 for IPv4, /64 for IPv6).
      ip_binding: "off"
      # Sessions kept in memory (about 200 bytes each). The store keeps them all; one that is not
      # in memory is read from it on its next request.
      cache_size: 100000

    auth:
      # password_and_otp: username, password and code. otp_only: a code (and the username when
      # there is more than one user), like the single-secret tools Portcullis replaces.
      mode: password_and_otp
      # The fewest characters a password set with user add or user passwd may have.
      password_min_length: 8

    basic:
      # curl, WebDAV, git and apps that cannot show a login form send HTTP Basic to your proxy: the
      # password followed by the current code (or an app password), e.g. `curl -u alice:s3cret287082`.
      enabled: true
      realm: Portcullis
      # An accepted credential keeps working from the same address this long, so the client can
      # resend it on every request...
      linger: 10m
      # ...and, when set, ends after this long unused (0: off).
      idle: 0
      # A lingering credential works only from the address it was accepted from.
      logout_on_ip_change: true

    regulation:
      # A user name, and separately a client address, that fails this many logins within find_time
      # is refused (429) for ban_time; then it starts again. With these values: at most 20 guesses
      # an hour per name or address.
      max_retries: 5
      find_time: 10m
      ban_time: 15m
      # This many wrong codes in a row (with the right password) lock the user until
      # `portcullis user unlock NAME`; 0 turns the lockout off. In auth.mode otp_only there is no
      # password, so there is no lockout: only the bans above apply.
      max_otp_failures: 10
      # Attempts of one name, or of one address, checked at the same time; more wait up to a
      # second, then get 503 with Retry-After.
      max_in_flight: 1
      # IPv6 clients are counted and banned by this prefix (/64 is what one subscriber holds).
      ipv6_prefix: 64

    audit:
      # Audit entries older than this are deleted.
      retention: 90d

    log:
      # The least severe lines written: trace, debug, info, notice, warning, error or critical.
      level: info
      # text: one readable line per event. json: one JSON object per line (time, level, message,
      # request_id, ...), for log collectors. deploy/fail2ban has a filter for each.
      format: text

    metrics:
      # Prometheus metrics at http://LISTEN/metrics, on a listener of their own (off by default).
      # Keep it on loopback or a private network: it is not behind the proxy's login.
      listen: "off"
      # listen: 127.0.0.1:9191

    portal:
      # The heading and title of the login page.
      title: Portcullis
      # A PNG or SVG (at most 64 KiB) shown above the form.
      # logo_file: /etc/portcullis/logo.svg

    totp:
      # The name authenticator apps show for new devices.
      issuer: Portcullis
      # Steps accepted either side of the current one (1 = +-30 s with 30 s steps).
      skew: 1
      # Parameters of new TOTP devices. Most apps only support sha1, 6 digits, 30 s.
      algorithm: sha1
      digits: 6
      period: 30

    hotp:
      # How many counters ahead of the last accepted one an HOTP code may be.
      look_ahead: 4

    access_control:
      # The policy where no rule matches: bypass, one_factor, two_factor or deny.
      default_policy: two_factor
      # Ordered rules; the first that matches decides (docs/access-control.md). For example:
      # networks:
      #   - name: lan
      #     networks: [192.168.0.0/16, fd00::/8]
      # rules:
      #   - domain: grafana.example.com
      #     resources: ['^/api/health$']
      #     policy: bypass
      #   - domain: admin.example.com
      #     subject: ['group:admins']
      #     policy: two_factor
      #   - domain: admin.example.com
      #     policy: deny
      #   - domain: '*.example.com'
      #     networks: [lan]
      #     policy: one_factor

    """
}
