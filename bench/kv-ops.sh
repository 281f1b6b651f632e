#!/usr/bin/env bash
# Throughput and latency of the KV API's writes side by side on one fresh 3-node cluster (fsync on):
# put, cas, txn and delete in alternating rounds (medians), then watch events with put load.
# Usage: bench/kv-ops.sh [--rounds 3] [--duration 10s] [--clients 16] [--watchers 4] [--base-port 18400] [--dir DIR]
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds=3 duration=10s clients=16 watchers=4 base=18400 dir=/tmp/raftkv-kv-ops
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;; --duration) duration=$2; shift 2 ;; --clients) clients=$2; shift 2 ;;
    --watchers) watchers=$2; shift 2 ;; --base-port) base=$2; shift 2 ;; --dir) dir=$2; shift 2 ;;
    *) echo "unknown option $1 (see the usage line at the top of $0)" >&2; exit 2 ;;
  esac
done
. "$root/bin/find-java.sh"
raftkv_find_java || exit 1
"$root/raftkv" --version >/dev/null   # builds target/raftkv.jar if needed
java="$JAVA_HOME/bin/java"; jar="$root/target/raftkv.jar"
cluster="localhost:$base,localhost:$((base + 1)),localhost:$((base + 2))"
rm -rf "$dir"; mkdir -p "$dir"; pids=()
for i in 0 1 2; do
  p=$((base + i)); peers=""
  for j in 0 1 2; do [ "$j" != "$i" ] && peers="$peers${peers:+,}localhost:$((base + j))"; done
  "$java" -jar "$jar" -id "$i" -port "$p" -peers "$peers" -data "$dir/node-$i" --no-shell >"$dir/node-$i.out" 2>"$dir/node-$i.log" &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null' EXIT
for _ in $(seq 1 150); do curl -s "localhost:$base/status" 2>/dev/null | grep -q '"leader":{' && break; sleep 0.2; done
"$java" -jar "$jar" bench -c "$cluster" --mix put=1 --keys 1000 --preload --count 1 >"$dir/preload.out" 2>&1
declare -A ops=() p99=()
for r in $(seq 1 "$rounds"); do
  mixes=(put cas txn delete); [ $((r % 2)) = 0 ] && mixes=(delete txn cas put)
  for m in "${mixes[@]}"; do
    "$java" -jar "$jar" bench -c "$cluster" --mix "$m=1" --keys 1000 --clients "$clients" --duration "$duration" --json \
      >"$dir/$m-$r.json" 2>"$dir/$m-$r.err"
    o=$(sed -n 's/.*"throughput":\([0-9.]*\).*/\1/p' "$dir/$m-$r.json")
    q=$(sed -n 's/.*"p99":\([0-9.]*\).*/\1/p' "$dir/$m-$r.json" | head -1)
    echo "round $r $m: ${o:-failed} ops/s, p99 ${q:-?} ms"
    ops[$m]="${ops[$m]:-} ${o:-0}"; p99[$m]="${p99[$m]:-} ${q:-0}"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for m in put cas txn delete; do
  echo "median $m: $(echo "${ops[$m]}" | median) ops/s, p99 $(echo "${p99[$m]}" | median) ms"
done
if [ "$watchers" -gt 0 ]; then
  echo "watch: puts with $watchers watchers of the whole key space"
  "$java" -jar "$jar" bench -c "$cluster" --mix put=1 --keys 1000 --clients "$clients" --duration "$duration" \
    --watchers "$watchers" 2>&1 | tail -6
fi
