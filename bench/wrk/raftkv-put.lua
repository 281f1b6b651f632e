-- raftkv: POST /put {"key": K, "value": V}
package.path = (os.getenv("BENCH_WRK_DIR") or ".") .. "/?.lua;" .. package.path
require("common")
function make(i)
  return wrk.format("POST", "/put", { ["Content-Type"] = "application/json" },
    '{"key":"' .. key_name(i) .. '","value":"' .. VALUE .. '"}')
end
