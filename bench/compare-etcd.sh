#!/usr/bin/env bash
# raftkv vs etcd, side by side on this machine (see BENCHMARKS.md).
#
# Starts a 3-member etcd cluster and a 3-node raftkv cluster on loopback, both with fsync on and
# 50 ms heartbeats / ~300-500 ms elections, preloads the same 10k keys into both, then drives each
# with the same wrk load over HTTP (etcd's v3 JSON gateway /v3/kv/put and /v3/kv/range vs raftkv's
# /put and /get, both linearizable) at 1, 16 and 64 connections. Runs alternate between the two
# systems (and which one goes first alternates by round) so machine noise hits both. Prints a table
# of medians and ratios and records resident memory per node; raw results go to the output folder.
#
# Usage: bench/compare-etcd.sh [--duration 10s] [--rounds 3] [--conns "1 16 64"] [--ops "put get"]
#                              [--keys 10000] [--value-bytes 64] [--out DIR] [--tls] [--nodes 3]
#                              [--via leader|follower]
# --tls: both systems serve clients over HTTPS and talk mutual TLS between members, with the same
# development certificates (raftkv certs: ECDSA P-256); wrk speaks HTTPS to both.
# --nodes 5: both clusters with 5 members (3 to 5); --value-bytes 1024 / 16384 for larger values.
# --via follower: wrk sends every request to a member that is not the leader (found before each run),
# which forwards it: etcd through its Raft messages and ReadIndex, raftkv over HTTP to its leader.
# --keys above 100,000 (up to 20,000,000): a large data set, loaded into both by bench/load-keys.py
# (transactions of 128 puts); etcd then gets --quota-backend-bytes 8 GiB (its 2 GiB default is too
# small for 10M keys), and the table adds each node's memory once loaded and per key.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

duration=10s rounds=3 conns="1 16 64" ops="put get" keys=10000 value_bytes=64 out="" tls=0 nodes=3 via=leader
usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --conns) conns="$2"; shift 2 ;;
    --ops) ops="$2"; shift 2 ;;
    --keys) keys="$2"; shift 2 ;;
    --value-bytes) value_bytes="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --tls) tls=1; shift ;;
    --nodes) nodes="$2"; shift 2 ;;
    --via) via="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare-etcd: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "compare-etcd: --rounds must be a whole number >= 1" >&2; exit 2; }
[[ "$duration" =~ ^[1-9][0-9]*[smh]?$ ]] || { echo "compare-etcd: --duration is like 10s or 2m" >&2; exit 2; }
[[ "$keys" =~ ^[1-9][0-9]*$ && "$keys" -le 20000000 ]] || { echo "compare-etcd: --keys must be 1..20000000" >&2; exit 2; }
big=0
[ "$keys" -gt 100000 ] && big=1
[[ "$value_bytes" =~ ^[1-9][0-9]*$ ]] || { echo "compare-etcd: --value-bytes must be >= 1" >&2; exit 2; }
[[ "$via" == leader || "$via" == follower ]] || { echo "compare-etcd: --via takes leader or follower, got '$via'" >&2; exit 2; }
[[ "$nodes" =~ ^[3-5]$ ]] || { echo "compare-etcd: --nodes must be 3, 4 or 5" >&2; exit 2; }
ids=()
for ((i = 0; i < nodes; i++)); do ids+=("$i"); done
for c in $conns; do [[ "$c" =~ ^[1-9][0-9]*$ ]] || { echo "compare-etcd: --conns takes whole numbers, got '$c'" >&2; exit 2; }; done
for o in $ops; do [[ "$o" == put || "$o" == get ]] || { echo "compare-etcd: --ops takes put and/or get, got '$o'" >&2; exit 2; }; done

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- tools: etcd, wrk, curl, a JDK
need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "compare-etcd: missing ${need[*]}; install them (Debian: apt-get install ${need[*]}) or run as root on Debian" >&2
    exit 1
  fi
  log "installing ${need[*]} from Debian's packages"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } >/tmp/compare-etcd-apt.log 2>&1; then
    echo "compare-etcd: apt-get install ${need[*]} failed; see /tmp/compare-etcd-apt.log" >&2
    exit 1
  fi
fi
. "$root/bin/find-java.sh"
raftkv_find_java || exit 1
log "building raftkv (if needed)"
"$root/raftkv" --version >/dev/null

# ---------------------------------------------------------------- the two clusters
work="$(mktemp -d /tmp/raftkv-vs-etcd.XXXXXX)"
out="${out:-$root/bench/results/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

etcd_client=() etcd_peer=() raftkv_port=()
for i in "${ids[@]}"; do
  etcd_client+=($((12379 + 10000 * i))) etcd_peer+=($((12380 + 10000 * i))) raftkv_port+=($((18000 + i)))
