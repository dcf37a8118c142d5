-- wrk script for scripts/bench.py: every request carries the session cookie of one session out of
-- many. BENCH_COOKIES names a file with one cookie value a line; the other headers are wrk's -H.
-- Each thread builds every request once at start, so a request costs wrk no more than a fixed one.
--   BENCH_ORDER=random (default): each request picks a session at random.
--   BENCH_ORDER=sequential: thread t of BENCH_THREADS sends sessions o+t, o+t+n, o+t+2n, ... in turn
--   (o is BENCH_OFFSET), so runs that go on where the last one stopped (done() prints how far: the
--   "bench sent" line) use every session at least once.
local path = os.getenv("BENCH_COOKIES")
local order = os.getenv("BENCH_ORDER") or "random"
local cookie_name = os.getenv("BENCH_COOKIE_NAME") or "portcullis_session"
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("number", #threads)
end

function init(args)
  requests = {}
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  for line in io.lines(path) do
    if #line > 0 then
      headers["Cookie"] = cookie_name .. "=" .. line
      requests[#requests + 1] = wrk.format(nil, nil, headers)
    end
  end
  count = #requests
  if count == 0 then error("no cookies in " .. tostring(path)) end
  sent = 0
  math.randomseed(os.time() * 1000 + number * 7919)
end

function request()
  sent = sent + 1
  if order == "sequential" then
    return requests[(offset + (number - 1) + (sent - 1) * thread_count) % count + 1]
  end
  return requests[math.random(count)]
end

function done(summary, latency, requests)
  local least = nil
  for _, thread in ipairs(threads) do
    local each = thread:get("sent")
    if least == nil or each < least then least = each end
  end
  -- The fewest requests one thread sent, times the threads: every session was used at least once
  -- in sequential order when this reaches the number of cookies.
  io.write(string.format("bench sent %d\n", (least or 0) * #threads))
end
