-- etcd v3 JSON gateway: POST /v3/kv/put {"key": base64, "value": base64}
package.path = (os.getenv("BENCH_WRK_DIR") or ".") .. "/?.lua;" .. package.path
require("common")
local v = base64(VALUE)
function make(i)
  return wrk.format("POST", "/v3/kv/put", { ["Content-Type"] = "application/json" },
    '{"key":"' .. base64(key_name(i)) .. '","value":"' .. v .. '"}')
end
