#!/usr/bin/env bash
# Where the time goes: a 3-node raftkv cluster under one wrk load, with the CPU seconds of every
# process and of each of the loaded node's threads, and a JFR CPU profile of that node.
#
# Usage: bench/profile.sh [--op put|get] [--conns 64] [--duration 15s] [--via leader|follower]
#                         [--value-bytes 64] [--node leader|follower] [--out DIR]
# The load goes to the leader (or, with --via follower, to a follower); the node profiled is the one
# loaded, or the leader / a follower that --node names. Prints: CPU seconds per process over the run (wrk, each node, the kernel's softirq
# time, idle), the profiled node's CPU per thread, and from JFR's execution samples the share of
# samples per top frame and per code area (a frame's package or class prefix anywhere on the
# stack), and the GC pauses. Files: DIR/recording.jfr, DIR/profile.txt.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
op=put conns=64 duration=15s via=leader value_bytes=64 out="" node=""
while [ $# -gt 0 ]; do
  case "$1" in
    --op) op="$2"; shift 2 ;;
    --conns) conns="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --via) via="$2"; shift 2 ;;
    --value-bytes) value_bytes="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --node) node="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[[ "$op" == put || "$op" == get ]] || { echo "profile: --op is put or get" >&2; exit 2; }
[[ "$via" == leader || "$via" == follower ]] || { echo "profile: --via is leader or follower" >&2; exit 2; }
node=${node:-$via}
[[ "$node" == leader || "$node" == follower ]] || { echo "profile: --node is leader or follower" >&2; exit 2; }
[[ "$conns" =~ ^[1-9][0-9]*$ ]] || { echo "profile: --conns is a whole number" >&2; exit 2; }
[[ "$duration" =~ ^[1-9][0-9]*s$ ]] || { echo "profile: --duration is in seconds, like 15s" >&2; exit 2; }
command -v wrk >/dev/null || { echo "profile: needs wrk (apt-get install wrk)" >&2; exit 1; }
. "$root/bin/find-java.sh"
raftkv_find_java || exit 1
jbin="$JAVA_HOME/bin"
"$root/raftkv" --version >/dev/null
out="${out:-$root/bench/results/profile-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
work="$(mktemp -d /tmp/raftkv-profile.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for i in 0 1 2; do
  (exec 3<>"/dev/tcp/127.0.0.1/$((18000 + i))") 2>/dev/null && { echo "profile: port $((18000 + i)) is in use" >&2; exit 1; }
done
for i in 0 1 2; do
  peers=""
  for j in 0 1 2; do [ "$j" = "$i" ] || peers+="${peers:+,}localhost:$((18000 + j))"; done
  "$root/raftkv" -id "$i" -port "$((18000 + i))" -peers "$peers" -data "$work/n$i" >"$out/node-$i.log" 2>&1 &
  pids+=($!)
done
role_port() {  # $1 = leader|follower -> a port whose node has that role
  local i
  for i in 0 1 2; do
    curl -s -m 2 "http://127.0.0.1:$((18000 + i))/status" 2>/dev/null | grep -q "\"role\":\"$1\"" && { echo $((18000 + i)); return 0; }
  done
  return 1
}
deadline=$((SECONDS + 60))
until role_port leader >/dev/null && role_port follower >/dev/null; do
  [ $SECONDS -lt $deadline ] || { echo "profile: no leader within 60 s; see $out" >&2; exit 1; }
  sleep 0.2
