-- raftkv: GET /get?key=K -- linearizable (ReadIndex, raftkv's default)
package.path = (os.getenv("BENCH_WRK_DIR") or ".") .. "/?.lua;" .. package.path
require("common")
local reqs = {}
function prepare()
  for i = 0, KEYS - 1 do
    reqs[i] = wrk.format("GET", "/get?key=" .. key_name(i))
  end
end
function request() return reqs[pick_key()] end
