#!/usr/bin/env bash
# raftkv with a large data set (issue 14; BENCHMARKS.md, "Large data sets"): a 3-node cluster on
# loopback (the product's launcher and defaults, fsync on), N keys of 16 bytes with 64-byte values
# loaded by bench/load-keys.py, then wrk puts and gets against the leader, then back-to-back put
# windows long enough for a snapshot, each window marked by whether a node was taking a snapshot
# during it. Prints the memory per node, the throughput table, the windows and the leader
# changes; node logs (and GC logs) stay in the output folder.
#
# Usage: bench/big-data.sh [--keys 10000000] [--conns "16 64"] [--duration 10s] [--windows 24] [--out DIR]
# (--keys 10000 gives the small reference with the same steps.) etcd is not run here: three etcd
# members holding 10M keys took 5.7-7.6 GB each and were killed by the kernel's OOM killer on this
# 24 GB machine next to raftkv (bench/compare-etcd.sh --keys 10000000).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
keys=10000000 conns="16 64" duration=10s windows=24 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) keys="$2"; shift 2 ;;
    --conns) conns="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --windows) windows="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "big-data: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[[ "$keys" =~ ^[1-9][0-9]*$ ]] || { echo "big-data: --keys must be a whole number >= 1" >&2; exit 2; }
[[ "$windows" =~ ^[0-9]+$ ]] || { echo "big-data: --windows must be a whole number" >&2; exit 2; }
command -v wrk >/dev/null || { echo "big-data: needs wrk (apt-get install wrk)" >&2; exit 1; }
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
out="${out:-$root/bench/results/big-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
work="$(mktemp -d /tmp/raftkv-big.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
"$root/raftkv" --version >/dev/null
for i in 0 1 2; do
  (exec 3<>"/dev/tcp/127.0.0.1/$((18000 + i))") 2>/dev/null && { echo "big-data: port $((18000 + i)) is in use" >&2; exit 1; }
done
for i in 0 1 2; do
  peers=""
  for j in 0 1 2; do [ "$j" = "$i" ] || peers+="${peers:+,}localhost:$((18000 + j))"; done
  RAFTKV_JAVA_OPTS="${RAFTKV_JAVA_OPTS:-} -Xlog:gc:file=$out/gc-$i.log" \
    "$root/raftkv" -id "$i" -port "$((18000 + i))" -peers "$peers" -data "$work/d$i" >"$out/raftkv-$i.log" 2>&1 &
  pids+=($!)
done
leader() {
  local i
  for i in 0 1 2; do
    curl -s -m 2 "http://127.0.0.1:$((18000 + i))/status" 2>/dev/null | grep -q '"role":"leader"' && { echo $((18000 + i)); return 0; }
  done
  return 1
}
until leader >/dev/null; do sleep 0.2; done
rss_mb() { awk '$1 == "VmRSS:" {printf "%.0f\n", $2 / 1024}' "/proc/$1/status"; }
sleep 2
idle=$(for p in "${pids[@]}"; do rss_mb "$p"; done | paste -sd/)
elections() { cat "$out"/raftkv-*.log | grep -c "candidate -> leader" || true; }

log "loading $keys keys"
python3 "$here/load-keys.py" --system raftkv --url http://127.0.0.1:18000 --url http://127.0.0.1:18001 \
  --url http://127.0.0.1:18002 --keys "$keys" | tee "$out/load.json" >&2
e_load=$(elections)
export BENCH_WRK_DIR="$here/wrk" BENCH_KEYS="$keys" BENCH_VALUE_BYTES=64
run() {  # op conns duration
  local s; s=$([ "$1" = put ] && echo raftkv-put.lua || echo raftkv-get.lua)
  BENCH_THREADS=2 wrk -t 2 -c "$2" -d "$3" --timeout 5s -s "$here/wrk/$s" "http://127.0.0.1:$(leader)" | grep '^{"requests"'
}
run get 16 5s >/dev/null   # warm-up
sleep 5
loaded=$(for p in "${pids[@]}"; do rss_mb "$p"; done | paste -sd/)
{
  echo "raftkv, 3 nodes, $keys keys (16-byte keys above 100,000, 64-byte values), fsync on; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "load: $(cat "$out/load.json"); leader elections by the end of the load: $e_load (1 = the first)"
  echo "RSS per node, MB: idle $idle, loaded $loaded"
  echo
  echo "| op | conns | ops/s | p50 ms | p99 ms | errors |"
  echo "|---|---:|---:|---:|---:|---:|"
} >"$out/table.md"
for op in get put; do
  for c in $conns; do
    line=$(run "$op" "$c" "$duration")
    echo "$line" | awk -v op="$op" -v c="$c" '
      function num(f) { return match($0, "\"" f "\":[0-9.]+") ? substr($0, RSTART + length(f) + 3, RLENGTH - length(f) - 3) + 0 : 0 }
      { printf "| %s | %d | %.0f | %.2f | %.2f | %d |\n", op, c, num("throughput"), num("p50") / 1000, num("p99") / 1000,
          num("non2xx") + num("connect") + num("read") + num("write") + num("timeout") }' >>"$out/table.md"
    log "$op c=$c done"
  done
done
e_runs=$(elections)
if [ "$windows" -gt 0 ]; then
  echo >>"$out/table.md"
  echo "Put windows (64 connections, $duration each, back to back); snap = a node was taking a snapshot during the window:" >>"$out/table.md"
  echo >>"$out/table.md"
  : >"$out/windows.txt"
  for w in $(seq 1 "$windows"); do
    st=$(date +%s.%N)
    line=$(run put 64 "$duration")
    en=$(date +%s.%N)
    echo "$st $en $line" >>"$out/windows.txt"
  done
  # A snapshot's log line comes when it ends and says how long it took: it covers [end - took, end].
  grep -h "snapshot at index" "$out"/raftkv-*.log | sed -E 's/^([0-9:.]+) .* in ([0-9]+) ms .*/\1 \2/' | while read -r t ms; do
    echo "$(date -d "$(date +%F) $t" +%s.%N) $ms"
  done >"$out/snapshots.txt"
  awk 'NR == FNR { se[NR] = $1; ss[NR] = $1 - $2 / 1000; n = NR; next }
       function num(f) { return match($0, "\"" f "\":[0-9.]+") ? substr($0, RSTART + length(f) + 3, RLENGTH - length(f) - 3) + 0 : 0 }
       { snap = 0; for (i = 1; i <= n; i++) if (ss[i] < $2 && se[i] > $1) snap = 1
         printf "%s %.0f ops/s p99 %.1f ms\n", snap ? "snap" : "    ", num("throughput"), num("p99") / 1000 }' \
    "$out/snapshots.txt" "$out/windows.txt" >>"$out/table.md"
fi
echo >>"$out/table.md"
echo "leader elections: $e_load by the end of the load, $e_runs after the throughput runs, $(elections) at the end" >>"$out/table.md"
cat "$out/table.md"
