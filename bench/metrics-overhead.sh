#!/usr/bin/env bash
# What metrics cost: put throughput of `raftkv bench` on a fresh 3-node cluster (fsync on) with
# metrics on (the default) and with --no-metrics, alternating which goes first by round; prints
# each run and the median of each side. Nodes on loopback ports BASE..BASE+2.
#
# Usage: bench/metrics-overhead.sh [--rounds 3] [--duration 15s] [--clients 16] [--base-port 18300] [--dir DIR]
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
rounds=3 duration=15s clients=16 base=18300 dir="$root/data/metrics-overhead"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;; --duration) duration=$2; shift 2 ;; --clients) clients=$2; shift 2 ;;
    --base-port) base=$2; shift 2 ;; --dir) dir=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "metrics-overhead.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
. "$root/bin/find-java.sh"
raftkv_find_java || exit 1
"$root/raftkv" --version >/dev/null   # builds target/raftkv.jar if needed
java="$JAVA_HOME/bin/java"; jar="$root/target/raftkv.jar"
cluster="localhost:$base,localhost:$((base + 1)),localhost:$((base + 2))"
declare -A results=([on]="" [off]="")

run() { # $1 = on|off, $2 = round
  local flag=--metrics d="$dir/$1-$2" pids=() i j p peers
  [ "$1" = off ] && flag=--no-metrics
  rm -rf "$d"; mkdir -p "$d"
  for i in 0 1 2; do
    p=$((base + i)); peers=""
    for j in 0 1 2; do [ "$j" != "$i" ] && peers="$peers${peers:+,}localhost:$((base + j))"; done
    "$java" -jar "$jar" -id "$i" -port "$p" -peers "$peers" -data "$d/node-$i" --no-shell "$flag" \
      >"$d/node-$i.out" 2>"$d/node-$i.log" &
    pids+=($!)
  done
  for _ in $(seq 1 150); do curl -s "localhost:$base/status" 2>/dev/null | grep -q '"leader":{' && break; sleep 0.2; done
  "$java" -jar "$jar" bench -c "$cluster" --mix put=1 --clients "$clients" --duration "$duration" --json \
    >"$d/bench.json" 2>"$d/bench.err"
  kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null
  local ops
  ops=$(sed -n 's/.*"throughput":\([0-9.]*\).*/\1/p' "$d/bench.json")
  echo "round $2 metrics $1: ${ops:-failed (see $d)} puts/s"
  results[$1]="${results[$1]} ${ops:-0}"
}
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then run on "$r"; run off "$r"; else run off "$r"; run on "$r"; fi
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
on=$(echo "${results[on]}" | median); off=$(echo "${results[off]}" | median)
echo "median puts/s: metrics on $on, off $off (on/off $(awk "BEGIN {printf \"%.2f\", $on / $off}"))"
