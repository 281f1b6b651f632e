-- raftkv: POST /put {"key": K, "value": V}
package.path = (os.getenv("BENCH_WRK_DIR") or ".") .. "/?.lua;" .. package.path
require("common")
local reqs = {}
function prepare()
  for i = 0, KEYS - 1 do
    reqs[i] = wrk.format("POST", "/put", { ["Content-Type"] = "application/json" },
      '{"key":"' .. key_name(i) .. '","value":"' .. VALUE .. '"}')
  end
end
function request() return reqs[pick_key()] end
