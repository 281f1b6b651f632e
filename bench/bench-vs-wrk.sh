#!/usr/bin/env bash
# raftkv bench vs wrk against ONE 3-node cluster (fsync on, the launcher's defaults, loopback):
# how much of wrk's throughput the bench client measures (BENCHMARKS.md, "raftkv bench on an event
# loop"). Both load the same key space (10k keys of 9 bytes: wrk's key-00000.., the bench's
# key-0____.., both preloaded; 64-byte values); wrk goes to the leader with 2 threads, the bench is
# given all three nodes and follows the leader. Runs alternate wrk / bench (/ the old bench) and
# the order rotates by round; prints one line per run and a table of medians.
#
# Usage: bench/bench-vs-wrk.sh [--duration 10s] [--rounds 3] [--conns "16 64"] [--ops "put get"]
#                              [--old DIR] [--variant "FLAGS"] [--out DIR]
# --old DIR: also run the bench of another build: DIR holds a raftkv launcher and target/raftkv.jar
#   (a checkout, or a copy of both), e.g. a worktree of the previous commit.
# --variant FLAGS: also run this build's bench with these flags added (column "var"), e.g.
#   --variant "--loop-threads 2".
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
duration=10s rounds=3 conns="16 64" ops="put get" old="" variant="" out=""
usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --conns) conns="$2"; shift 2 ;;
    --ops) ops="$2"; shift 2 ;;
    --old) old="$2"; shift 2 ;;
    --variant) variant="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-vs-wrk: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "bench-vs-wrk: --rounds must be a whole number >= 1" >&2; exit 2; }
[[ "$duration" =~ ^[1-9][0-9]*s$ ]] || { echo "bench-vs-wrk: --duration is like 10s" >&2; exit 2; }
for o in $ops; do [[ "$o" == put || "$o" == get ]] || { echo "bench-vs-wrk: --ops takes put and/or get" >&2; exit 2; }; done
[ -z "$old" ] || [ -f "$old/target/raftkv.jar" ] || { echo "bench-vs-wrk: --old $old has no target/raftkv.jar" >&2; exit 2; }
command -v wrk >/dev/null || { echo "bench-vs-wrk: needs wrk (apt-get install wrk)" >&2; exit 1; }
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

"$root/raftkv" --version >/dev/null
work="$(mktemp -d /tmp/bench-vs-wrk.XXXXXX)"
out="${out:-$work}"
mkdir -p "$out"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ports=(19100 19101 19102)
cluster=127.0.0.1:19100,127.0.0.1:19101,127.0.0.1:19102
for i in 0 1 2; do
  peers=""
  for j in 0 1 2; do [ "$j" = "$i" ] || peers+="${peers:+,}127.0.0.1:${ports[$j]}"; done
  "$root/raftkv" -id "$i" -port "${ports[$i]}" -bind 127.0.0.1 -peers "$peers" -data "$work/n$i" --no-shell \
    >"$out/node-$i.log" 2>&1 &
  pids+=($!)
done
leader() {
  local p
  for p in "${ports[@]}"; do
    curl -s -m 1 "http://127.0.0.1:$p/status" 2>/dev/null | grep -q '"role":"leader"' && { echo "$p"; return 0; }
  done
  return 1
}
for _ in $(seq 1 300); do leader >/dev/null && break; sleep 0.2; done
leader >/dev/null || { echo "bench-vs-wrk: no leader; logs in $out" >&2; exit 1; }

export BENCH_WRK_DIR="$here/wrk" BENCH_KEYS=10000 BENCH_VALUE_BYTES=64 BENCH_THREADS=2
wrk_run() { # op conns duration [preload]
  BENCH_PRELOAD=${4:-0} wrk -t2 -c"$2" -d"$3" --timeout 5s -s "$here/wrk/raftkv-$1.lua" "http://127.0.0.1:$(leader)" \
    | grep '^{"requests"'
}
bench_run() { # dir op conns duration [extra flags]
  local dir=$1 op=$2 c=$3 d=$4
  shift 4
  "$dir/raftkv" bench -c "$cluster" --clients "$c" --duration "$d" --mix "$op=1" --keys 10000 --key-prefix key- \
    --key-bytes 9 --value-bytes 64 --json "$@"
}
log "preloading wrk's keys, then the bench's, and warming both paths up; logs in $out"
wrk_run put 16 15s 1 >/dev/null
bench_run "$root" put 16 1s --preload --count 1 >/dev/null
wrk_run get 16 5s >/dev/null
bench_run "$root" get 16 5s >/dev/null
[ -z "$old" ] || bench_run "$old" put 16 5s >/dev/null

