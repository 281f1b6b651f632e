-- raftkv: GET /get?key=K -- linearizable (ReadIndex, raftkv's default)
package.path = (os.getenv("BENCH_WRK_DIR") or ".") .. "/?.lua;" .. package.path
require("common")
function make(i)
  return wrk.format("GET", "/get?key=" .. key_name(i))
end
