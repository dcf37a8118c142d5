-- wrk script for scripts/flood.py: bad logins as fast as the server answers, each from an address
-- of its own (X-Forwarded-For; the server trusts 127.0.0.1) under a random name. The CSRF cookie and
-- token come from the environment (one pair serves every request: the token is an HMAC of the cookie).
local cookie = os.getenv("FLOOD_COOKIE")
local token = os.getenv("FLOOD_TOKEN")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  statuses = {}
  -- Each thread walks its own sequence of addresses, so no address ever comes back: random ones
  -- would repeat now and then (birthday odds), and an address that repeats after its Retry-After
  -- is served in turn, as a client that comes back when told. This flood plays clients that never do.
  sent = 0
  math.randomseed(os.time() * 1000 + thread_number * 7919)
end

function request()
  sent = sent + 1
  local address = string.format("10.%d.%d.%d", (thread_number * 64 + math.floor(sent / 65536)) % 256,
    math.floor(sent / 256) % 256, sent % 256)
  local body = "csrf=" .. token .. "&username=guess" .. math.random(1, 1000000) .. "&password=wrong&code=000000"
  return wrk.format("POST", "/login", {
    ["Host"] = "auth.example.com", ["Cookie"] = cookie, ["X-Forwarded-For"] = address,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + count
    end
  end
  for status, count in pairs(totals) do
    io.write(string.format("status %d %d\n", status, count))
  end
end
