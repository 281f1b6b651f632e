-- etcd v3 JSON gateway: POST /v3/kv/range {"key": base64} -- linearizable (etcd's default)
package.path = (os.getenv("BENCH_WRK_DIR") or ".") .. "/?.lua;" .. package.path
require("common")
function make(i)
  return wrk.format("POST", "/v3/kv/range", { ["Content-Type"] = "application/json" },
    '{"key":"' .. base64(key_name(i)) .. '"}')
end
