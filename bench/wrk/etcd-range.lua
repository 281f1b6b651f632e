-- etcd v3 JSON gateway: POST /v3/kv/range {"key": base64} -- linearizable (etcd's default)
package.path = (os.getenv("BENCH_WRK_DIR") or ".") .. "/?.lua;" .. package.path
require("common")
local reqs = {}
function prepare()
  for i = 0, KEYS - 1 do
    reqs[i] = wrk.format("POST", "/v3/kv/range", { ["Content-Type"] = "application/json" },
      '{"key":"' .. base64(key_name(i)) .. '"}')
  end
end
function request() return reqs[pick_key()] end