# One JSON line per run: who, op, conns, ops/s, p50/p99 in ms, errors.
results="$out/runs.jsonl"
: >"$results"
clients=(wrk new)
[ -z "$old" ] || clients+=(old)
[ -z "$variant" ] || clients+=(var)
for r in $(seq 1 "$rounds"); do
  for c in $conns; do
    for op in $ops; do
      n=${#clients[@]}
      for k in $(seq 0 $((n - 1))); do
        who=${clients[$(( (k + r - 1) % n ))]}
        case "$who" in
          wrk)
            line=$(wrk_run "$op" "$c" "$duration")
            tp=$(sed -E 's/.*"throughput":([0-9.]+).*/\1/' <<<"$line")
            p50=$(sed -E 's/.*"p50":([0-9]+).*/\1/' <<<"$line" | awk '{printf "%.2f", $1 / 1000}')
            p99=$(sed -E 's/.*"p99":([0-9]+).*/\1/' <<<"$line" | awk '{printf "%.2f", $1 / 1000}')
            errs=$(sed -E 's/.*"non2xx":([0-9]+),"connect":([0-9]+),"read":([0-9]+),"write":([0-9]+),"timeout":([0-9]+).*/\1+\2+\3+\4+\5/' <<<"$line" | bc) ;;
          *)
            dir=$root extra=()
            [ "$who" = old ] && dir=$old
            [ "$who" = var ] && read -r -a extra <<<"$variant"
            line=$(bench_run "$dir" "$op" "$c" "$duration" ${extra[@]+"${extra[@]}"})
            tp=$(sed -E 's/.*"throughput":([0-9.]+).*/\1/' <<<"$line")
            p50=$(sed -E 's/.*"latencyMs":\{"p50":([0-9.]+).*/\1/' <<<"$line")
            p99=$(sed -E 's/.*"latencyMs":\{[^}]*"p99":([0-9.]+).*/\1/' <<<"$line")
            errs=$(sed -E 's/.*"failed":([0-9]+).*/\1/' <<<"$line") ;;
        esac
        echo "{\"round\":$r,\"client\":\"$who\",\"op\":\"$op\",\"conns\":$c,\"throughput\":$tp,\"p50\":$p50,\"p99\":$p99,\"errors\":$errs}" >>"$results"
        log "round $r/$rounds $op c=$c $who: $tp ops/s p50 $p50 ms p99 $p99 ms errors $errs"
      done
    done
  done
done

# Medians per cell and the ratio bench / wrk.
python3 - "$results" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
cells = sorted({(r["op"], r["conns"]) for r in runs}, key=lambda x: (x[0] != "put", x[1]))
who = [w for w in ("wrk", "new", "old", "var") if any(r["client"] == w for r in runs)]
med = lambda op, c, w, f: statistics.median(r[f] for r in runs if r["op"] == op and r["conns"] == c and r["client"] == w)
head = "| op | conns | " + " | ".join(f"{w} ops/s | {w} p50 ms | {w} p99 ms" for w in who)
head += " | " + " | ".join(f"{w} / wrk" for w in who if w != "wrk") + " |"
print(head)
print("|---|---:|" + "---:|" * (3 * len(who) + len(who) - 1))
for op, c in cells:
    row = [op, str(c)]
    for w in who:
        row += [f"{med(op, c, w, 'throughput'):.0f}", f"{med(op, c, w, 'p50'):.2f}", f"{med(op, c, w, 'p99'):.2f}"]
    base = med(op, c, "wrk", "throughput")
    row += [f"{med(op, c, w, 'throughput') / base:.2f}" for w in who if w != "wrk"]
    print("| " + " | ".join(row) + " |")
EOF
log "runs in $results"
