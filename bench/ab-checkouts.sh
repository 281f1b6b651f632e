#!/usr/bin/env bash
# A/B two builds of raftkv side by side: a 3-node cluster (fsync on) from checkout A, then one from
# checkout B, each driven by the same wrk puts to its leader; rounds alternate which goes first, so
# machine noise hits both. Prints one wrk JSON line per run; compare medians.
#
# Usage: bench/ab-checkouts.sh DIR_A DIR_B [rounds=3] [connections=16] [duration=8s]
#   e.g. git worktree add /tmp/b some-branch; bench/ab-checkouts.sh . /tmp/b 3 64 10s
# AB_TLS=1: HTTPS clients and mutual TLS between the nodes (certificates from A's 'raftkv certs').
# AB_OP=get: measure linearizable gets instead of puts (after 15 s of puts that write every key, and a
# 4 s read warm-up).
# AB_VALUE_BYTES / AB_KEYS: value size (64) and key count (10000).
# AB_JAVA_OPTS_A / AB_JAVA_OPTS_B: JVM options added to A's / B's nodes (A and B may be the same
# checkout, to compare JVM settings), e.g. AB_JAVA_OPTS_B=-XX:MaxTenuringThreshold=1 ab-checkouts.sh . .
# Each line ends with the leader changes seen during the run (elections after the first), each
# node's peak resident memory, and the leader's GC pauses during the whole run (count, max, sum in ms).
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ $# -ge 2 ] || { sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
A=$1 B=$2 rounds=${3:-3} conns=${4:-16} dur=${5:-8s}
command -v wrk >/dev/null || { echo "ab-checkouts: needs wrk (apt-get install wrk)" >&2; exit 1; }
export BENCH_WRK_DIR="$here/wrk" BENCH_KEYS=${AB_KEYS:-10000} BENCH_VALUE_BYTES=${AB_VALUE_BYTES:-64} BENCH_THREADS=2
scheme=http certs=""
if [ "${AB_TLS:-0}" = 1 ]; then
  scheme=https certs=$(mktemp -d)
  "$A/raftkv" certs --out "$certs" --nodes 3 --host 127.0.0.1 >/dev/null || exit 1
fi
run() { # checkout label
  local dir=$1 w pids=() leader="" tls=() opts
  w=$(mktemp -d)
  if [ "$2" = A ]; then opts=${AB_JAVA_OPTS_A:-}; else opts=${AB_JAVA_OPTS_B:-}; fi
  for i in 0 1 2; do
    local peers=""
    for j in 0 1 2; do [ "$j" = "$i" ] || peers+="${peers:+,}127.0.0.1:$((19000 + j))"; done
    [ -z "$certs" ] || tls=(--tls-cert "$certs/node-$i.pem" --tls-key "$certs/node-$i-key.pem" --tls-ca "$certs/ca.pem")
    RAFTKV_JAVA_OPTS="${RAFTKV_JAVA_OPTS:-} $opts -Xlog:gc:file=$w/gc$i.log" \
      "$dir/raftkv" -id "$i" -port $((19000 + i)) -bind 127.0.0.1 -peers "$peers" -data "$w/n$i" --no-shell \
      ${tls[@]+"${tls[@]}"} >"$w/log$i" 2>&1 &
    pids+=($!)
  done
  for _ in $(seq 1 150); do
    for i in 0 1 2; do curl -s -m 1 ${certs:+--cacert "$certs/ca.pem"} "$scheme://127.0.0.1:$((19000 + i))/status" \
      | grep -q '"role":"leader"' && leader=$((19000 + i)); done
    [ -n "$leader" ] && break
    sleep 0.2
  done
  [ -n "$leader" ] || { echo "ab-checkouts: $2 elected no leader; logs in $w" >&2; kill "${pids[@]}"; return 1; }
  local t=$(( conns < 2 ? conns : 2 ))
  if [ "${AB_OP:-put}" = get ]; then
    # Every key written first (so the gets find them, as in compare-etcd.sh), then the read path warmed up.
    BENCH_PRELOAD=1 wrk -t2 -c16 -d15s -s "$BENCH_WRK_DIR/raftkv-put.lua" "$scheme://127.0.0.1:$leader" >/dev/null 2>&1
    BENCH_PRELOAD=0 wrk -t$t -c"$conns" -d4s -s "$BENCH_WRK_DIR/raftkv-get.lua" "$scheme://127.0.0.1:$leader" >/dev/null 2>&1
  else
    BENCH_PRELOAD=0 wrk -t$t -c"$conns" -d3s -s "$BENCH_WRK_DIR/raftkv-put.lua" "$scheme://127.0.0.1:$leader" >/dev/null 2>&1
  fi
  local result
  result=$(BENCH_PRELOAD=0 wrk -t$t -c"$conns" -d"$dur" --timeout 5s -s "$BENCH_WRK_DIR/raftkv-${AB_OP:-put}.lua" \
    "$scheme://127.0.0.1:$leader" | grep '^{"requests"')
  local changes=$(( $(cat "$w"/log* | grep -c -- '-> leader') - 1 )) rss=""
  for p in "${pids[@]}"; do rss+="${rss:+/}$(awk '$1 == "VmHWM:" {printf "%d", $2 / 1024}' "/proc/$p/status" 2>/dev/null)"; done
  local kept=""
  if [ "$changes" -gt 0 ]; then kept=$(mktemp -d /tmp/ab-logs.XXXX); cp "$w"/log* "$kept"/; fi
  # Pause lines end in the pause's length: "... Pause Young (Normal) (G1 Evacuation Pause) 90M->20M(256M) 12.345ms".
  local gc
  gc=$(awk '/Pause/ && $NF ~ /ms$/ {v = $NF; sub(/ms$/, "", v); v += 0; n++; s += v; if (v > m) m = v}
    END {printf "gc_pauses=%d gc_max_ms=%.1f gc_sum_ms=%.0f", n, m, s}' "$w/gc$((leader - 19000)).log" 2>/dev/null)
  echo "$2 $result leader_changes=$changes peak_rss_mb=$rss leader_$gc${kept:+ (logs in $kept)}"
  kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$w"
}
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then run "$A" A; run "$B" B; else run "$B" B; run "$A" A; fi
done