done
for p in "${etcd_client[@]}" "${etcd_peer[@]}" "${raftkv_port[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "compare-etcd: port $p is in use; stop what listens there (an earlier run?) and retry" >&2
    exit 1
  fi
done

scheme=http etcd_tls=() raftkv_tls=() curl_tls=()
if [ "$tls" = 1 ]; then
  scheme=https
  "$root/raftkv" certs --out "$work/certs" --nodes "$nodes" --host 127.0.0.1 >/dev/null
  curl_tls=(--cacert "$work/certs/ca.pem")
fi
initial=""
for i in "${ids[@]}"; do initial+="${initial:+,}e$i=$scheme://127.0.0.1:${etcd_peer[$i]}"; done
etcd_pids=() raftkv_pids=()
for i in "${ids[@]}"; do
  if [ "$tls" = 1 ]; then
    c="$work/certs/node-$i.pem" k="$work/certs/node-$i-key.pem" a="$work/certs/ca.pem"
    # No --trusted-ca-file on the client side: with it etcd requires client certificates, and raftkv
    # without --client-cert-auth does not.
    etcd_tls=(--cert-file "$c" --key-file "$k" --peer-cert-file "$c" --peer-key-file "$k"
              --peer-trusted-ca-file "$a" --peer-client-cert-auth)
    raftkv_tls=(--tls-cert "$c" --tls-key "$k" --tls-ca "$a")
  fi
  # etcd draws its election timeout from [T, 2T): T=300 is the closest to raftkv's 300-500 ms.
  etcd --name "e$i" --data-dir "$work/etcd-$i" \
    --listen-client-urls "$scheme://127.0.0.1:${etcd_client[$i]}" --advertise-client-urls "$scheme://127.0.0.1:${etcd_client[$i]}" \
    --listen-peer-urls "$scheme://127.0.0.1:${etcd_peer[$i]}" --initial-advertise-peer-urls "$scheme://127.0.0.1:${etcd_peer[$i]}" \
    ${etcd_tls[@]+"${etcd_tls[@]}"} \
    --initial-cluster "$initial" --initial-cluster-state new --initial-cluster-token raftkv-bench \
    --heartbeat-interval 50 --election-timeout 300 --logger zap --log-level warn \
    $([ "$big" = 1 ] && echo --quota-backend-bytes 8589934592) \
    >"$out/etcd-$i.log" 2>&1 &
  pids+=($!) etcd_pids+=($!)
done
for i in "${ids[@]}"; do
  peers=""
  for j in "${ids[@]}"; do [ "$j" = "$i" ] || peers+="${peers:+,}localhost:${raftkv_port[$j]}"; done
  # The product's launcher and defaults: fsync on, 50 ms heartbeats, 300-500 ms elections.
  "$root/raftkv" -id "$i" -port "${raftkv_port[$i]}" -peers "$peers" -data "$work/raftkv-$i" \
    ${raftkv_tls[@]+"${raftkv_tls[@]}"} >"$out/raftkv-$i.log" 2>&1 &
  pids+=($!) raftkv_pids+=($!)
done

