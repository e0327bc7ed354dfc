-- wrk script for tests/bench/signups.sh: posts signup forms to /api/signup
-- and records which addresses the server accepted.
--
--     wrk -s signups.lua URL -- MODE OUT_DIR POOL NEW_SHARE SEND_SECONDS
--
-- MODE `seed` (one thread, one connection) posts the pool addresses
-- p0 .. p(POOL-1) until each has been accepted once, writes its figures
-- and exits wrk at once. MODE `flood` posts, for SEND_SECONDS, an address
-- never sent before (n<thread>.<seq>) with probability NEW_SHARE, else one
-- drawn at random from the pool; then it sends nothing more, so that every
-- request is answered before wrk's longer -d ends and the store can be
-- compared with the answers exactly.
--
-- A response callback is not told which request it answers, so each form
-- names its own address in the `thanks` field: the handler redirects
-- there, and the Location of the 303 says which address was accepted.
--
-- Output in OUT_DIR: MODE.out (key=value lines for the shell script) and
-- accepted-MODE.txt (every accepted address, once).
--
-- Counters are globals of each thread's Lua state, which `done` (run in
-- the main state) reads through thread:get.

local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *now);
]])
local timespec = ffi.new("bench_timespec")
local function monotonic_seconds()
  ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) / 1e9
end

local DOMAIN = "@bench.example.org"
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

function init(args)
  mode = args[1]
  out_dir = args[2]
  pool_size = tonumber(args[3])
  new_share = tonumber(args[4])
  send_until = monotonic_seconds() + tonumber(args[5] or "0")
  -- The gate refuses a post without the site's own Origin.
  headers["Origin"] = wrk.scheme .. "://" .. wrk.host .. ":" .. wrk.port
  math.randomseed(1000 + thread_id)
  seq, cursor, answered, sent = 0, 0, 0, 0
  status_counts = {}  -- status code -> count
  accepted_new = {}   -- seq numbers of this thread's new addresses, once each
  accepted_pool = {}  -- pool index -> number of 303s naming it
  unnamed_303 = 0
end

-- One form as a browser posts it; `key` is the address's local part.
local function form(key)
  sent = sent + 1
  local body = "email=" .. key .. "%40bench.example.org"
    .. "&first_name=Bench+" .. key
    .. "&postcode=59300&interests=logement&source=%2Frejoindre%2F"
    .. "&thanks=%2Fmerci%2F%3Fr%3D" .. key
  return wrk.format("POST", "/api/signup", headers, body)
end

function request()
  if mode == "seed" then
    -- The next pool address not accepted yet. wrk calls request() once
    -- to check the script before it starts and throws that one away, so
    -- the order of sending cannot be trusted to cover the pool.
    for _ = 1, pool_size do
      local index = cursor
      cursor = (cursor + 1) % pool_size
      if not accepted_pool[index] then
        return form("p" .. index)
      end
    end
    return form("p0")
  end
  if math.random() < new_share then
    seq = seq + 1
    return form("n" .. thread_id .. "." .. seq)
  end
  return form("p" .. math.random(0, pool_size - 1))
end

-- After SEND_SECONDS a connection waits longer than wrk has left to run.
function delay()
  if mode == "flood" and monotonic_seconds() >= send_until then
    return 3600 * 1000
  end
  return 0
end

local function seeded()
  for index = 0, pool_size - 1 do
    if not accepted_pool[index] then
      return false
    end
  end
  return true
end

local function write_lines(path, lines)
  local file = assert(io.open(path, "w"))
  for _, line in ipairs(lines) do
    file:write(line, "\n")
  end
  file:close()
end

function response(status, response_headers, body)
  answered = answered + 1
  status_counts[status] = (status_counts[status] or 0) + 1
  if status == 303 then
    local location = response_headers["location"] or response_headers["Location"] or ""
    -- The handler adds the supporter's share code after the address.
    local kind, key = location:match("%?r=([np])([%d%.]+)&ref=")
    if kind == "n" then
      table.insert(accepted_new, key)
    elseif kind == "p" then
      local index = tonumber(key)
      accepted_pool[index] = (accepted_pool[index] or 0) + 1
    else
      unnamed_303 = unnamed_303 + 1
    end
  end
  -- wrk waits for -d to pass even when every thread has stopped, so the
  -- seed writes its own figures and leaves once the pool is in.
  if mode == "seed" and answered >= pool_size and seeded() then
    local addresses = {}
    for index = 0, pool_size - 1 do
      table.insert(addresses, "p" .. index .. DOMAIN)
    end
    write_lines(out_dir .. "/accepted-seed.txt", addresses)
    write_lines(out_dir .. "/seed.out", {
      "sent=" .. sent,
      "answered=" .. answered,
      "status_303=" .. (status_counts[303] or 0),
      "non_303=" .. (answered - (status_counts[303] or 0)),
      "unnamed_303=" .. unnamed_303,
    })
    os.exit(0)
  end
end

function done(summary, latency, requests)
  local sent_total, answered_total, unnamed_total = 0, 0, 0
  local new_count, pool_posts = 0, 0
  local addresses, pool_union, codes = {}, {}, {}
  for _, thread in ipairs(threads) do
    local id = thread:get("thread_id")
    sent_total = sent_total + thread:get("sent")
    answered_total = answered_total + thread:get("answered")
    unnamed_total = unnamed_total + thread:get("unnamed_303")
    for _, key in ipairs(thread:get("accepted_new")) do
      table.insert(addresses, "n" .. key .. DOMAIN)
      new_count = new_count + 1
    end
    for index, count in pairs(thread:get("accepted_pool")) do
      pool_union[index] = true
      pool_posts = pool_posts + count
    end
    for code, count in pairs(thread:get("status_counts")) do
      codes[code] = (codes[code] or 0) + count
    end
  end
  local distinct_pool = 0
  for index in pairs(pool_union) do
    table.insert(addresses, "p" .. index .. DOMAIN)
    distinct_pool = distinct_pool + 1
  end
  -- A seed that ran out of time ends here too, without its early exit.
  local out, mode = threads[1]:get("out_dir"), threads[1]:get("mode")
  write_lines(out .. "/accepted-" .. mode .. ".txt", addresses)

  local non_303, listed = 0, {}
  for code, count in pairs(codes) do
    if code ~= 303 then
      non_303 = non_303 + count
      table.insert(listed, code .. ":" .. count)
    end
  end
  table.sort(listed)
  local errors = summary.errors
  write_lines(out .. "/" .. mode .. ".out", {
    "sent=" .. sent_total,
    "answered=" .. answered_total,
    "status_303=" .. (codes[303] or 0),
    "accepted_new=" .. new_count,
    "accepted_pool_posts=" .. pool_posts,
    "distinct_pool=" .. distinct_pool,
    "unnamed_303=" .. unnamed_total,
    "non_303=" .. non_303,
    "non_303_codes=" .. table.concat(listed, ","),
    "socket_errors=" .. (errors.connect + errors.read + errors.write),
    "timeouts=" .. errors.timeout,
    string.format("p50_ms=%.2f", latency:percentile(50) / 1000),
    string.format("p90_ms=%.2f", latency:percentile(90) / 1000),
    string.format("p99_ms=%.2f", latency:percentile(99) / 1000),
    string.format("max_ms=%.2f", latency.max / 1000),
  })
end
