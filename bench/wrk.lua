-- wrk script for the benchmark's one-request scenarios; arguments after "--":
--   <scenario> [<file of values, one a line>] [<Authorization header for the token endpoint>] [<scope>]
-- scenario: get | userinfo (values: access tokens) | client_credentials | refresh (values: refresh tokens, rotated)
-- done() prints one JSON line: counts, errors and latency percentiles in microseconds.

local scenario, values, auth, scope
local pool = {}
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  table.insert(threads, thread)
end

local function read_lines(path, index, nthreads)
  local lines, n = {}, 0
  for line in io.lines(path) do
    n = n + 1
    if (n - 1) % nthreads == index - 1 then table.insert(lines, line) end
  end
  return lines
end

function init(args)
  scenario, values, auth, scope = args[1], args[2], args[3], args[4]
  if values and values ~= "" then
    pool = read_lines(values, index, tonumber(args[5] or "1"))
  end
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  if scenario == "userinfo" then
    wrk.method = "GET"
    wrk.headers["Content-Type"] = nil
  elseif scenario == "client_credentials" then
    wrk.method = "POST"
    wrk.headers["Authorization"] = auth
    wrk.body = "grant_type=client_credentials&scope=" .. (scope or "")
  elseif scenario == "refresh" then
    wrk.headers["Authorization"] = auth
  else
    wrk.headers["Content-Type"] = nil
  end
end

local next_token = 0
function request()
  if scenario == "userinfo" then
    next_token = next_token % #pool + 1
    return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. pool[next_token]}, nil)
  elseif scenario == "refresh" then
    local token = table.remove(pool, 1) or "exhausted"
    return wrk.format("POST", nil, nil, "grant_type=refresh_token&refresh_token=" .. token)
  end
  return wrk.format()
end

-- wrk decides whether to hand bodies to Lua before init() runs, so response() is always defined; it only
-- works for the rotating refresh scenario: each new refresh token goes back into the pool.
function response(status, headers, body)
  if scenario ~= "refresh" then return end
  local token = body and string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
  if token then table.insert(pool, token) end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
    .. '"latency_us": {"p50": %d, "p99": %d, "mean": %.1f, "max": %d}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
