-- wrk script of bench/load: signed-in users taking turns, request by request.
--
-- Each user is a session cookie and the CSRF token of a page it was shown, both got by signing
-- in as a browser does (bench/load.py). A POST sends the form with a fresh submission key every
-- time, so each one is a new request rather than a replay. Any status other than the expected one
-- counts as wrong: a page that sends a user back to sign in, or a form shown again, is no success.
-- Set by bench/load.py in the environment:
--   LOAD_SESSIONS  a file of "cookie header<TAB>CSRF token" lines, one user each
--   LOAD_METHOD, LOAD_PATH, LOAD_EXPECT (the status of a success), LOAD_BODY (a POST's fields)
--   LOAD_ORIGIN    the Origin a browser sends with a POST
--   LOAD_THINK_MS  a user's mean pause between pages, drawn from half to one and a half of it;
--                  0 sends the next request as soon as the answer is in
--   LOAD_NONCE     keeps this run's submission keys apart from every other run's

local users = {}
for line in io.lines(os.getenv("LOAD_SESSIONS")) do
  local cookie, token = line:match("^([^\t]+)\t(.*)$")
  if cookie then
    users[#users + 1] = { cookie = cookie, token = token }
  end
end
local method = os.getenv("LOAD_METHOD") or "GET"
local path = os.getenv("LOAD_PATH")
local expect = tonumber(os.getenv("LOAD_EXPECT") or "200")
local body = os.getenv("LOAD_BODY") or ""
local origin = os.getenv("LOAD_ORIGIN") or ""
local think = tonumber(os.getenv("LOAD_THINK_MS") or "0")
local nonce = os.getenv("LOAD_NONCE") or "0"

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  turn = 0
  wrong = 0
  math.randomseed(os.time() * 16 + tid)
end

function request()
  turn = turn + 1
  local user = users[(turn - 1) % #users + 1]
  local headers = { Cookie = user.cookie }
  if method ~= "POST" then
    return wrk.format(method, path, headers)
  end
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  headers["Origin"] = origin
  local key = string.format("load-%s-%d-%09d", nonce, tid, turn)
  local form = body .. "&submission_key=" .. key .. "&csrfmiddlewaretoken=" .. user.token
  return wrk.format("POST", path, headers, form)
end

function response(status, headers, content)
  if status ~= expect then
    wrong = wrong + 1
  end
end

-- Defined only for paced users: with it, wrk waits before every request, the first included,
-- so the users start spread over the first pause instead of all at once.
if think > 0 then
  function delay()
    return math.random(math.floor(think / 2), math.floor(think * 3 / 2))
  end
end

function done(summary, latency, requests)
  local total_wrong = 0
  for _, thread in ipairs(threads) do
    total_wrong = total_wrong + thread:get("wrong")
  end
  local errors = summary.errors
  io.write(string.format(
    'LOAD {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p95_ms": %.3f, "max_ms": %.3f, '
      .. '"wrong_status": %d, "status_over_399": %d, "connect": %d, "read": %d, "write": %d, '
      .. '"timeout": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(95) / 1e3, latency.max / 1e3, total_wrong, errors.status,
    errors.connect, errors.read, errors.write, errors.timeout
  ))
end
