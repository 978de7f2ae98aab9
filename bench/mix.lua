-- wrk script for the multi-user mix: run with one connection per thread (-tN -cN), so
-- that each thread's request and response callbacks belong to one request at a time.
--
-- args: the plan file, the number of threads.
-- The plan has one request per line, tab-separated: page, method, path, cookie, body.
-- bench/run.py writes it already shuffled; each thread starts at its own offset and
-- walks it in a loop. "{n}" in a body becomes a number unique to the run, so no two
-- replies carry the same text (the portal drops a double submit of the same reply).
--
-- Times are taken with the monotonic clock through LuaJIT's FFI (wrk's own latency
-- statistics have no per-page breakdown). Each thread writes one line per answer,
-- "page status microseconds", to "<plan>.<thread number>.times" (wrk crashes when
-- threads hand large tables back to done()); done() prints wrk's totals as BENCH_JSON.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  plan = {}
  for line in io.lines(args[1]) do
    local page, method, path, cookie, body =
      line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    plan[#plan + 1] = { page = page, method = method, path = path, cookie = cookie, body = body }
  end
  position = math.floor((thread_number - 1) * #plan / tonumber(args[2]))
  times = assert(io.open(args[1] .. "." .. thread_number .. ".times", "w"))
  sent = 0
  current, started = nil, 0
end

function request()
  position = position % #plan + 1
  current = plan[position]
  sent = sent + 1
  local headers = { Cookie = current.cookie, ["X-Bench-Page"] = current.page }
  local body = nil
  if current.method == "POST" then
    body = current.body:gsub("{n}", thread_number .. "-" .. sent)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  started = now_us()
  return wrk.format(current.method, current.path, headers, body)
end

function response(status, headers, body)
  times:write(current.page, " ", status, " ", math.floor(now_us() - started), "\n")
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "errors": %d, "status_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
