-- Asks Portcullis whether a request may pass, for HAProxy (2.5 or later, built with Lua, as
-- Debian's is). Load it with `lua-load /etc/haproxy/portcullis.lua` in the global section and call
-- it with `http-request lua.portcullis` in a frontend; haproxy.cfg beside this file shows the rest.
--
-- It sends Portcullis's forward-auth endpoint the original method, scheme, host and URI as
-- X-Forwarded-* headers (no body), and leaves the answer in variables:
--   txn.portcullis_status    200, 302, 303, 401, 403 (or 500 when Portcullis cannot be reached)
--   txn.portcullis_location  where to send a browser that must log in
--   txn.portcullis_user, txn.portcullis_groups, txn.portcullis_name, txn.portcullis_email
--   txn.portcullis_challenge WWW-Authenticate for clients that may send HTTP Basic
--   txn.portcullis_retry     Retry-After when the client is banned (status 429)
--   txn.portcullis_body, txn.portcullis_type, txn.portcullis_csp
--                            the body of a 400 or 403 answer, its Content-Type and its
--                            Content-Security-Policy (a browser denied by an access rule gets a page)
--
-- It asks the URL below, unless the frontend sets txn.portcullis_url before calling it: with
-- several instances, portcullis-instances.cfg has a loopback listener that spreads the requests
-- over them, and haproxy.cfg then sets
--   http-request set-var(txn.portcullis_url) str(http://127.0.0.1:9099/api/authz/forward-auth)

-- Portcullis's address (server.listen) and endpoint, when txn.portcullis_url is not set.
local portcullis_url = "http://127.0.0.1:9091/api/authz/forward-auth"

-- Header values in HAProxy's tables are indexed from 0.
local function first(headers, name)
    local values = headers[name]
    if values == nil then return nil end
    return values[0] or values[1]
end

core.register_action("portcullis", { "http-req" }, function(txn)
    local url = txn:get_var("txn.portcullis_url") or portcullis_url
    local incoming = txn.http:req_get_headers()
    local headers = {
        ["X-Forwarded-Method"] = { txn.sf:method() },
        ["X-Forwarded-Proto"] = { txn:get_var("txn.portcullis_proto") or "http" },
        ["X-Forwarded-Host"] = { first(incoming, "host") or "" },
        ["X-Forwarded-URI"] = { txn.sf:pathq() },
        -- HAProxy states the client address itself; what the client sent is not passed on.
        ["X-Forwarded-For"] = { txn.sf:src() },
    }
    -- Authorization carries HTTP Basic credentials (password + code) from clients that cannot log in with a form.
    for _, name in ipairs({ "cookie", "accept", "x-requested-with", "authorization" }) do
        local value = first(incoming, name)
        if value ~= nil then headers[name] = { value } end
    end

    local ok, response = pcall(function()
        return core.httpclient():get({ url = url, headers = headers, timeout = 5000 })
    end)
    if not ok or response == nil or response.status == nil or response.status == 0 then
        core.Warning("portcullis: no answer from " .. url)
        txn:set_var("txn.portcullis_status", 500)
        return
    end
    txn:set_var("txn.portcullis_status", response.status)
    local answer = response.headers or {}
    txn:set_var("txn.portcullis_location", first(answer, "location") or "")
    txn:set_var("txn.portcullis_user", first(answer, "remote-user") or "")
    txn:set_var("txn.portcullis_groups", first(answer, "remote-groups") or "")
    txn:set_var("txn.portcullis_name", first(answer, "remote-name") or "")
    txn:set_var("txn.portcullis_email", first(answer, "remote-email") or "")
    txn:set_var("txn.portcullis_challenge", first(answer, "www-authenticate") or "")
    txn:set_var("txn.portcullis_retry", first(answer, "retry-after") or "")
    if response.status == 400 or response.status == 403 then
        local body = response.body or ""
        local content_type = first(answer, "content-type") or "text/plain"
        -- HAProxy builds a `return` in one buffer (tune.bufsize, 16 kB by default).
        if #body > 12000 then
            body = "Forbidden.\n"
            content_type = "text/plain"
        end
        -- The `lf-string` that sends the body writes each line feed as the three characters %0A
        -- (which broke the page's style sheet): lines are joined with spaces, as HTML reads them.
        body = body:gsub("%s*\r?\n$", ""):gsub("\r?\n", " ")
        txn:set_var("txn.portcullis_body", body)
        txn:set_var("txn.portcullis_type", content_type)
        txn:set_var("txn.portcullis_csp", first(answer, "content-security-policy") or "default-src 'none'")
    end
end)