done
export BENCH_WRK_DIR="$here/wrk" BENCH_KEYS=10000 BENCH_VALUE_BYTES="$value_bytes"
wrk_run() {  # op conns duration port [preload]
  BENCH_THREADS=$(($2 < 2 ? $2 : 2)) BENCH_PRELOAD=${5:-0} wrk -t $(($2 < 2 ? $2 : 2)) -c "$2" -d "$3" --timeout 5s \
    -s "$here/wrk/raftkv-$1.lua" "http://127.0.0.1:$4" | grep '^{"requests"'
}
port=$(role_port "$via")
wrk_run put 16 15s "$(role_port leader)" 1 >/dev/null
wrk_run get 16 5s "$port" >/dev/null
wrk_run "$op" "$conns" 5s "$port" >/dev/null
port=$(role_port "$via")
pport=$(role_port "$node")
pid=$(curl -s "http://127.0.0.1:$pport/status" | grep -o '"pid":[0-9]*' | grep -o '[0-9]*$')

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }                 # a process's CPU ticks
threads() { for t in /proc/"$1"/task/*; do printf '%s\t%s\n' "$(cat "$t/comm")" "$(awk '{print $14 + $15}' "$t/stat")"; done; }
sys() { awk '/^cpu / {print $8, $5 + $6}' /proc/stat; }                # softirq, idle + iowait
declare -A before
for p in "${pids[@]}"; do before[$p]=$(ticks "$p"); done
threads "$pid" >"$work/threads.before"
read -r si0 idle0 < <(sys)
secs=${duration%s}
"$jbin/jcmd" "$pid" JFR.start name=profile settings=profile filename="$out/recording.jfr" >/dev/null
start=$(date +%s.%N)
wrk_run "$op" "$conns" "$duration" "$port" >"$work/wrk.json" &
wrk_pid=$!
sleep 0.5
wrk_os=$(pgrep -n -x wrk || true)
w0=$([ -n "$wrk_os" ] && ticks "$wrk_os" || echo 0)
sleep $((secs - 1))
w1=$([ -n "$wrk_os" ] && ticks "$wrk_os" 2>/dev/null || echo "$w0")
wait "$wrk_pid"
end=$(date +%s.%N)
"$jbin/jcmd" "$pid" JFR.stop name=profile >/dev/null
read -r si1 idle1 < <(sys)
threads "$pid" >"$work/threads.after"
hz=$(getconf CLK_TCK)
{
  echo "raftkv profile: $op, $conns connections, $duration, sent to the $via (port $port); profiled: the $node (pid $pid, port $pport); $(nproc) cores"
  echo "wrk: $(cat "$work/wrk.json")"
  echo
  echo "CPU seconds over the run ($(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", e - s}') s; the machine has $(nproc) CPU-seconds per second):"
  for i in 0 1 2; do
    p=${pids[$i]}
    printf '  node %d%s%s: %.1f\n' "$i" "$([ "$((18000 + i))" = "$port" ] && echo " (loaded)")" "$([ "$((18000 + i))" = "$pport" ] && echo " (profiled)")" \
      "$(awk -v a="${before[$p]}" -v b="$(ticks "$p")" -v hz="$hz" 'BEGIN {print (b - a) / hz}')"
  done
  printf '  wrk (%ss of its %s): %.1f\n' "$((secs - 1))" "$duration" "$(awk -v a="$w0" -v b="$w1" -v hz="$hz" 'BEGIN {print (b - a) / hz}')"
  printf '  softirq (all CPUs): %.1f\n' "$(awk -v a="$si0" -v b="$si1" -v hz="$hz" 'BEGIN {print (b - a) / hz}')"
  printf '  idle + iowait (all CPUs): %.1f\n' "$(awk -v a="$idle0" -v b="$idle1" -v hz="$hz" 'BEGIN {print (b - a) / hz}')"
  echo
  echo "The profiled node's threads, CPU seconds (those above 0.05):"
  join -t $'\t' <(sort "$work/threads.before" | awk -F'\t' '{a[$1] += $2} END {for (k in a) print k "\t" a[k]}' | sort) \
                <(sort "$work/threads.after" | awk -F'\t' '{a[$1] += $2} END {for (k in a) print k "\t" a[k]}' | sort) \
    | awk -F'\t' -v hz="$hz" '{d = ($3 - $2) / hz; if (d > 0.05) printf "  %-16s %.2f\n", $1, d}' | sort -k2 -nr -t' '
  echo
  "$jbin/jfr" print --json --events jdk.ExecutionSample,jdk.NativeMethodSample,jdk.GCPhasePause "$out/recording.jfr" | python3 "$here/jfr-summary.py"
} | tee "$out/profile.txt"