# The java process of a node started by ./raftkv (which execs java, so it is the same pid).
rss_kb() { awk -v f="$2" '$1 == f":" {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# etcd_member leader|follower -> the client port of a member in that role (a follower: one that
# knows a leader and is not it).
etcd_member() {
  local i s me leader
  for i in "${ids[@]}"; do
    s=$(curl -s -m 2 ${curl_tls[@]+"${curl_tls[@]}"} -X POST "$scheme://127.0.0.1:${etcd_client[$i]}/v3/maintenance/status" -d '{}' 2>/dev/null) || continue
    me=$(grep -o '"member_id":"[0-9]*"' <<<"$s" | grep -o '[0-9]*' || true)
    leader=$(grep -o '"leader":"[0-9]*"' <<<"$s" | grep -o '[0-9]*' || true)
    [ -n "$me" ] && [ -n "$leader" ] && [ "$leader" != 0 ] || continue
    if { [ "$1" = leader ] && [ "$me" = "$leader" ]; } || { [ "$1" = follower ] && [ "$me" != "$leader" ]; }; then
      echo "${etcd_client[$i]}"; return 0
    fi
  done
  return 1
}
# raftkv_member leader|follower -> the port of a node whose /status has that role.
raftkv_member() {
  local i
  for i in "${ids[@]}"; do
    if curl -s -m 2 ${curl_tls[@]+"${curl_tls[@]}"} "$scheme://127.0.0.1:${raftkv_port[$i]}/status" 2>/dev/null | grep -q "\"role\":\"$1\""; then
      echo "${raftkv_port[$i]}"; return 0
    fi
  done
  return 1
}
wait_leader() {  # $1 = etcd|raftkv
  local deadline=$((SECONDS + 90))
  until "$1_member" leader >/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "compare-etcd: $1 elected no leader within 90 s; see its logs in $out" >&2
      exit 1
    fi
    for p in "${pids[@]}"; do
      kill -0 "$p" 2>/dev/null || { echo "compare-etcd: a $1 node exited; see the logs in $out" >&2; tail -n 5 "$out"/*.log >&2; exit 1; }
    done
    sleep 0.2
  done
}
log "starting etcd (client ports ${etcd_client[*]}) and raftkv (ports ${raftkv_port[*]}); data in $work"
wait_leader etcd
wait_leader raftkv
sleep 3   # let both settle before the idle memory reading
idle_etcd=() idle_raftkv=()
for p in "${etcd_pids[@]}"; do idle_etcd+=("$(rss_kb "$p" VmRSS)"); done
for p in "${raftkv_pids[@]}"; do idle_raftkv+=("$(rss_kb "$p" VmRSS)"); done

export BENCH_WRK_DIR="$here/wrk" BENCH_KEYS="$keys" BENCH_VALUE_BYTES="$value_bytes"

# run_wrk SYSTEM OP CONNS DURATION [preload] [leader|follower] -> prints wrk's JSON line
run_wrk() {
  local system=$1 op=$2 c=$3 d=$4 preload=${5:-0} to=${6:-leader} port script t
  port=$("${system}_member" "$to") || { wait_leader "$system"; port=$("${system}_member" "$to"); }
  case "$system-$op" in
    etcd-put) script=etcd-put.lua ;; etcd-get) script=etcd-range.lua ;;
    raftkv-put) script=raftkv-put.lua ;; raftkv-get) script=raftkv-get.lua ;;
  esac
  t=$(( c < 2 ? c : 2 ))
  BENCH_THREADS=$t BENCH_PRELOAD=$preload wrk -t "$t" -c "$c" -d "$d" --timeout 5s -s "$here/wrk/$script" \
    "$scheme://127.0.0.1:$port" | grep '^{"requests"' || { echo "compare-etcd: wrk against $system failed" >&2; exit 1; }
}

loaded_etcd=() loaded_raftkv=()
for system in etcd raftkv; do
  log "preloading $keys keys of $value_bytes bytes into $system"
  if [ "$big" = 1 ]; then
    port=$("${system}_member" leader)
    line=$(python3 "$here/load-keys.py" --system "$system" --url "$scheme://127.0.0.1:$port" --keys "$keys" \
      --value-bytes "$value_bytes" $([ "$tls" = 1 ] && echo --cacert "$work/certs/ca.pem")) \
      || { echo "compare-etcd: loading $keys keys into $system failed; see its logs in $out" >&2; exit 1; }
    log "loaded $system: $line"
    echo "{\"system\":\"$system\",\"load\":${line}}" >>"$out/load.jsonl"
    run_wrk "$system" get 16 5s >/dev/null
    sleep 5
    if [ "$system" = etcd ]; then
      for p in "${etcd_pids[@]}"; do loaded_etcd+=("$(rss_kb "$p" VmRSS)"); done
    else
      for p in "${raftkv_pids[@]}"; do loaded_raftkv+=("$(rss_kb "$p" VmRSS)"); done
    fi
    continue
  fi
  line=$(run_wrk "$system" put 16 "$(( keys / 1000 + 5 ))s" 1)
  n=$(grep -o '"requests":[0-9]*' <<<"$line" | grep -o '[0-9]*$')
  bad=$(grep -o '"non2xx":[0-9]*' <<<"$line" | grep -o '[0-9]*$')
  if [ "$n" -lt "$keys" ] || [ "$bad" -gt 0 ]; then
    echo "compare-etcd: preloading $system wrote $n requests with $bad errors (need $keys without errors)" >&2
    exit 1
  fi
  # The same warm-up of the read path for both (the JVM compiles it; etcd is unaffected), at the
  # member the runs will use (through a follower, it compiles the forwarding path too).
  run_wrk "$system" get 16 5s 0 "$via" >/dev/null
done

results="$out/runs.jsonl"
: >"$results"
for r in $(seq 1 "$rounds"); do
  for c in $conns; do
    for op in $ops; do
      if [ $((r % 2)) = 1 ]; then order="etcd raftkv"; else order="raftkv etcd"; fi
      for system in $order; do
        line=$(run_wrk "$system" "$op" "$c" "$duration" 0 "$via")
        echo "{\"round\":$r,\"system\":\"$system\",\"op\":\"$op\",\"conns\":$c,${line#\{}" >>"$results"
        log "round $r/$rounds $op c=$c $system: $(sed -E 's/.*"throughput":([0-9.]+).*"p50":([0-9]+).*"p99":([0-9]+).*/\1 ops\/s p50 \2 us p99 \3 us/' <<<"$line")"
      done
    done
  done
done

peak_etcd=() peak_raftkv=()
for p in "${etcd_pids[@]}"; do peak_etcd+=("$(rss_kb "$p" VmHWM)"); done
for p in "${raftkv_pids[@]}"; do peak_raftkv+=("$(rss_kb "$p" VmHWM)"); done

# ---------------------------------------------------------------- the table (medians over rounds)
table="$out/table.md"
{
  echo "raftkv vs etcd $(etcd --version 2>/dev/null | head -n 1 | awk '{print $3}'), $nodes nodes each on loopback, fsync on$([ "$tls" = 1 ] && echo ", TLS (HTTPS clients, mutual TLS between members)")$([ "$via" = follower ] && echo ", every request sent to a follower");"
  echo "wrk, ${duration} per run, ${rounds} round(s), medians; $keys keys, $value_bytes-byte values; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "| op | conns | etcd ops/s | raftkv ops/s | ratio | etcd p50 ms | raftkv p50 ms | etcd p99 ms | raftkv p99 ms | p99 ratio | errors etcd / raftkv |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for op in $ops; do
    for c in $conns; do
      awk -v op="$op" -v c="$c" '
        function num(f,   m) { return match($0, "\"" f "\":[0-9.]+") ? substr($0, RSTART + length(f) + 3, RLENGTH - length(f) - 3) + 0 : 0 }
        function median(a, n,   i, j, t) {
          for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
          return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        index($0, "\"op\":\"" op "\"") && index($0, "\"conns\":" c ",") {
          s = index($0, "\"system\":\"etcd\"") ? "e" : "r"
          n[s]++; tp[s, n[s]] = num("throughput"); p50[s, n[s]] = num("p50"); p99[s, n[s]] = num("p99")
          err[s] += num("non2xx") + num("connect") + num("read") + num("write") + num("timeout")
        }
        END {
          if (!n["e"] || !n["r"]) exit
          for (s in n) { split("", a); for (i = 1; i <= n[s]; i++) a[i] = tp[s, i]; T[s] = median(a, n[s])
                         split("", a); for (i = 1; i <= n[s]; i++) a[i] = p50[s, i]; P50[s] = median(a, n[s])
                         split("", a); for (i = 1; i <= n[s]; i++) a[i] = p99[s, i]; P99[s] = median(a, n[s]) }
          printf "| %s | %d | %.0f | %.0f | %.2fx | %.2f | %.2f | %.2f | %.2f | %.2fx | %d / %d |\n", op, c, T["e"], T["r"],
            T["r"] / T["e"], P50["e"] / 1000, P50["r"] / 1000, P99["e"] / 1000, P99["r"] / 1000,
            (P99["e"] > 0 ? P99["r"] / P99["e"] : 0), err["e"], err["r"]
        }' "$results"
    done
  done
  echo
  echo "Resident memory per node, MB (idle after start -> peak over the whole run):"
  echo
  echo "| node | etcd idle | etcd peak | raftkv idle | raftkv peak |"
  echo "|---:|---:|---:|---:|---:|"
  for i in "${ids[@]}"; do
    echo "$i ${idle_etcd[$i]:-0} ${peak_etcd[$i]:-0} ${idle_raftkv[$i]:-0} ${peak_raftkv[$i]:-0}" \
      | awk '{printf "| %d | %.0f | %.0f | %.0f | %.0f |\n", $1, $2 / 1024, $3 / 1024, $4 / 1024, $5 / 1024}'
  done
  if [ "$big" = 1 ]; then
    echo
    echo "Once $keys keys were loaded (5 s after the load and a read warm-up), resident memory per node, MB, and"
    echo "(loaded - idle) / keys in bytes per key:"
    echo
    echo "| node | etcd loaded | etcd bytes/key | raftkv loaded | raftkv bytes/key |"
    echo "|---:|---:|---:|---:|---:|"
    for i in "${ids[@]}"; do
      echo "$i ${idle_etcd[$i]:-0} ${loaded_etcd[$i]:-0} ${idle_raftkv[$i]:-0} ${loaded_raftkv[$i]:-0} $keys" \
        | awk '{printf "| %d | %.0f | %.0f | %.0f | %.0f |\n", $1, $3 / 1024, ($3 - $2) * 1024 / $6, $5 / 1024, ($5 - $4) * 1024 / $6}'
    done
    echo
    echo "Loads (bench/load-keys.py): $(tr '\n' ' ' <"$out/load.jsonl")"
  fi
  echo
  echo "ratio = raftkv / etcd (throughput: higher is better; p99: lower is better). Raw runs: $results"
} >"$table"
cat "$table"
