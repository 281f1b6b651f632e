-- etcd v3 JSON gateway: POST /v3/kv/put {"key": base64, "value": base64}
package.path = (os.getenv("BENCH_WRK_DIR") or ".") .. "/?.lua;" .. package.path
require("common")
local reqs = {}
function prepare()
  local v = base64(VALUE)
  for i = 0, KEYS - 1 do
    reqs[i] = wrk.format("POST", "/v3/kv/put", { ["Content-Type"] = "application/json" },
      '{"key":"' .. base64(key_name(i)) .. '","value":"' .. v .. '"}')
  end
end
function request() return reqs[pick_key()] end
