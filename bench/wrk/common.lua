-- Shared by the wrk scripts of bench/compare-etcd.sh (each wrk thread runs its own copy).
-- Keys key-00000 .. key-<BENCH_KEYS-1> (above 100,000 keys: key-000000000000 .., 16 bytes, as
-- bench/load-keys.py writes them), values of BENCH_VALUE_BYTES bytes, a random key per request.
-- Each script defines make(i), the request for key i; up to 100,000 keys they are made once.
-- With BENCH_PRELOAD=1 the threads instead walk the key space once between them (thread t of T
-- takes keys t, t+T, t+2T, ...) and then repeat key 0 until wrk stops.
KEYS = tonumber(os.getenv("BENCH_KEYS") or "10000")
VALUE = string.rep("v", tonumber(os.getenv("BENCH_VALUE_BYTES") or "64"))
local PRELOAD = os.getenv("BENCH_PRELOAD") == "1"
local THREADS = tonumber(os.getenv("BENCH_THREADS") or "1")

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local d = { math.floor(n / 262144) % 64, math.floor(n / 4096) % 64, math.floor(n / 64) % 64, n % 64 }
    out[#out + 1] = B64:sub(d[1] + 1, d[1] + 1) .. B64:sub(d[2] + 1, d[2] + 1)
        .. (b and B64:sub(d[3] + 1, d[3] + 1) or "=") .. (c and B64:sub(d[4] + 1, d[4] + 1) or "=")
  end
  return table.concat(out)
end

CACHE_LIMIT = 100000

function key_name(i)
  if KEYS > CACHE_LIMIT then return string.format("key-%012d", i) end
  return string.format("key-%05d", i)
end

local reqs = {}
function prepare()
  if KEYS > CACHE_LIMIT then return end
  for i = 0, KEYS - 1 do reqs[i] = make(i) end
end

function request()
  local k = pick_key()
  return reqs[k] or make(k)
end

local counter = 0
function setup(thread)
  thread:set("thread_no", counter)
  counter = counter + 1
end

local next_key = nil
function pick_key()
  if not PRELOAD then return math.random(0, KEYS - 1) end
  if next_key == nil then next_key = thread_no end
  local k = next_key
  if k >= KEYS then return 0 end
  next_key = k + THREADS
  return k
end

function init(args)
  math.randomseed(os.time() * 1000 + thread_no * 7919)
  prepare()
end

-- One JSON line with the figures compare-etcd.sh tabulates (latencies in microseconds).
function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"throughput":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,' ..
    '"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
